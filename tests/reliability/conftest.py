"""Shared helpers for the reliability checks (run through scripts/reliability).

scripts/reliability starts a throwaway PostgreSQL cluster, migrates it, creates an organization
and owner API keys, and exports what these helpers read:

    JOBS_API_BIN, MIGRATIONS_DIR, PGHOST, PGPORT, PGUSER, PGDATABASE,
    RELIABILITY_PG_BIN, RELIABILITY_PG_DATA, RELIABILITY_PG_CTL_USER, RELIABILITY_PG_LOG,
    RELIABILITY_PG_OPTS, RELIABILITY_PSQL, RELIABILITY_TMP, RELIABILITY_ORG,
    RELIABILITY_OWNER_KEY, RELIABILITY_OWNER_KEY2

Every test starts its own `jobs-api serve` on a free 127.0.0.1 port (`server_factory`), waits
for `GET /readyz` = 200, and the fixture kills it afterwards. Every wait and loop here is
bounded in time.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE / "results.json"
REQUEST_TIMEOUT = 10.0  # seconds, on every HTTP request the tests make

_REQUIRED = [
    "JOBS_API_BIN", "PGHOST", "PGPORT", "PGDATABASE", "RELIABILITY_PG_BIN", "RELIABILITY_PG_DATA",
    "RELIABILITY_PG_OPTS", "RELIABILITY_PSQL", "RELIABILITY_TMP", "RELIABILITY_ORG",
    "RELIABILITY_OWNER_KEY", "RELIABILITY_OWNER_KEY2",
]


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: run these tests through scripts/reliability", pytrace=False)
    return value


def pytest_collection_modifyitems(config, items):
    missing = [n for n in _REQUIRED if not os.environ.get(n)]
    if missing:
        raise pytest.UsageError(
            "tests/reliability must be run through scripts/reliability (missing: " + ", ".join(missing) + ")")


# --------------------------------------------------------------------------- results.json

_results_lock = threading.Lock()


def record_result(test: str, figures: dict) -> None:
    """Print FIGURES and merge them under TEST into tests/reliability/results.json."""
    print(f"\n[{test}] " + json.dumps(figures, sort_keys=True))
    with _results_lock:
        try:
            data = json.loads(RESULTS_FILE.read_text())
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        entry = data.get(test) if isinstance(data.get(test), dict) else {}
        entry.update(figures)
        entry["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data[test] = entry
        tmp = RESULTS_FILE.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(RESULTS_FILE)


# --------------------------------------------------------------------------- networking

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status: int, headers: dict, body: bytes, elapsed: float):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body
        self.elapsed = elapsed

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<{self.status} {self.text[:200]!r} in {self.elapsed:.3f}s>"


def http_request(port: int, method: str, path: str, *, body=None, headers=None, token=None,
                 timeout: float = REQUEST_TIMEOUT) -> Response:
    """One request on a fresh connection (Connection: close). Raises OSError on network errors."""
    hdrs = {"Connection": "close"}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        hdrs.setdefault("Content-Type", "application/json")
    hdrs.update(headers or {})
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload,
                        time.monotonic() - start)
    finally:
        conn.close()


class KeepAliveClient:
    """A keep-alive HTTP/1.1 client that knows whether a request was fully sent.

    `send` returns (response | None, outcome) where outcome is one of:
      "ok"          a response arrived
      "not_sent"    the connection could not be opened (nothing was sent)
      "reset_after_send"  the request was fully written but the connection broke before a
                    complete response (reset, EOF, timeout)
      "send_failed" the connection broke while the request was being written
    """

    def __init__(self, port: int, token: str | None, timeout: float = REQUEST_TIMEOUT):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reused = False

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None

    def send(self, method: str, path: str, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.connect()
            except OSError:
                self.close()
                return None, "not_sent"
            self.reused = False
        else:
            self.reused = True
        hdrs = {}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        start = time.monotonic()
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
        except (OSError, http.client.HTTPException):
            self.close()
            return None, "send_failed"
        try:
            resp = self.conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return None, "reset_after_send"
        r = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload,
                     time.monotonic() - start)
        if resp.will_close:
            self.close()
        return r, "ok"


def connection_refused(port: int) -> bool:
    """True when a TCP connect to 127.0.0.1:PORT is refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- the server

