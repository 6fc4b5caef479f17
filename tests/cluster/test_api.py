"""The black-box API through haproxy → two instances → PgBouncer (transaction pooling)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter

import requests

from conftest import TIMEOUT, auth, create_job, get_job


def test_readyz_and_round_robin(lb, api1, api2):
    for base in (lb, api1, api2):
        r = requests.get(f"{base}/readyz", timeout=TIMEOUT)
        assert r.status_code == 200, (base, r.text)
    # haproxy spreads requests over both instances round robin: each instance's counter of
    # /healthz in /metrics (a route haproxy's own checks, on /readyz, do not touch) grows by 5.
    def served(base):
        text = requests.get(f"{base}/metrics", timeout=TIMEOUT).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("http_requests_total{") and 'route="/healthz"' in line)
    before = (served(api1), served(api2))
    for _ in range(10):
        assert requests.get(f"{lb}/healthz", timeout=TIMEOUT).status_code == 200
    after = (served(api1), served(api2))
    assert (after[0] - before[0], after[1] - before[1]) == (5, 5), (before, after)


def test_job_lifecycle_through_the_load_balancer(lb, key):
    job = create_job(lb, key, total_items=10, job_type="cluster-lifecycle")
    job_id = job["job_id"]
    assert job["status"] == "pending" and job["processed_items"] == 0

    s = requests.Session()  # keep-alive through haproxy
    s.headers.update(auth(key))
    r = s.post(f"{lb}/api/jobs/{job_id}/progress", json={"mark_started": True, "stage": "loading"}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress" and r.json()["started_at"]

    for _ in range(4):
        r = s.post(f"{lb}/api/jobs/{job_id}/progress", json={"processed_items_delta": 2}, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
    r = s.post(f"{lb}/api/jobs/{job_id}/progress", json={
        "processed_items_delta": 1, "message": "almost",
        "warning": {"entity_key": "SKU-9", "entity_type": "product", "error_type": "late", "message": "slow"}},
        timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["processed_items"] == 9 and r.json()["warned_items"] == 1

    status = s.get(f"{lb}/api/jobs/{job_id}/status", timeout=TIMEOUT).json()
    assert status["processed_items"] == 9 and status["stage"] == "loading"
    assert status["progress_percentage"] == 90.0  # (9 processed + 0 failed) / 10
    r = s.post(f"{lb}/api/jobs/{job_id}/progress", json={"mark_completed": True}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed_with_warnings" and r.json()["completed_at"]

    # Read back on every path, many times: each read may land on either instance.
    for _ in range(6):
        got = s.get(f"{lb}/api/jobs/{job_id}", timeout=TIMEOUT).json()
        assert got["status"] == "completed_with_warnings"
        assert got["processed_items"] == 9 and got["warning_count"] == 1
        assert got["metadata"] == {"stage": "loading", "last_message": "almost"}
    warnings = s.get(f"{lb}/api/jobs/{job_id}/warnings", timeout=TIMEOUT).json()
    assert [w["entity_key"] for w in warnings["items"]] == ["SKU-9"]

    # A terminal job takes no more progress; the repeat of the ending transition is harmless.
    assert s.post(f"{lb}/api/jobs/{job_id}/progress", json={"processed_items_delta": 1},
                  timeout=TIMEOUT).status_code == 409
    assert s.post(f"{lb}/api/jobs/{job_id}/progress", json={"mark_completed": True},
                  timeout=TIMEOUT).status_code == 200


def test_list_filters_and_pages(lb, key):
    job_type = f"cluster-list-{uuid.uuid4().hex[:8]}"
    ids = [create_job(lb, key, total_items=1, job_type=job_type)["job_id"] for _ in range(5)]
    seen, cursor = [], None
    for _ in range(10):
        params = {"job_type": job_type, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = requests.get(f"{lb}/api/jobs/", params=params, headers=auth(key), timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [j["job_id"] for j in page["items"]]
        assert all("errors" not in j for j in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))  # newest first, each once, across pages served by both instances
    r = requests.get(f"{lb}/api/jobs/", params={"status": "nonsense"}, headers=auth(key), timeout=TIMEOUT)
    assert r.status_code == 422


def test_cancel_and_idempotent_retry(lb, key):
    job_id = create_job(lb, key)["job_id"]
    idem = {"Idempotency-Key": uuid.uuid4().hex, **auth(key)}
    first = requests.post(f"{lb}/api/jobs/{job_id}/cancel", json={"reason": "operator"}, headers=idem, timeout=TIMEOUT)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "cancelled" and first.json()["error_message"] == "operator"
    # The retry lands on the other instance (round robin) and replays the stored answer.
    again = requests.post(f"{lb}/api/jobs/{job_id}/cancel", json={"reason": "operator"}, headers=idem, timeout=TIMEOUT)
    assert again.status_code == 200 and again.json() == first.json()
    r = requests.post(f"{lb}/api/jobs/{job_id}/progress", json={"processed_items_delta": 1}, headers=auth(key),
                      timeout=TIMEOUT)
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]


def test_401_and_404(lb, key):
    missing = "job_" + uuid.uuid4().hex.upper()[:26]
    r = requests.get(f"{lb}/api/jobs/", timeout=TIMEOUT)
    assert r.status_code == 401 and r.headers.get("www-authenticate", "").startswith("Bearer")
    r = requests.get(f"{lb}/api/jobs/", headers=auth("jak_" + "0" * 40), timeout=TIMEOUT)
    assert r.status_code == 401
    r = requests.get(f"{lb}/api/jobs/{missing}", headers=auth(key), timeout=TIMEOUT)
    assert r.status_code == 404
    r = requests.post(f"{lb}/api/jobs/{missing}/progress", json={"processed_items_delta": 1},
                      headers=auth(key), timeout=TIMEOUT)
    assert r.status_code == 404


def test_many_keep_alive_requests_spread_over_pgbouncer(lb, key):
    """200 reads on 4 keep-alive sessions: PgBouncer hands every transaction whichever server
    connection is free, so this crosses connections constantly; every answer is right."""
    job_id = create_job(lb, key, total_items=7)["job_id"]
    codes = Counter()
    for i in range(4):
        s = requests.Session()
        s.headers.update(auth(key))
        for _ in range(50):
            r = s.get(f"{lb}/api/jobs/{job_id}", timeout=TIMEOUT)
            codes[r.status_code] += 1
            assert r.status_code != 200 or r.json()["total_items"] == 7
    assert codes == Counter({200: 200}), codes


def test_schemathesis_against_the_cluster(lb, key):
    """The contract fuzzer, briefly, through haproxy (no 5xx, responses match the schema)."""
    exe = shutil.which("schemathesis") or shutil.which("st")
    cmd = [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]
    create_job(lb, key, total_items=10)
    cmd += [
        "run", f"{lb}/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "-H", f"Authorization: Bearer {key}",
        "--max-examples", "5",
        "--phases", "examples,fuzzing",
        "--exclude-path-regex", "/events$",
        "--max-time", "30",
        "--request-timeout", "10",
        "--workers", "2",
        "--seed", "20261130",
        "--generation-database", "none",
        "--no-color",
        "--output-sanitize", "true",
    ]
    env = {k: v for k, v in os.environ.items() if k != "SCHEMATHESIS_HOOKS"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
