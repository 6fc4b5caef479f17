"""The progress writer across instances: concurrent increments to one job, half through each
instance, lose nothing (each instance coalesces its own queue; the row lock orders the two)."""

from __future__ import annotations

import random
import threading

import requests

from conftest import TIMEOUT, auth, create_job, get_job

THREADS = 16
REPORTS_PER_THREAD = 25


def test_concurrent_increments_on_both_instances_add_up(api1, api2, key):
    job_id = create_job(api1, key)["job_id"]
    acked = [0] * THREADS
    statuses: list[list[int]] = [[] for _ in range(THREADS)]

    def worker(i: int) -> None:
        base = api1 if i % 2 == 0 else api2
        rnd = random.Random(i)
        with requests.Session() as s:
            s.headers.update(auth(key))
            for _ in range(REPORTS_PER_THREAD):
                delta = rnd.randint(1, 9)
                try:
                    r = s.post(f"{base}/api/jobs/{job_id}/progress", json={"processed_items_delta": delta},
                               timeout=TIMEOUT)
                except requests.RequestException:
                    statuses[i].append(-1)
                    continue
                statuses[i].append(r.status_code)
                if 200 <= r.status_code < 300:
                    acked[i] += delta

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "load threads still running"

    all_statuses = [c for per in statuses for c in per]
    assert all_statuses.count(200) == THREADS * REPORTS_PER_THREAD, sorted(set(all_statuses))
    # Read on each instance: both see the same committed total.
    for base in (api1, api2):
        assert get_job(base, key, job_id)["processed_items"] == sum(acked)
