"""Webhooks across two instances: every job end written through either instance is delivered,
once, by one of them (both run the delivery loop and claim with FOR UPDATE SKIP LOCKED through
PgBouncer), and its signature verifies with the independent `standardwebhooks` package."""

import http.server
import json
import re
import socket
import threading
import time

import requests
from standardwebhooks import Webhook

from conftest import TIMEOUT, auth, create_job

JOBS = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delivered_count(base: str) -> int:
    text = requests.get(f"{base}/metrics", timeout=TIMEOUT).text
    m = re.search(r'^webhook_attempts_total\{result="delivered"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def test_webhook_delivered_exactly_once_by_one_instance(lb, api1, api2, key):
    received, lock = [], threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = requests.post(f"{lb}/api/webhooks", json={"url": f"http://127.0.0.1:{port}/h", "events": ["job.completed"]},
                          headers=auth(key), timeout=TIMEOUT)
        assert r.status_code == 201, r.text
        endpoint_id, secret = r.json()["endpoint_id"], r.json()["secret"]
        before = delivered_count(api1) + delivered_count(api2)

        jobs = []
        for i in range(JOBS):
            base = api1 if i % 2 == 0 else api2
            job = create_job(base, key, total_items=1)["job_id"]
            for body in ({"mark_started": True}, {"processed_items": 1, "mark_completed": True}):
                r = requests.post(f"{base}/api/jobs/{job}/progress", json=body, headers=auth(key), timeout=TIMEOUT)
                assert r.status_code == 200, r.text
            jobs.append(job)

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if len(received) >= JOBS:
                    break
            time.sleep(0.2)
        time.sleep(2)  # anything sent twice would show up by now
        with lock:
            got = list(received)
        ids = [h["webhook-id"] for h, _ in got]
        job_ids = [Webhook(secret).verify(body, {k: v for k, v in h.items() if k.startswith("webhook-")})["data"]["job_id"]
                   for h, body in got]
        assert sorted(job_ids) == sorted(jobs), "every job delivered, and only once"
        assert len(set(ids)) == len(ids) == JOBS

        after = {"api1": delivered_count(api1), "api2": delivered_count(api2)}
        assert sum(after.values()) - before == JOBS, f"{after} (before: {before})"
        # Both instances deliver: the writing instance wakes its own deliverer at once.
        assert all(v > 0 for v in after.values()), after

        history = requests.get(f"{lb}/api/webhooks/{endpoint_id}/deliveries?limit=100", headers=auth(key),
                               timeout=TIMEOUT).json()["items"]
        assert len(history) == JOBS and all(d["state"] == "delivered" and d["attempts"] == 1 for d in history)
        assert requests.delete(f"{lb}/api/webhooks/{endpoint_id}", headers=auth(key), timeout=TIMEOUT).status_code == 204
    finally:
        server.shutdown()
        server.server_close()
