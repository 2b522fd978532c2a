"""A real SMTP server for lanyard's tests and mail benchmark (aiosmtpd).

Keeps every message it accepts as a file in --dir (written whole, then
renamed), and can refuse the first --refuse-first messages with a 451
(a temporary failure, which senders must retry). Prints "ready" once it
listens; stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import os
import signal
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, out, refuse_first):
        self.out = out
        self.refuse = refuse_first
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.count += 1
        name = os.path.join(self.out, f"{time.time_ns()}-{os.getpid()}-{self.count}.eml")
        with open(name + ".part", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(name + ".part", name)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--refuse-first", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(
        Keep(args.dir, args.refuse_first),
        hostname="127.0.0.1",
        port=args.port,
        data_size_limit=10 * 1024 * 1024,
    )
    controller.start()
    print("ready", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
