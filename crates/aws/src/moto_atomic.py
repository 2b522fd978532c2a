# Starts moto's server with each DynamoDB write behind one lock.
#
# DynamoDB applies a conditional write atomically: two requests racing to
# set an attribute that must not exist cannot both succeed. moto evaluates
# the condition and then writes, without a lock between its request
# threads, so under a real race both can succeed there. Holding one lock
# across each write gives the emulator the guarantee lanyard relies on.
import copy
import functools
import sys
import threading

import moto.dynamodb.models as _models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_lock = threading.RLock()


# moto backs up every table a transaction names with copy.deepcopy, to roll
# back a transaction that fails: a copy of the whole table per transaction,
# so thousands of seat transactions on a table of thousands of items take
# minutes and tens of gigabytes. Here a transaction's conditions are all
# checked (under the lock) before moto writes anything, so a cancelled one
# never needs its backup, and tables are not copied.
class _TablesNotCopied:
    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_models.copy = _TablesNotCopied()
_transact = DynamoDBBackend.transact_write_items


def _conditions_first(self, transact_items):
    reasons = []
    for entry in transact_items:
        kind, op = next(iter(entry.items()))
        table = self.get_table(op["TableName"])
        if kind == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        condition = op.get("ConditionExpression")
        holds = condition is None or get_filter_expression(
            condition,
            op.get("ExpressionAttributeNames"),
            op.get("ExpressionAttributeValues"),
        ).expr(self.get_item(op["TableName"], key))
        reasons.append(
            (None, None, None) if holds else ("ConditionalCheckFailed", "The conditional request failed", None)
        )
    if any(code for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    return _transact(self, transact_items)


DynamoDBBackend.transact_write_items = _conditions_first


def _atomic(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

# moto's request handlers read the item they return (ALL_OLD, UPDATED_OLD)
# before the write, outside its lock: two updates racing could both be told
# the same old value, which DynamoDB never does. The handlers of writes
# that return values run whole under the same (re-entrant) lock.
for _name in ("put_item", "update_item", "delete_item"):
    setattr(DynamoHandler, _name, _atomic(getattr(DynamoHandler, _name)))

sys.exit(main(sys.argv[1:]))
