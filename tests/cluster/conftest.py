"""Shared helpers for the cluster checks (run through scripts/cluster-test).

`scripts/cluster up` starts PostgreSQL, PgBouncer (transaction pooling), two `jobs-api serve`
instances and haproxy in front, and writes $JOBS_API_CLUSTER_DIR/env (default
/tmp/jobs-api-cluster/env): the URLs, ports, pids, organization and owner key these tests read.
Every HTTP request here has a timeout; every loop is bounded in time.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0  # seconds, on every HTTP request


def read_env() -> dict[str, str]:
    path = Path(os.environ.get("JOBS_API_CLUSTER_DIR", "/tmp/jobs-api-cluster")) / "env"
    if not path.is_file():
        raise pytest.UsageError(f"{path} missing: run these tests through scripts/cluster-test "
                                "(or after scripts/cluster up)")
    env = {}
    for line in path.read_text().splitlines():
        for token in shlex.split(line):
            key, _, value = token.partition("=")
            env[key] = value
    return env


@pytest.fixture(scope="session")
def cluster() -> dict[str, str]:
    return read_env()


@pytest.fixture(scope="session")
def lb(cluster) -> str:
    return cluster["CLUSTER_URL"]


@pytest.fixture(scope="session")
def api1(cluster) -> str:
    return cluster["CLUSTER_API1_URL"]


@pytest.fixture(scope="session")
def api2(cluster) -> str:
    return cluster["CLUSTER_API2_URL"]


@pytest.fixture(scope="session")
def key(cluster) -> str:
    return cluster["CLUSTER_OWNER_KEY"]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_job(base: str, key: str, total_items: int = 1_000_000, job_type: str = "cluster") -> dict:
    r = requests.post(f"{base}/api/jobs/", json={"job_type": job_type, "total_items": total_items},
                      headers=auth(key), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()


def get_job(base: str, key: str, job_id: str) -> dict:
    r = requests.get(f"{base}/api/jobs/{job_id}", headers=auth(key), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def run_cluster(*args: str, timeout: float = 60) -> None:
    r = subprocess.run([str(ROOT / "scripts" / "cluster"), *args], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"scripts/cluster {' '.join(args)} failed: {r.stderr[-2000:]}"


def instance_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, ValueError):
        return False


def kill9(pid: str) -> None:
    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while instance_alive(pid) and time.monotonic() < deadline:
        # a zombie until its parent (gone: the shell of `up`) is reaped by init
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
            if state == "Z":
                return
        except OSError:
            return
        time.sleep(0.05)


class SSEReader:
    """Reads `event:`/`data:` frames of one text/event-stream response on a thread."""

    def __init__(self, url: str, key: str):
        self.events: list[tuple[str, dict]] = []
        self.error: Exception | None = None
        self.cond = threading.Condition()
        self.response = requests.get(url, headers={**auth(key), "Accept": "text/event-stream"},
                                     stream=True, timeout=(5, 60))
        assert self.response.status_code == 200, self.response.text
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        name, data = None, []
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                if raw is None:
                    continue
                if raw == "":
                    if data:
                        with self.cond:
                            self.events.append((name or "message", json.loads("\n".join(data))))
                            self.cond.notify_all()
                    name, data = None, []
                elif raw.startswith("event:"):
                    name = raw[6:].strip()
                elif raw.startswith("data:"):
                    data.append(raw[5:].lstrip())
        except Exception as e:  # the stream closed under us (close(), or the server ended it)
            self.error = e
        finally:
            with self.cond:
                self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for _, data in self.events:
                    if predicate(data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0 or not self.thread.is_alive():
                    return None
                self.cond.wait(left)

    def close(self):
        self.response.close()