class Server:
    def __init__(self, name: str, env_overrides: dict[str, str]):
        self.name = name
        self.port = free_port()
        tmp = Path(_env("RELIABILITY_TMP"))
        (tmp / "logs").mkdir(exist_ok=True)
        (tmp / "pids").mkdir(exist_ok=True)
        self.log_path = tmp / "logs" / f"{name}-{self.port}.log"
        self._pid_dir = tmp / "pids"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "PGSERVICE", "PGPASSWORD", "PGOPTIONS")}
        self.env.update({
            # The server logs in as jobs_api_server (a member of jobs_api_app only), never as the
            # owner: PGUSER=postgres is only what the admin commands use.
            "APP_DATABASE_URL": "user=jobs_api_server",
            "PGUSER": "postgres", "HOST": "127.0.0.1", "PORT": str(self.port), "LOG_LEVEL": "info",
            "MIGRATIONS_DIR": os.environ.get("MIGRATIONS_DIR", ""),
        })
        self.env.update({k: str(v) for k, v in env_overrides.items()})
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, ready_timeout: float = 20.0) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([_env("JOBS_API_BIN"), "serve"], env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, cwd="/")
        finally:
            log.close()
        (self._pid_dir / f"{self.proc.pid}").write_text(str(self.proc.pid))
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float = 20.0) -> float:
        start = time.monotonic()
        deadline = start + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name}: jobs-api serve exited with {self.proc.returncode} "
                                     f"before it was ready; log:\n{self.log_tail()}")
            try:
                r = http_request(self.port, "GET", "/readyz", timeout=2)
                if r.status == 200:
                    return time.monotonic() - start
                last = r
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: /readyz not 200 within {timeout}s (last: {last}); log:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            (self._pid_dir / f"{self.proc.pid}").unlink()
        except FileNotFoundError:
            pass

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    # Convenience wrappers
    def request(self, method, path, **kw) -> Response:
        return http_request(self.port, method, path, **kw)


@pytest.fixture
def server_factory():
    servers: list[Server] = []

    def make(name: str, start: bool = True, **env) -> Server:
        s = Server(name, env)
        servers.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in servers:
        s.kill()


# --------------------------------------------------------------------------- PostgreSQL

def _as_pg_owner(cmd: list[str]) -> list[str]:
    user = os.environ.get("RELIABILITY_PG_CTL_USER", "")
    if os.geteuid() == 0 and user and user != "root":
        return ["runuser", "-u", user, "--"] + cmd
    return cmd


def pg_ctl(*args: str, timeout: float = 40) -> subprocess.CompletedProcess:
    cmd = _as_pg_owner([os.path.join(_env("RELIABILITY_PG_BIN"), "pg_ctl"), "-D", _env("RELIABILITY_PG_DATA"), *args])
    return subprocess.run(cmd, cwd="/", capture_output=True, text=True, timeout=timeout)


def pg_running() -> bool:
    return pg_ctl("status", timeout=10).returncode == 0


def pg_stop() -> None:
    r = pg_ctl("-m", "fast", "-w", "-t", "30", "stop")
    assert r.returncode == 0, f"pg_ctl stop failed: {r.stdout}{r.stderr}"


def pg_start() -> None:
    r = pg_ctl("-l", os.environ.get("RELIABILITY_PG_LOG", "/dev/null"), "-w", "-t", "30",
               "-o", _env("RELIABILITY_PG_OPTS"), "start")
    assert r.returncode == 0, f"pg_ctl start failed: {r.stdout}{r.stderr}"


