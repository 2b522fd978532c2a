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

sys.exit(main(sys.argv[1:]))
