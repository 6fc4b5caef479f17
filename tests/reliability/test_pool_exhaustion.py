"""(c) Pool exhaustion: with DB_POOL_SIZE=2 and both connections stuck behind a table lock, the
other requests get 503 + Retry-After after about DB_POOL_TIMEOUT_MS (never much later); once
the lock is released the server serves 200 again."""

import threading
import time

from conftest import (TableLock, assert_503_shape, create_job, http_request, leaked_internals,
                      record_result)

POOL_SIZE = 2
POOL_TIMEOUT_MS = 1000
CONCURRENT = 10
HOLD_S = POOL_TIMEOUT_MS / 1000 + 1.0   # the lock is released this long after the burst starts
MAX_ANSWER_S = POOL_TIMEOUT_MS / 1000 + 2


def test_pool_exhaustion(server_factory, owner_key):
    server = server_factory("pool", DB_POOL_SIZE=POOL_SIZE, DB_POOL_TIMEOUT_MS=POOL_TIMEOUT_MS)
    job = create_job(server, owner_key)
    warm = server.request("GET", f"/api/jobs/{job}", token=owner_key)  # authentication now cached
    assert warm.status == 200, warm

    results = [None] * CONCURRENT
    barrier = threading.Barrier(CONCURRENT + 1, timeout=10)

    def one(i):
        barrier.wait()
        start = time.monotonic()
        try:
            results[i] = http_request(server.port, "GET", f"/api/jobs/{job}", token=owner_key, timeout=10)
        except OSError as e:
            results[i] = e
        if not isinstance(results[i], Exception):
            results[i].elapsed = time.monotonic() - start

    lock = TableLock("jobs")
    try:
        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(CONCURRENT)]
        for t in threads:
            t.start()
        barrier.wait()
        burst_start = time.monotonic()
        time.sleep(HOLD_S)
    finally:
        lock.release()
    released_at = time.monotonic() - burst_start
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads), "a request never finished"

    # After the release: 200 again, promptly.
    t0 = time.monotonic()
    after = None
    for _ in range(50):
        after = server.request("GET", f"/api/jobs/{job}", token=owner_key, timeout=5)
        if after.status == 200:
            break
        time.sleep(0.1)
    recovered_s = time.monotonic() - t0

    errors = [r for r in results if isinstance(r, Exception)]
    answers = [r for r in results if not isinstance(r, Exception)]
    n503 = [r for r in answers if r.status == 503]
    n200 = [r for r in answers if r.status == 200]
    others = [r for r in answers if r.status not in (200, 503)]
    figures = {
        "pool_size": POOL_SIZE, "pool_timeout_ms": POOL_TIMEOUT_MS, "concurrent_requests": CONCURRENT,
        "lock_released_after_seconds": round(released_at, 3),
        "answered_503": len(n503), "answered_200": len(n200), "other": [repr(r) for r in others],
        "network_errors": [repr(e) for e in errors],
        "latency_503_seconds": sorted(round(r.elapsed, 3) for r in n503),
        "latency_200_seconds": sorted(round(r.elapsed, 3) for r in n200),
        "status_after_release": after.status, "seconds_to_200_after_release": round(recovered_s, 3),
    }
    record_result("pool_exhaustion", figures)

    assert not errors, f"requests without an HTTP answer: {errors}"
    assert not others, f"unexpected answers: {others}"
    assert len(n503) >= CONCURRENT - POOL_SIZE, f"expected >= {CONCURRENT - POOL_SIZE} 503s, got {len(n503)}"
    for r in n503:
        assert_503_shape(r, "pool exhausted")
        assert not leaked_internals(r.text), r.text
        assert POOL_TIMEOUT_MS / 1000 - 0.2 <= r.elapsed <= MAX_ANSWER_S, \
            f"503 after {r.elapsed:.2f}s (pool timeout {POOL_TIMEOUT_MS} ms)"
    for r in answers:
        assert r.elapsed <= MAX_ANSWER_S, f"an answer took {r.elapsed:.2f}s (> {MAX_ANSWER_S}s)"
    assert after.status == 200, f"not serving again after the lock was released: {after}"
    assert recovered_s < 2.0
