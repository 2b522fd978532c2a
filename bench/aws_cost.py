#!/usr/bin/env python3
"""What 10 000 registrations with their badges cost on AWS, from lanyard's
own requests, beside the original system's flow priced the same way.

Runs N sign-ups (default 1 000) through the real release Lambda binaries on
the moto emulator, exactly as Lambda would drive them: the API function
gets API Gateway (HTTP API) events, the badge function the queue's messages
as SQS events in batches of 10 (this script plays Lambda's poller: it
receives, invokes, and deletes what the function did not report as failed),
and each attendee then opens their badge once (the status and the PNG, as
the sign-up page does). moto records every request; each is attributed to
the function (or to the poller) by the access key it was signed with.

Counted, per registration: API requests, Lambda invocations and their
measured duration (from the event handed over to the answer posted) times
the configured memory, DynamoDB requests by operation with their write and
read units, S3 PUT/GET, SNS publishes, SQS requests. Units are estimated
from the items' sizes and the indexes each write touches (moto does not
meter): a write is one unit per KB for the table and for each index whose
key the item carries; a read (eventually consistent for index queries,
strongly consistent for GetItem) one unit (or a half) per 4 KB.

Prices: AWS's published us-east-1 list prices (on-demand DynamoDB after
its November 2024 cut; Lambda on arm64), free tiers left out. Durations
are this machine's (2 cores, shared), not Lambda's; CloudFront, CloudWatch
Logs and data transfer are left out of both columns.

The original system, priced the same way from its write-up: API Gateway
(REST) → a Python Lambda that puts the item (1 KB, no index) and publishes
to SNS → the badge Lambda (Python, Pillow + qrcode), which gets the item,
reads its logo and font from S3, renders and puts the JPEG → the page shows
the badge from S3 (one GET). Its badge Lambda's duration is the render time
of bench/original_badge.py measured here (its own storage round trips left out,
to which a lanyard badge job's storage time is added), its API Lambda's the
same as lanyard's API function's: both are assumptions, named in the
output. Memory: 128 MB, the
Lambda console's default, for both of its functions.

usage: bench/aws_cost.py [N]
needs: cargo build --release -p lanyard-lambda
       cargo build --release -p lanyard --features aws
       pip install 'moto[server]' pillow qrcode (the original's render)
       ../shared/bench/original_badge.py beside the checkout
"""

import base64
import http.server
import json
import math
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
FIXTURES = os.path.join(ROOT, "crates", "lambda", "tests", "fixtures")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
CONFERENCE = "Serverless web project"

