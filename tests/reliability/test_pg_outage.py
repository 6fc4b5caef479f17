"""(b) PostgreSQL stopped under load: the server answers 503 + Retry-After + {"detail"} within
DB_POOL_TIMEOUT_MS + 2 s, /healthz stays 200, /readyz is 503; after PostgreSQL comes back the
server serves 200 again within 5 s without a restart, and holds no more connections than its
pool size."""

import threading
import time

from conftest import (KeepAliveClient, assert_503_shape, create_job, join_all, leaked_internals,
                      pg_start, pg_stop, psql, record_result, run_threads)

POOL_SIZE = 4
POOL_TIMEOUT_MS = 2000
THREADS = 4
MAX_ANSWER_S = POOL_TIMEOUT_MS / 1000 + 2
RECOVERY_LIMIT_S = 5.0


def test_postgres_stopped_during_load(server_factory, owner_key):
    server = server_factory("pg-outage", DB_POOL_SIZE=POOL_SIZE, DB_POOL_TIMEOUT_MS=POOL_TIMEOUT_MS)
    job = create_job(server, owner_key)

    lock = threading.Lock()
    log = []  # (phase, outcome, response or None, elapsed)
    phase = {"name": "before"}
    stop = threading.Event()

    def worker(i):
        client = KeepAliveClient(server.port, owner_key, timeout=10)
        n, deadline = 0, time.monotonic() + 40
        while not stop.is_set() and n < 50_000 and time.monotonic() < deadline:
            n += 1
            if n % 2:
                method, path, body = "POST", f"/api/jobs/{job}/progress", {"processed_items_delta": 1}
            else:
                method, path, body = "GET", f"/api/jobs/{job}", None
            start = time.monotonic()
            resp, outcome = client.send(method, path, body)
            elapsed = time.monotonic() - start
            with lock:
                log.append((phase["name"], outcome, resp, elapsed))
            if resp is None or resp.status != 200:
                time.sleep(0.05)
        client.close()

    threads = run_threads(worker, THREADS)
    try:
        time.sleep(1.0)
        phase["name"] = "stopping"
        pg_stop()
        phase["name"] = "down"
        time.sleep(0.5)

        # While the database is down: liveness yes, readiness no.
        health = server.request("GET", "/healthz", timeout=5)
        ready = server.request("GET", "/readyz", timeout=MAX_ANSWER_S + 5)
        direct = server.request("GET", f"/api/jobs/{job}", token=owner_key, timeout=MAX_ANSWER_S + 5)
        time.sleep(3.0)  # keep the load going against the dead database
        assert server.alive(), f"server died while the database was down:\n{server.log_tail()}"

        phase["name"] = "starting"
        pg_start()
        phase["name"] = "recovering"
        t0 = time.monotonic()
        recovered_after = None
        while time.monotonic() - t0 < RECOVERY_LIMIT_S + 5:
            try:
                r = server.request("GET", f"/api/jobs/{job}", token=owner_key, timeout=MAX_ANSWER_S + 2)
                if r.status == 200:
                    recovered_after = time.monotonic() - t0
                    break
            except OSError:
                pass
            time.sleep(0.1)
        phase["name"] = "after"
        time.sleep(1.0)
    finally:
        stop.set()
        join_all(threads, 20)

    # Connections: after the recovery and the load, no more than the pool size.
    time.sleep(0.3)
    backends = int(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'jobs-api'"))

    down = [e for e in log if e[0] in ("down",)]
    down_statuses = {}
    for _, outcome, resp, _ in down:
        key = resp.status if resp is not None else outcome
        down_statuses[str(key)] = down_statuses.get(str(key), 0) + 1
    by_phase = {}
    for p, outcome, resp, _ in log:
        key = str(resp.status if resp is not None else outcome)
        by_phase.setdefault(p, {}).setdefault(key, 0)
        by_phase[p][key] += 1
    network_errors = [(p, o) for p, o, resp, _ in log if resp is None]
    bad_shape, leaks = [], []
    for p, _, resp, _ in log:
        if resp is not None and resp.status != 200:
            try:
                assert_503_shape(resp, p)
            except AssertionError as e:
                bad_shape.append(str(e))
            leaks += leaked_internals(resp.text)
    slowest = max((e[3] for e in log), default=0.0)
    after_ok = sum(1 for p, _, resp, _ in log if p == "after" and resp is not None and resp.status == 200)

    figures = {
        "pool_size": POOL_SIZE, "pool_timeout_ms": POOL_TIMEOUT_MS, "requests": len(log),
        "statuses_while_down": down_statuses, "statuses_by_phase": by_phase, "network_errors": len(network_errors),
        "slowest_answer_seconds": round(slowest, 3),
        "healthz_while_down": health.status, "readyz_while_down": ready.status,
        "api_while_down": direct.status, "api_while_down_seconds": round(direct.elapsed, 3),
        "recovery_seconds_after_pg_start": None if recovered_after is None else round(recovered_after, 3),
        "ok_after_recovery": after_ok, "backends_after": backends,
        "server_restarts": server.starts - 1,
    }
    record_result("postgres_stopped_during_load", figures)

    assert health.status == 200, f"/healthz while the database is down: {health}"
    assert ready.status == 503, f"/readyz while the database is down: {ready}"
    assert_503_shape(ready, "/readyz")
    assert_503_shape(direct, "GET /api/jobs/{id} while the database is down")
    assert down, "no request was made while the database was down"
    assert set(down_statuses) == {"503"}, f"answers while the database was down: {down_statuses}"
    assert not network_errors, f"requests without an HTTP answer: {network_errors[:10]}"
    assert not bad_shape, "\n".join(bad_shape[:10])
    assert not leaks, f"503 bodies leak internals: {sorted(set(leaks))}"
    assert slowest <= MAX_ANSWER_S, f"an answer took {slowest:.2f}s (> {MAX_ANSWER_S}s)"
    assert recovered_after is not None and recovered_after <= RECOVERY_LIMIT_S, \
        f"not serving 200 within {RECOVERY_LIMIT_S}s of PostgreSQL's restart (after {recovered_after})"
    assert after_ok > 0, "the load got no 200 after the recovery"
    assert backends <= POOL_SIZE, f"{backends} connections named jobs-api > pool size {POOL_SIZE}"
    assert server.alive() and server.starts == 1
