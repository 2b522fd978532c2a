# Starts moto's server with each DynamoDB write behind one lock.
#
# DynamoDB applies a conditional write atomically: two requests racing to
# set an attribute that must not exist cannot both succeed. moto evaluates
# the condition and then writes, without a lock between its request
# threads, so under a real race both can succeed there. Holding one lock
# across each write gives the emulator the guarantee lanyard relies on.
import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_lock = threading.RLock()


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