# us-east-1 list prices, USD.
PRICE = {
    "http_api_request": 1.00 / 1e6,
    "rest_api_request": 3.50 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s_arm": 0.0000133334,
    "lambda_gb_s_x86": 0.0000166667,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "sns_publish": 0.50 / 1e6,
    "sqs_request": 0.40 / 1e6,
}
API_MEMORY_MB, BADGE_MEMORY_MB = 512, 1024  # deploy/template.yaml
# An ID-1 PNG badge, rendered in-process (BENCHMARKS.md, criterion).
LANYARD_RENDER_MS = 0.34
# The table's indexes and the attribute each one's key needs.
INDEX_KEYS = {
    "badge-token": "badge_token",
    "checkin-code": "ticket_code",
    "pending-badges": "pending_shard",
    "conference-list": "listed_at",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runtime(http.server.ThreadingHTTPServer):
    """Lambda's runtime API for one warm function: one event at a time."""

    def __init__(self):
        super().__init__(("127.0.0.1", free_port()), RuntimeHandler)
        self.events = queue.Queue()
        self.answers = queue.Queue()
        self.handed = None

    def invoke(self, event):
        """Hands `event` to the function; returns (answer, milliseconds)."""
        self.events.put(event)
        answer, answered = self.answers.get(timeout=60)
        return answer, (answered - self.handed) * 1e3


class RuntimeHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_response(404)
            self.end_headers()
            return
        event = self.server.events.get()
        body = json.dumps(event).encode()
        self.server.handed = time.perf_counter()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{time.time_ns()}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:lanyard")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answered = time.perf_counter()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if not self.path.endswith("/response"):
            self.server.answers.put(({"error": payload.decode(errors="replace")}, answered))
        else:
            self.server.answers.put((json.loads(payload) if payload else None, answered))


def start_function(binary, env):
    runtime = Runtime()
    threading.Thread(target=runtime.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{runtime.server_address[1]}")
    proc = subprocess.Popen([os.path.join(RELEASE, binary)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return runtime, proc


def item_size(item):
    """DynamoDB's size of an item in its JSON wire form: names and values."""
    size = 0
    for name, value in item.items():
        (kind, v), = value.items()
        size += len(name.encode()) + (len(str(v).encode()) if kind in ("S", "N") else 1)
    return size


def dynamodb_units(operation, body, sizes):
    """(write units, read units) of one DynamoDB request, estimated."""
    kb = lambda n: max(1, math.ceil(n / 1024))
    if operation == "PutItem":
        item = body["Item"]
        size = item_size(item)
        sizes[(item["user_id"]["S"], item["type"]["S"])] = size
        indexes = sum(1 for key in INDEX_KEYS.values() if key in item)
        return kb(size) * (1 + indexes), 0
    if operation in ("UpdateItem", "DeleteItem"):
        key = body["Key"]
        size = sizes.get((key["user_id"]["S"], key["type"]["S"]), 1024)
        # The table, the list index (it projects everything) and, when the
        # badge's state changes, the pending-badges index.
        touched = 1 if operation == "UpdateItem" and "badge_status" not in json.dumps(body) else 2
        return kb(size) * (1 + touched), 0
    if operation == "GetItem":
        key = body["Key"]
        size = sizes.get((key["user_id"]["S"], key["type"]["S"]), 1024)
        units = max(1, math.ceil(size / 4096))
        return 0, units if body.get("ConsistentRead") else units / 2
    if operation in ("Query", "Scan"):
        return 0, 0.5  # one small page, eventually consistent
    if operation == "TransactWriteItems":
        # Each write priced as on its own, then doubled: DynamoDB charges a
        # transaction's writes twice (its indexes' writes are counted
        # twice here too, which may overstate them).
        units = 0
        for entry in body.get("TransactItems", []):
            (kind, write), = entry.items()
            if kind == "Put":
                units += dynamodb_units("PutItem", write, sizes)[0]
            elif kind == "Update" and write["Key"]["user_id"]["S"].startswith("#"):
                units += 1  # a counter: a small item in no index
            elif kind in ("Update", "Delete"):
                units += dynamodb_units(kind + "Item", write, sizes)[0]
            else:
                units += 1  # a condition check
        return 2 * units, 0
    return 0, 0


def recorded_requests(path):
    """(access key, service, operation, body) of each recorded request."""
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            headers = entry["headers"]
            auth = headers.get("Authorization", "")
            if "Credential=" not in auth:
                continue
            scope = auth.split("Credential=")[1].split(",")[0].split("/")
            key, service = scope[0], scope[3]
            raw = entry.get("body") or ""
            body = base64.b64decode(raw) if entry.get("body_encoded") else raw.encode()
            target = headers.get("X-Amz-Target")
            if target:
                operation = target.split(".", 1)[1]
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = {}
            elif service == "s3":
                operation = {"GET": "GET", "HEAD": "GET", "PUT": "PUT", "DELETE": "DELETE",
                             "POST": "DELETE"}[entry["method"]]
                parsed = {}
            else:
                params = dict(p.split("=", 1) for p in body.decode().split("&") if "=" in p)
                operation, parsed = params.get("Action", "?"), {}
            yield key, service, operation, parsed


def original_render_ms():
    """Milliseconds per badge of the original's render step, measured here."""
    font = os.path.join(ROOT, "crates", "badge", "fonts", "NanumGothic.ttf")
    script = os.path.join(ROOT, "..", "shared", "bench", "original_badge.py")
    logo = os.path.join(os.path.dirname(script), "logo.png")
    if not os.path.exists(script):
        return None
    with tempfile.TemporaryDirectory() as out:
        runs = 200
        started = time.perf_counter()
        done = subprocess.run([sys.executable, script, str(runs), out, font, logo],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return None
        for line in done.stdout.splitlines():
            if "badges/s" in line:
                return 1000 / float(line.split()[0])
        return (time.perf_counter() - started) * 1000 / runs


def main():
    recording = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
        env=dict(os.environ, MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=recording),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    functions = []
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base.update({"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
                     "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"})
        setup = subprocess.run([os.path.join(RELEASE, "lanyard"), "aws-setup", "--prefix", "cost"],
                               env=dict(base, AWS_ACCESS_KEY_ID="setup"), check=True,
                               capture_output=True, text=True).stdout
        words = next(l for l in setup.splitlines() if l.startswith("lanyard serve")).split()
        flag = lambda name: words[words.index(name) + 1]

        import boto3  # installed with moto
        poller = lambda service: boto3.client(
            service, endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="poller", aws_secret_access_key="testing")
        sqs = poller("sqs")
        queue_url = flag("--badge-queue-url")
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

        env = dict(base, AWS_LAMBDA_FUNCTION_NAME="lanyard", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                   AWS_LAMBDA_LOG_LEVEL="error", LANYARD_TABLE=flag("--table"),
                   LANYARD_BUCKET=flag("--bucket"), LANYARD_TOPIC_ARN=flag("--topic-arn"),
                   LANYARD_ADMIN_TOKEN="cost-organizer-token-0123456789")
        api, api_proc = start_function("lanyard-api", dict(
            env, AWS_ACCESS_KEY_ID="api", AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(API_MEMORY_MB)))
        badge, badge_proc = start_function("lanyard-badge", dict(
            env, AWS_ACCESS_KEY_ID="badge", AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(BADGE_MEMORY_MB)))
        functions = [(api, api_proc), (badge, badge_proc)]

        with open(os.path.join(FIXTURES, "apigw-v2-post-registration.json")) as f:
            post = json.load(f)
        with open(os.path.join(FIXTURES, "apigw-v2-get.json")) as f:
            get = json.load(f)
        with open(os.path.join(FIXTURES, "sqs-event.json")) as f:
            record_shape = json.load(f)["Records"][0]

        def api_call(event):
            answer, ms = api.invoke(event)
            durations["lanyard-api"].append(ms)
            return answer

        def get_event(path):
            event = json.loads(json.dumps(get))
            event["rawPath"] = path
            event["rawQueryString"] = ""
            event["requestContext"]["http"]["path"] = path
            event["pathParameters"]["proxy"] = path[len("/api/"):]
            return event

        durations = defaultdict(list)
        tokens = []
        started = time.perf_counter()
        for i in range(N):
            post["body"] = json.dumps({"type": CONFERENCE, "user_id": f"cost{i:06d}",
                                       "user_name": "홍길동", "phone_number": "010-1234-5678",
                                       "company_name": "Example Corp"})
            post["isBase64Encoded"] = False
            answer = api_call(post)
            assert answer["statusCode"] == 201, answer
            tokens.append(json.loads(answer["body"])["badge"]["url"].rsplit("/", 1)[1].split(".")[0])

        # Lambda's poller: batches of up to 10, deleting what succeeded.
        rendered = 0
        while rendered < N:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1,
                                           AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
            if not messages:
                continue
            records = []
            for m in messages:
                r = dict(record_shape, messageId=m["MessageId"], receiptHandle=m["ReceiptHandle"],
                         body=m["Body"], eventSourceARN=queue_arn)
                r["attributes"] = dict(r["attributes"], ApproximateReceiveCount=m["Attributes"]["ApproximateReceiveCount"])
                records.append(r)
            answer, ms = badge.invoke({"Records": records})
            durations["lanyard-badge"].append(ms)
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(done)])
            rendered += len(done)

        # Each attendee opens their badge once: its state, then the PNG.
        for token in tokens:
            for path in (f"/api/badges/{token}", f"/api/badges/{token}.png"):
                answer = api_call(get_event(path))
                assert answer["statusCode"] == 200, (path, answer.get("statusCode"))
        elapsed = time.perf_counter() - started
    finally:
        for runtime, proc in functions:
            proc.kill()
            proc.wait()
            runtime.shutdown()
        moto.kill()
        moto.wait()

    # Requests by who made them.
    counts = defaultdict(Counter)
    wru = rru = 0.0
    sizes = {}
    for key, service, operation, body in recorded_requests(recording):
        if key not in ("api", "badge", "poller"):
            continue
        counts[key][f"{service}:{operation}"] += 1
        if service == "dynamodb":
            w, r = dynamodb_units(operation, body, sizes)
            wru += w
            rru += r
    os.unlink(recording)

    per = lambda x: x / N
    scale = 10_000
    api_requests = len(durations["lanyard-api"])
    invocations = api_requests + len(durations["lanyard-badge"])
    gb_s = (sum(durations["lanyard-api"]) / 1000 * API_MEMORY_MB / 1024
            + sum(durations["lanyard-badge"]) / 1000 * BADGE_MEMORY_MB / 1024)
    every = Counter()
    for c in counts.values():
        every.update(c)
    s3_put = every["s3:PUT"]
    s3_get = every["s3:GET"]
    sns = every["sns:Publish"]
    sqs_requests = sum(v for k, v in every.items() if k.startswith("sqs:"))
    lanyard = {
        "API Gateway (HTTP API)": api_requests * PRICE["http_api_request"],
        "Lambda requests": invocations * PRICE["lambda_request"],
        "Lambda duration (arm64)": gb_s * PRICE["lambda_gb_s_arm"],
        "DynamoDB writes": wru * PRICE["dynamodb_wru"],
        "DynamoDB reads": rru * PRICE["dynamodb_rru"],
        "S3 PUT": s3_put * PRICE["s3_put"],
        "S3 GET": s3_get * PRICE["s3_get"],
        "SNS publish": sns * PRICE["sns_publish"],
        "SQS requests": sqs_requests * PRICE["sqs_request"],
    }

    render_ms = original_render_ms()
    api_ms = sum(durations["lanyard-api"]) / api_requests
    badge_job_ms = sum(durations["lanyard-badge"]) / N
    # The original's badge Lambda: its render, plus the storage time of a
    # lanyard badge job (its own render, 0.34 ms, taken out).
    original_badge_ms = (render_ms if render_ms is not None else float("nan")) \
        + max(0.0, badge_job_ms - LANYARD_RENDER_MS)
    original = {
        # Sign-up: one REST API request; the page shows the badge from S3.
        "API Gateway (REST API)": N * PRICE["rest_api_request"],
        "Lambda requests": 2 * N * PRICE["lambda_request"],
        "Lambda duration (x86, 128 MB)": N * (api_ms + original_badge_ms) / 1000 * 0.125
        * PRICE["lambda_gb_s_x86"],
        # PutItem of a 1 KB item without indexes; the badge Lambda's GetItem.
        "DynamoDB writes": N * PRICE["dynamodb_wru"],
        "DynamoDB reads": N * 0.5 * PRICE["dynamodb_rru"],
        "S3 PUT": N * PRICE["s3_put"],
        # The logo and the font on every badge, and the badge shown once.
        "S3 GET": 3 * N * PRICE["s3_get"],
        "SNS publish": N * PRICE["sns_publish"],
        "SQS requests": 0.0,
    }

    print(f"{N} sign-ups with their badges, each badge opened once, in {elapsed:.0f} s on moto")
    print()
    print("Requests per registration, by who made them:")
    for who in ("api", "badge", "poller"):
        line = ", ".join(f"{k} {per(v):.2f}" for k, v in sorted(counts[who].items()))
        print(f"  {who}: {line}")
    print(f"  Lambda: {per(api_requests):.2f} API invocations ({api_ms:.2f} ms mean), "
          f"{per(len(durations['lanyard-badge'])):.2f} badge invocations "
          f"({sum(durations['lanyard-badge']) / max(1, len(durations['lanyard-badge'])):.1f} ms mean a batch)")
    print(f"  DynamoDB units (estimated): {per(wru):.2f} write, {per(rru):.2f} read")
    print()
    print(f"Cost of {scale:,} registrations at us-east-1 list prices (USD):")
    print(f"| item | lanyard | original system |")
    print(f"|---|---|---|")
    for item in lanyard:
        original_item = next((k for k in original if k.split(" (")[0] == item.split(" (")[0]), None)
        o = original.get(original_item, 0.0)
        print(f"| {item} | {lanyard[item] / N * scale:.4f} | {o / N * scale:.4f} |")
    total_l = sum(lanyard.values()) / N * scale
    total_o = sum(original.values()) / N * scale
    print(f"| **total** | **{total_l:.4f}** | **{total_o:.4f}** |")
    print()
    print("Durations are measured against the emulator on loopback, whose own answers (Python) "
          "take most of them.")
    print("Assumptions for the original: its API Lambda takes as long as lanyard's API function "
          f"({api_ms:.2f} ms); its badge Lambda as long as bench/original_badge.py's render here "
          f"({render_ms:.2f} ms) plus a lanyard badge job's storage time "
          f"({badge_job_ms - LANYARD_RENDER_MS:.2f} ms): {original_badge_ms:.2f} ms; "
          "128 MB each; a REST API. S3 DELETE requests are free.")


if __name__ == "__main__":
    main()