def psql(sql: str, timeout: float = 20) -> str:
    """Run SQL as the postgres superuser; returns unaligned, tuples-only output."""
    r = subprocess.run([_env("RELIABILITY_PSQL"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"psql failed: {r.stderr}"
    return r.stdout.strip()


class BudgetExceeded(Exception):
    pass


def pytest_configure(config):
    config.addinivalue_line("markers", "budget(seconds): wall-clock budget of one test (default 60)")


@pytest.fixture(autouse=True)
def time_budget(request):
    """Fails a test that runs past its budget (SIGALRM in the main thread; default 60 s)."""
    marker = request.node.get_closest_marker("budget")
    seconds = int(marker.args[0]) if marker else 60

    def on_alarm(signum, frame):
        raise BudgetExceeded(f"{request.node.name} ran past its {seconds}s budget")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def postgres_running():
    """Every test starts and ends with the cluster up (a test that stops it may fail midway)."""
    if not pg_running():
        pg_start()
    yield
    if not pg_running():
        pg_start()


class TableLock:
    """Holds `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in an open psql transaction.

    A server-side idle_in_transaction_session_timeout releases it even if the test dies.
    """

    def __init__(self, table: str = "jobs", safety_timeout_s: int = 30):
        self.proc = subprocess.Popen(
            [_env("RELIABILITY_PSQL"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.proc.stdin.write(
            f"SET idle_in_transaction_session_timeout = '{safety_timeout_s}s';\n"
            f"BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n")
        self.proc.stdin.flush()
        line = _readline_with_timeout(self.proc.stdout, 15)
        if line.strip() != "locked":
            self.proc.kill()
            raise AssertionError(f"could not lock {table}: {line!r}")

    def release(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("ROLLBACK;\n\\q\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _readline_with_timeout(stream, timeout: float) -> str:
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else ""


# --------------------------------------------------------------------------- admin CLI and API

def cli(*args: str, timeout: float = 30) -> str:
    """Run a `jobs-api` admin command against the test database; returns stdout (stripped)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["PGUSER"] = "postgres"
    r = subprocess.run([_env("JOBS_API_BIN"), *args], env=env, capture_output=True, text=True, timeout=timeout,
                       cwd="/")
    assert r.returncode == 0, f"jobs-api {' '.join(args[:2])} failed: {r.stderr.strip()}"
    return r.stdout.strip()


@pytest.fixture(scope="session")
def org() -> str:
    return _env("RELIABILITY_ORG")


@pytest.fixture(scope="session")
def owner_key() -> str:
    return _env("RELIABILITY_OWNER_KEY")


def create_job(server: Server, token: str, total_items: int = 1_000_000, job_type: str = "reliability") -> str:
    r = server.request("POST", "/api/jobs/", body={"job_type": job_type, "total_items": total_items}, token=token)
    assert r.status == 201, f"create job: {r}"
    return r.json()["job_id"]


def assert_503_shape(r: Response, where: str = "") -> None:
    assert r.status == 503, f"{where}: expected 503, got {r}"
    assert r.headers.get("retry-after"), f"{where}: 503 without Retry-After: {r.headers}"
    try:
        body = r.json()
    except ValueError:
        raise AssertionError(f"{where}: 503 body is not JSON: {r.body[:200]!r}")
    assert isinstance(body, dict) and isinstance(body.get("detail"), str), f"{where}: 503 body lacks detail: {body}"


FORBIDDEN_IN_ERROR_BODIES = ["SELECT", "INSERT", "postgres", "/tmp/", "Traceback"]


def leaked_internals(body: str) -> list[str]:
    """The forbidden substrings (SQL, paths, stack traces, hostname) found in an error body."""
    found = [s for s in FORBIDDEN_IN_ERROR_BODIES if s in body]
    if "postgres" not in found and "postgres" in body.lower():
        found.append("postgres (any case)")
    host = socket.gethostname()
    if host and len(host) >= 4 and host.lower() not in ("localhost",) and host.lower() in body.lower():
        found.append(f"hostname {host}")
    return found


def run_threads(target, n: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def join_all(threads, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    assert not alive, f"{len(alive)} load thread(s) still running after {timeout}s"


SIGKILL = signal.SIGKILL
SIGTERM = signal.SIGTERM
