#!/usr/bin/env python3
"""Cold start of lanyard's Lambda functions, measured on this machine.

Starts the moto AWS emulator and a minimal Lambda Runtime API on loopback,
then launches each release function binary the way Lambda does (a fresh
process with AWS_LAMBDA_RUNTIME_API set) and times, per run:

- init: process start until the function asks for its first event
  (configuration, fonts, SDK clients, and for the API the organizer token
  read from SSM Parameter Store);
- first: process start until the first response is posted (init plus one
  invocation: `GET /api/conferences` for the API, one SQS badge job —
  DynamoDB read, render, two S3 writes, DynamoDB update — for the badge
  function);
- peak memory (VmHWM) after that response.

It measures the code's own cold start, not Lambda's sandbox start-up or the
download of the zip, which this machine cannot reproduce.

usage: bench/lambda_cold_start.py [RUNS]     (default 10)
needs: cargo build --release -p lanyard-lambda -p lanyard; pip install 'moto[server]'
"""

import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Serves one event per process and records when things happen."""

    def __init__(self):
        super().__init__(("127.0.0.1", free_port()), Handler)
        self.event = None
        self.asked = None
        self.answered = None
        self.answer = None
        self.done = threading.Event()

    def reset(self, event):
        self.event = event
        self.asked = self.answered = self.answer = None
        self.served = False
        self.done.clear()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if self.path.endswith("/runtime/invocation/next"):
            if server.served:
                server.done.wait(30)  # a warm function waits for its next event
                return
            server.asked = time.perf_counter()
            server.served = True
            body = json.dumps(server.event).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:lanyard",
            )
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self):
        server = self.server
        length = int(self.headers.get("Content-Length", 0))
        payload = self.rfile.read(length)
        server.answered = time.perf_counter()
        server.answer = (self.path, payload)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        server.done.set()


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run(binary, env, event, check):
    # A runtime API of its own for each process, so that nothing a killed
    # process still had in flight reaches the next one.
    api = RuntimeApi()
    api.reset(event)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}")
    started = time.perf_counter()
    proc = subprocess.Popen([os.path.join(RELEASE, binary)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not api.done.wait(30):
            raise SystemExit(f"{binary} answered nothing in 30 s")
        peak = peak_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        api.shutdown()
        api.server_close()
    path, payload = api.answer
    if not path.endswith("/response"):
        raise SystemExit(f"{binary} reported an error: {payload[:500]!r}")
    check(json.loads(payload) if payload else None)
    return (api.asked - started) * 1e3, (api.answered - started) * 1e3, peak / 1024


def main():
    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        aws_env = {
            "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base.update(aws_env)
        setup = subprocess.run([os.path.join(RELEASE, "lanyard"), "aws-setup", "--prefix", "cold"],
                               env=base, check=True, capture_output=True, text=True).stdout
        words = next(l for l in setup.splitlines() if l.startswith("lanyard serve")).split()
        flag = lambda name: words[words.index(name) + 1]

        import boto3  # installed with moto
        boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").put_parameter(
            Name="/lanyard/admin-token", Value="cold-start-organizer-token-0123456789",
            Type="SecureString")

        env = dict(base)
        env.update({
            "AWS_LAMBDA_FUNCTION_NAME": "lanyard", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_LOG_LEVEL": "error",
            "LANYARD_TABLE": flag("--table"), "LANYARD_BUCKET": flag("--bucket"),
            "LANYARD_TOPIC_ARN": flag("--topic-arn"),
            "LANYARD_ADMIN_TOKEN_PARAMETER": "/lanyard/admin-token",
        })
        fixtures = os.path.join(ROOT, "crates", "lambda", "tests", "fixtures")
        with open(os.path.join(fixtures, "apigw-v2-get.json")) as f:
            get_conferences = json.load(f)
        with open(os.path.join(fixtures, "apigw-v2-post-registration.json")) as f:
            post = json.load(f)
        with open(os.path.join(fixtures, "sqs-event.json")) as f:
            sqs_event = json.load(f)
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        queue_url = flag("--badge-queue-url")
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

        def api_ok(answer):
            assert answer["statusCode"] == 200, answer

        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        def badge_ready(user_id):
            def check(_answer):
                item = dynamodb.get_item(TableName=flag("--table"), Key={
                    "user_id": {"S": user_id}, "type": {"S": "Serverless web project"}})["Item"]
                assert item["badge_status"]["S"] == "ready", item
            return check

        results = {"lanyard-api": [], "lanyard-badge": []}
        for i in range(RUNS):
            results["lanyard-api"].append(run("lanyard-api", env, get_conferences, api_ok))
            # A fresh registration for each badge run (through the API function).
            post["body"] = json.dumps({"type": "Serverless web project", "user_id": f"cold{i}",
                                       "user_name": "홍길동", "phone_number": "010-1234-5678",
                                       "company_name": "Example Corp"})
            run("lanyard-api", env, post, lambda a: a["statusCode"] == 201 or sys.exit(f"sign-up: {a}"))
            # The job the sign-up announced, as the queue delivers it.
            message = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5,
                                          AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
            record = sqs_event["Records"][0]
            record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"],
                          body=message["Body"], eventSourceARN=queue_arn)
            results["lanyard-badge"].append(run("lanyard-badge", env, sqs_event, badge_ready(f"cold{i}")))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        print(f"{RUNS} cold starts each, moto on loopback, release binaries:")
        print(f"{'function':<15} {'init (ms)':>18} {'first answer (ms)':>20} {'peak (MiB)':>12}")
        for name, rows in results.items():
            init = [r[0] for r in rows]
            first = [r[1] for r in rows]
            peak = [r[2] for r in rows]
            print(f"{name:<15} {statistics.median(init):>8.1f} (max {max(init):>5.1f}) "
                  f"{statistics.median(first):>10.1f} (max {max(first):>5.1f}) {max(peak):>12.1f}")
    finally:
        moto.kill()
        moto.wait()


if __name__ == "__main__":
    main()
