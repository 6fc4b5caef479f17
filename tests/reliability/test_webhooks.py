"""Webhooks against a local receiver: success (signature checked by the independent Python
`standardwebhooks` package), 500 then success, timeout, receiver down for a while, endpoint
disabled after the retry window, internal addresses refused, the server killed (-9) between the
commit and the delivery (delivered after the restart, never lost), the command line, and the
delivery latency from commit to receiver (p50/p99, written to results.json)."""

from __future__ import annotations

import http.server
import json
import os
import statistics
import subprocess
import threading
import time

import pytest
from standardwebhooks import Webhook

from conftest import SIGKILL, create_job, free_port, psql, record_result


@pytest.fixture(autouse=True)
def no_endpoints():
    """Each test starts and ends with no endpoint in the shared organization."""
    psql("DELETE FROM webhook_endpoints")
    yield
    psql("DELETE FROM webhook_endpoints")


# --------------------------------------------------------------------------- a local receiver

class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every POST and answers as `behave` says:
    behave(n) -> (status, delay_seconds) for the n-th request (1-based)."""

    def __init__(self, port: int | None = None, behave=None):
        self.port = port or free_port()
        self.behave = behave or (lambda n: (200, 0))
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.cond:
                    receiver.received.append({
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "at": time.monotonic()})
                    n = len(receiver.received)
                    receiver.cond.notify_all()
                status, delay = receiver.behave(n)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def wait_for(self, count: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.received)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        r = Receiver(**kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


# --------------------------------------------------------------------------- helpers

FAST = {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOK_RETRY_BASE": "1s", "WEBHOOK_POLL_INTERVAL": "1s"}


def add_endpoint(server, token, url, events=None) -> tuple[str, str]:
    body = {"url": url}
    if events is not None:
        body["events"] = events
    r = server.request("POST", "/api/webhooks", body=body, token=token)
    assert r.status == 201, f"add endpoint: {r}"
    data = r.json()
    assert data["secret"].startswith("whsec_")
    assert r.headers.get("location") == f"/api/webhooks/{data['endpoint_id']}"
    return data["endpoint_id"], data["secret"]


def remove_endpoint(server, token, endpoint_id):
    r = server.request("DELETE", f"/api/webhooks/{endpoint_id}", token=token)
    assert r.status == 204, f"remove endpoint: {r}"


def finish_job(server, token, job_id, body=None):
    r = server.request("POST", f"/api/jobs/{job_id}/progress", body={"mark_started": True}, token=token)
    assert r.status == 200, r
    r = server.request("POST", f"/api/jobs/{job_id}/progress",
                       body=body or {"processed_items_delta": 3, "mark_completed": True}, token=token)
    assert r.status == 200, r
    return r


def deliveries(server, token, endpoint_id) -> list[dict]:
    r = server.request("GET", f"/api/webhooks/{endpoint_id}/deliveries?limit=100", token=token)
    assert r.status == 200, f"deliveries: {r}"
    return r.json()["items"]


def wait_history(server, token, endpoint_id, predicate, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    items = deliveries(server, token, endpoint_id)
    while not predicate(items) and time.monotonic() < deadline:
        time.sleep(0.2)
        items = deliveries(server, token, endpoint_id)
    return items


def verified(secret: str, received: dict) -> dict:
    """Checks the signature with the standardwebhooks package (raises when it is wrong)."""
    headers = {k: v for k, v in received["headers"].items() if k.startswith("webhook-")}
    return Webhook(secret).verify(received["body"], headers)


def for_job(received: list[dict], job_id: str) -> list[dict]:
    return [r for r in received if json.loads(r["body"])["data"]["job_id"] == job_id]


# --------------------------------------------------------------------------- tests

def test_webhook_delivered_signed_once_with_latency(server_factory, owner_key, receivers):
    receiver = receivers()
    server = server_factory("webhooks-ok", **FAST)
    endpoint_id, secret = add_endpoint(server, owner_key, receiver.url, ["job.completed", "job.failed"])

    # One job: content, signature (an independent verifier), history.
    job = create_job(server, owner_key, total_items=3)
    finish_job(server, owner_key, job)
    got = receiver.wait_for(1, timeout=10)
    assert len(got) == 1, "the job.completed event did not arrive"
    payload = verified(secret, got[0])
    assert payload["type"] == "job.completed"
    assert payload["data"]["job_id"] == job and payload["data"]["status"] == "completed"
    assert payload["data"]["processed_items"] == 3
    assert got[0]["headers"]["webhook-id"].startswith("msg_")
    assert got[0]["headers"]["content-type"] == "application/json"
    with pytest.raises(Exception):
        Webhook("whsec_" + "QUJD" * 8).verify(got[0]["body"], {k: v for k, v in got[0]["headers"].items()
                                                                 if k.startswith("webhook-")})
    items = wait_history(server, owner_key, endpoint_id, lambda i: i and i[0]["state"] == "delivered", 5)
    assert items[0]["state"] == "delivered" and items[0]["attempts"] == 1 and items[0]["last_status"] == 200
    assert items[0]["message_id"] == got[0]["headers"]["webhook-id"] and items[0]["job_id"] == job

    # Not subscribed: a cancel sends nothing; a failure does.
    cancelled = create_job(server, owner_key)
    assert server.request("POST", f"/api/jobs/{cancelled}/cancel", token=owner_key).status == 200
    failed = create_job(server, owner_key)
    r = server.request("POST", f"/api/jobs/{failed}/progress", body={"mark_failed": "boom"}, token=owner_key)
    assert r.status == 200, r
    got = receiver.wait_for(2, timeout=10)
    time.sleep(1.5)
    assert len(receiver.received) == 2, "exactly one more event (job.failed), none for the cancel"
    assert verified(secret, got[1])["type"] == "job.failed"
    assert json.loads(got[1]["body"])["data"]["error_message"] == "boom"

    # Latency from the commit (the acknowledged request) to the receiver, one job at a time.
    latencies = []
    for _ in range(40):
        job = create_job(server, owner_key, total_items=1)
        server.request("POST", f"/api/jobs/{job}/progress", body={"mark_started": True}, token=owner_key)
        before = len(receiver.received)
        start = time.monotonic()
        r = server.request("POST", f"/api/jobs/{job}/progress",
                           body={"processed_items_delta": 1, "mark_completed": True}, token=owner_key)
        acked = time.monotonic()
        assert r.status == 200
        got = receiver.wait_for(before + 1, timeout=10)
        assert len(got) == before + 1
        latencies.append((got[-1]["at"] - acked) * 1000)
        assert got[-1]["at"] >= start
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    record_result("webhook_latency", {"samples": len(latencies), "p50_ms": round(p50, 1),
                                      "p99_ms": round(p99, 1), "max_ms": round(latencies[-1], 1)})
    assert p50 < 1000, f"commit-to-receiver p50 {p50:.0f} ms"


def test_webhook_500_then_success(server_factory, owner_key, receivers):
    receiver = receivers(behave=lambda n: (500, 0) if n == 1 else (200, 0))
    server = server_factory("webhooks-500", **FAST)
    endpoint_id, secret = add_endpoint(server, owner_key, receiver.url)
    job = create_job(server, owner_key)
    finish_job(server, owner_key, job)
    got = receiver.wait_for(2, timeout=15)
    assert len(got) == 2, "no retry after the 500"
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"], "a retry keeps its webhook-id"
    assert 0.4 <= got[1]["at"] - got[0]["at"] <= 8, "the retry waited its backoff"
    assert verified(secret, got[1])["data"]["job_id"] == job
    items = wait_history(server, owner_key, endpoint_id, lambda i: i and i[0]["state"] == "delivered", 5)
    assert items[0]["state"] == "delivered" and items[0]["attempts"] == 2 and items[0]["last_status"] == 200
    endpoint = server.request("GET", f"/api/webhooks/{endpoint_id}", token=owner_key).json()
    assert endpoint["enabled"] is True and endpoint["failing_since"] is None and "secret" not in endpoint


def test_webhook_timeout_is_retried(server_factory, owner_key, receivers):
    receiver = receivers(behave=lambda n: (200, 4) if n == 1 else (200, 0))
    server = server_factory("webhooks-timeout", WEBHOOK_TIMEOUT="1s", **FAST)
    endpoint_id, secret = add_endpoint(server, owner_key, receiver.url)
    job = create_job(server, owner_key)
    finish_job(server, owner_key, job)
    items = wait_history(server, owner_key, endpoint_id,
                         lambda i: i and i[0]["attempts"] >= 1 and i[0]["last_error"] is not None, 8)
    assert items[0]["last_error"] == "timed out", items
    assert items[0]["last_status"] is None and items[0]["state"] == "pending"
    got = receiver.wait_for(2, timeout=15)
    assert len(got) >= 2
    items = wait_history(server, owner_key, endpoint_id, lambda i: i and i[0]["state"] == "delivered", 10)
    assert items[0]["state"] == "delivered" and items[0]["attempts"] >= 2
    assert verified(secret, got[-1])["data"]["job_id"] == job


def test_webhook_receiver_down_for_a_while(server_factory, owner_key, receivers):
    port = free_port()  # nothing listens yet
    server = server_factory("webhooks-down", **FAST)
    endpoint_id, secret = add_endpoint(server, owner_key, f"http://127.0.0.1:{port}/hooks")
    job = create_job(server, owner_key)
    finish_job(server, owner_key, job)
    items = wait_history(server, owner_key, endpoint_id, lambda i: i and i[0]["attempts"] >= 2, 15)
    assert items[0]["state"] == "pending" and items[0]["attempts"] >= 2 and items[0]["last_error"], items
    endpoint = server.request("GET", f"/api/webhooks/{endpoint_id}", token=owner_key).json()
    assert endpoint["failing_since"] is not None and endpoint["enabled"] is True
    receiver = receivers(port=port)
    got = receiver.wait_for(1, timeout=40)
    assert len(got) >= 1, "not delivered once the receiver came back"
    assert verified(secret, got[0])["data"]["job_id"] == job
    items = wait_history(server, owner_key, endpoint_id, lambda i: i and i[0]["state"] == "delivered", 5)
    assert items[0]["state"] == "delivered"
    endpoint = server.request("GET", f"/api/webhooks/{endpoint_id}", token=owner_key).json()
    assert endpoint["failing_since"] is None


def test_webhook_endpoint_disabled_after_retry_window(server_factory, owner_key):
    port = free_port()
    server = server_factory("webhooks-disable", WEBHOOK_RETRY_FOR="3s", **FAST)
    endpoint_id, _ = add_endpoint(server, owner_key, f"http://127.0.0.1:{port}/hooks")
    job = create_job(server, owner_key)
    finish_job(server, owner_key, job)
    deadline = time.monotonic() + 30
    endpoint = {}
    while time.monotonic() < deadline:
        endpoint = server.request("GET", f"/api/webhooks/{endpoint_id}", token=owner_key).json()
        if not endpoint["enabled"]:
            break
        time.sleep(0.3)
    if endpoint["enabled"]:
        open("/tmp/wh-debug.txt", "w").write(json.dumps(deliveries(server, owner_key, endpoint_id)) + "\n" + "\n".join(
            l for l in server.log_text().splitlines() if "api/" not in l))
    assert endpoint["enabled"] is False, endpoint
    assert endpoint["disabled_at"] and endpoint["disabled_reason"], endpoint
    items = wait_history(server, owner_key, endpoint_id, lambda i: i and i[0]["state"] == "failed", 10)
    assert items[0]["state"] == "failed", "a message older than the window is given up"
    metrics = server.request("GET", "/metrics").text
    assert "webhook_endpoints_disabled_total 1" in metrics, metrics[-2000:]
    # A disabled endpoint gets no new events; enabling it again works.
    r = server.request("POST", f"/api/webhooks/{endpoint_id}/enable", token=owner_key)
    assert r.status == 200 and r.json()["enabled"] is True and r.json()["disabled_at"] is None


def test_webhook_internal_address_refused_without_allow_list(server_factory, owner_key, receivers):
    receiver = receivers()
    server = server_factory("webhooks-ssrf", WEBHOOK_RETRY_BASE="1s", WEBHOOK_POLL_INTERVAL="1s")
    endpoint_id, _ = add_endpoint(server, owner_key, receiver.url)
    localhost_id, _ = add_endpoint(server, owner_key, f"http://localhost:{receiver.port}/x")
    job = create_job(server, owner_key)
    finish_job(server, owner_key, job)
    for eid in (endpoint_id, localhost_id):
        items = wait_history(server, owner_key, eid, lambda i: i and i[0]["last_error"], 10)
        assert "loopback, link-local or private" in items[0]["last_error"], items
        assert items[0]["state"] == "pending" and items[0]["last_status"] is None
    assert receiver.received == [], "a refused address was reached"


def test_webhook_kill9_between_commit_and_delivery(server_factory, owner_key, receivers):
    # The first attempt hangs: the server is killed while the event is committed but not delivered.
    receiver = receivers(behave=lambda n: (200, 30) if n == 1 else (200, 0))
    server = server_factory("webhooks-kill9", WEBHOOK_TIMEOUT="3s", **FAST)
    endpoint_id, secret = add_endpoint(server, owner_key, receiver.url)
    job = create_job(server, owner_key)
    finish_job(server, owner_key, job)
    assert len(receiver.wait_for(1, timeout=10)) == 1, "the first attempt did not start"
    server.signal(SIGKILL)
    assert server.wait_exit(10) is not None
    server.start()
    got = receiver.wait_for(2, timeout=30)
    assert len(got) >= 2, "the event was lost with the killed server"
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    assert verified(secret, got[1])["data"]["job_id"] == job
    items = wait_history(server, owner_key, endpoint_id, lambda i: i and i[0]["state"] == "delivered", 10)
    assert len(items) == 1 and items[0]["state"] == "delivered" and items[0]["attempts"] >= 2


def test_webhook_kill9_right_after_commit(server_factory, owner_key, receivers):
    # Events queued while no deliverer runs (the server dies at once) go out after the restart.
    receiver = receivers()
    server = server_factory("webhooks-kill9-early", **FAST)
    endpoint_id, secret = add_endpoint(server, owner_key, receiver.url, ["job.cancelled"])
    jobs = [create_job(server, owner_key) for _ in range(5)]
    for job in jobs:
        assert server.request("POST", f"/api/jobs/{job}/cancel", token=owner_key).status == 200
    server.signal(SIGKILL)
    assert server.wait_exit(10) is not None
    server.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len({json.loads(r["body"])["data"]["job_id"]
                                               for r in receiver.received}) < len(jobs):
        time.sleep(0.2)
    delivered = {verified(secret, r)["data"]["job_id"] for r in receiver.received}
    assert delivered == set(jobs), "an acknowledged cancel's event was lost"


def test_webhook_api_is_owner_only_and_validates(server_factory, owner_key):
    server = server_factory("webhooks-api", **FAST)
    org = os.environ["RELIABILITY_ORG"]
    editor = subprocess.run([os.environ["JOBS_API_BIN"], "apikey", "create", org, "--name", "editor",
                             "--role", "editor"], capture_output=True, text=True, timeout=30)
    assert editor.returncode == 0, editor.stderr
    editor_key = editor.stdout.strip()
    r = server.request("GET", "/api/webhooks", token=editor_key)
    assert r.status == 403 and "owner" in r.json()["detail"], r
    assert server.request("GET", "/api/webhooks").status == 401
    for bad in ({"url": "ftp://example.com/x"}, {"url": "http://user:pw@example.com/"}, {"url": 5},
                {"url": "https://example.com/", "events": ["job.exploded"]}, {"url": "https://example.com/", "x": 1},
                {"url": "https://example.com/", "events": []}):
        r = server.request("POST", "/api/webhooks", body=bad, token=owner_key)
        assert r.status == 422, f"{bad}: {r}"
    assert server.request("GET", "/api/webhooks/whep_nope", token=owner_key).status == 404
    assert server.request("GET", "/api/webhooks/whep_nope/deliveries", token=owner_key).status == 404
    endpoint_id, secret = add_endpoint(server, owner_key, "https://example.com/hooks", ["job.failed"])
    listed = server.request("GET", "/api/webhooks", token=owner_key)
    assert listed.status == 200 and secret not in listed.text
    assert [e["endpoint_id"] for e in listed.json()["items"]].count(endpoint_id) == 1
    r = server.request("GET", f"/api/webhooks/{endpoint_id}/deliveries?limit=0", token=owner_key)
    assert r.status == 422
    r = server.request("POST", f"/api/webhooks/{endpoint_id}/rotate-secret", token=owner_key)
    assert r.status == 200 and r.json()["secret"] != secret and r.json()["previous_secret_expires_at"]
    remove_endpoint(server, owner_key, endpoint_id)
    assert server.request("DELETE", f"/api/webhooks/{endpoint_id}", token=owner_key).status == 404
    assert secret not in server.log_text()


def test_webhook_command_line(server_factory, owner_key, receivers):
    org = os.environ["RELIABILITY_ORG"]
    binary = os.environ["JOBS_API_BIN"]

    def cli(*args, ok=True):
        r = subprocess.run([binary, "webhook", *args], capture_output=True, text=True, timeout=30)
        assert (r.returncode == 0) == ok, f"{args}: {r.returncode} {r.stderr}"
        return r

    receiver = receivers()
    added = cli("add", org, receiver.url, "--events", "job.completed")
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and added.stdout.count("\n") == 1, "stdout is only the secret"
    listing = cli("list", org).stdout
    assert receiver.url in listing and secret not in listing
    endpoint_id = [line.split("\t")[0] for line in listing.splitlines() if receiver.url in line][0]
    assert "job.completed" in listing
    assert "unknown webhook event type" in cli("add", org, receiver.url, "--events", "job.nope", ok=False).stderr
    assert "does not exist" in cli("add", "no-such-org", receiver.url, ok=False).stderr
    cli("add", org, "not a url", ok=False)

    rotated = cli("rotate-secret", org, endpoint_id).stdout.strip()
    assert rotated.startswith("whsec_") and rotated != secret
    # During the overlap, deliveries carry both signatures: receivers on either secret verify.
    server = server_factory("webhooks-cli", **FAST)
    job = create_job(server, owner_key)
    finish_job(server, owner_key, job)
    got = receiver.wait_for(1, timeout=10)
    assert len(got) == 1
    assert len(got[0]["headers"]["webhook-signature"].split(" ")) == 2
    assert verified(secret, got[0])["data"]["job_id"] == job
    assert verified(rotated, got[0])["data"]["job_id"] == job
    cli("remove", org, endpoint_id)
    cli("remove", org, endpoint_id, ok=False)
    assert receiver.url not in cli("list", org).stdout


def test_webhook_job_stalled_fires_once_per_stall(server_factory, owner_key, receivers):
    receiver = receivers()
    server = server_factory("webhooks-stalled", STALL_AFTER="2s", **FAST)
    _, secret = add_endpoint(server, owner_key, receiver.url, ["job.stalled"])
    job = create_job(server, owner_key, total_items=10)
    r = server.request("POST", f"/api/jobs/{job}/progress", body={"mark_started": True}, token=owner_key)
    assert r.status == 200, r
    got = receiver.wait_for(1, timeout=15)
    assert len(got) == 1, "job.stalled did not arrive"
    event = verified(secret, got[0])
    assert event["type"] == "job.stalled" and event["data"]["job_id"] == job and event["data"]["stalled"] is True
    time.sleep(3)
    assert len(receiver.received) == 1, "a stall is announced once"
    # The worker reports again, then goes silent again: a new stall, a new event.
    r = server.request("POST", f"/api/jobs/{job}/progress", body={"processed_items": 1}, token=owner_key)
    assert r.status == 200 and r.json()["stalled"] is False, r
    got = receiver.wait_for(2, timeout=15)
    assert len(got) == 2 and got[0]["headers"]["webhook-id"] != got[1]["headers"]["webhook-id"]
    assert verified(secret, got[1])["data"]["processed_items"] == 1
