"""Time from a sign-up's 201 to its badge being ready, as a user sees it.

usage: python3 bench/ready_latency.py URL RATE SECONDS
Posts RATE unique registrations per second for SECONDS, then for each one
polls its badge URL until it is ready, first after 5 ms and then backing off
(x1.5, at most 100 ms apart, so polling never floods the server); prints
p50/p99 of the 201 latency and of 201-to-ready, which are exact to within the
polling interval. Standard library only.
"""
import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    host = urlparse(url).netloc
    local = threading.local()

    def conn():
        if not hasattr(local, "c"):
            local.c = http.client.HTTPConnection(host, timeout=10)
        return local.c

    def one(i, due):
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        body = json.dumps({"type": "Serverless web project", "user_id": f"ready-{i}", "user_name": f"대기 {i}",
                           "phone_number": "010-5555-0000", "company_name": "Latency Co"})
        c = conn()
        t0 = time.perf_counter()
        c.request("POST", "/api/registrations", body, {"Content-Type": "application/json"})
        res = c.getresponse()
        data = json.loads(res.read())
        t1 = time.perf_counter()
        if res.status != 201:
            return None
        badge = data["badge"]["url"]
        wait = 0.005
        while True:
            time.sleep(wait)
            c.request("GET", badge)
            r = c.getresponse()
            state = json.loads(r.read())["status"]
            if state != "pending":
                return (t1 - t0, time.perf_counter() - t1, state)
            wait = min(wait * 1.5, 0.1)

    n = int(rate * seconds)
    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=128) as pool:
        results = list(pool.map(lambda i: one(i, start + i / rate), range(n)))
    ok = [r for r in results if r]
    post = [r[0] * 1000 for r in ok]
    ready = [r[1] * 1000 for r in ok]
    print(f"{len(ok)}/{n} registrations at {rate:.0f}/s for {seconds:.0f} s; "
          f"{sum(1 for r in ok if r[2] == 'ready')} badges ready")
    print(f"POST latency   p50 {percentile(post, 50):.1f} ms  p99 {percentile(post, 99):.1f} ms")
    print(f"201 to ready   p50 {percentile(ready, 50):.1f} ms  p99 {percentile(ready, 99):.1f} ms")


if __name__ == "__main__":
    main()
