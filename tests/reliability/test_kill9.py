"""(a) SIGKILL the server in the middle of a progress-update load; after a restart every job's
counters are consistent: nothing acknowledged is lost, nothing unsent appears, and the error
counter matches the rows of the events table (no half-applied request)."""

import random
import re
import threading
import time

from conftest import (KeepAliveClient, SIGKILL, create_job, join_all, psql, record_result,
                      run_threads)

THREADS = 8
JOBS = 3
LOAD_BEFORE_KILL = 3.0   # seconds of load before the SIGKILL
LOAD_AFTER_KILL = 1.0    # the load goes on against the dead server for this long


def error_rows(server, token, job_id):
    """Every error of JOB_ID through GET /errors paging (limit=1000, next_cursor)."""
    rows, cursor = [], None
    for _ in range(1000):  # bounded: at most 1,000,000 rows
        path = f"/api/jobs/{job_id}/errors?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        r = server.request("GET", path, token=token)
        assert r.status == 200, f"errors page: {r}"
        page = r.json()
        rows.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return rows
    raise AssertionError("errors paging did not end")


def test_kill9_during_load(server_factory, owner_key):
    server = server_factory("kill9", DB_POOL_SIZE=8)
    jobs = [create_job(server, owner_key) for _ in range(JOBS)]

    lock = threading.Lock()
    sent = {j: {"delta": 0, "error": 0} for j in jobs}
    acked = {j: {"delta": 0, "error": 0} for j in jobs}
    other_status = {}
    stop = threading.Event()

    def worker(i):
        rnd = random.Random(i)
        client = KeepAliveClient(server.port, owner_key, timeout=10)
        n, deadline = 0, time.monotonic() + 30
        while not stop.is_set() and n < 100_000 and time.monotonic() < deadline:
            n += 1
            job = jobs[rnd.randrange(JOBS)]
            kind = "error" if rnd.random() < 0.4 else "delta"
            if kind == "delta":
                body = {"processed_items_delta": 1}
            else:
                body = {"error": {"entity_key": f"t{i}-{n}", "entity_type": "row", "error_type": "e", "message": "m"}}
            # Counted as sent once the connection is open (a refused connect sends nothing).
            resp, outcome = client.send("POST", f"/api/jobs/{job}/progress", body)
            with lock:
                if outcome != "not_sent":
                    sent[job][kind] += 1
                if resp is not None and resp.status == 200:
                    acked[job][kind] += 1
                elif resp is not None:
                    other_status[resp.status] = other_status.get(resp.status, 0) + 1
            if outcome == "not_sent":
                time.sleep(0.05)
        client.close()

    threads = run_threads(worker, THREADS)
    try:
        time.sleep(LOAD_BEFORE_KILL)
        with lock:
            acked_at_kill = sum(a["delta"] + a["error"] for a in acked.values())
        server.signal(SIGKILL)
        assert server.wait_exit(10) is not None, "server survived SIGKILL?"
        time.sleep(LOAD_AFTER_KILL)
    finally:
        stop.set()
    join_all(threads, 15)

    assert acked_at_kill > 50, f"too little load before the kill: {acked_at_kill} acknowledged"
    restart_s = time.monotonic()
    server.start()
    restart_s = time.monotonic() - restart_s

    figures = {"threads": THREADS, "load_seconds_before_kill": LOAD_BEFORE_KILL, "jobs": {},
               "restart_to_ready_seconds": round(restart_s, 3), "non_200_statuses": other_status}
    problems = []
    for job in jobs:
        r = server.request("GET", f"/api/jobs/{job}", token=owner_key)
        assert r.status == 200, r
        doc = r.json()
        rows = error_rows(server, owner_key, job)
        f = {
            "deltas_sent": sent[job]["delta"], "deltas_acknowledged": acked[job]["delta"],
            "processed_items_found": doc["processed_items"],
            "errors_sent": sent[job]["error"], "errors_acknowledged": acked[job]["error"],
            "error_count_found": doc["error_count"], "failed_items_found": doc["failed_items"],
            "error_rows_found": len(rows),
        }
        figures["jobs"][job] = f
        if not acked[job]["delta"] <= doc["processed_items"] <= sent[job]["delta"]:
            problems.append(f"{job}: processed_items {doc['processed_items']} outside "
                            f"[acknowledged {acked[job]['delta']}, sent {sent[job]['delta']}]")
        if not acked[job]["error"] <= doc["error_count"] <= sent[job]["error"]:
            problems.append(f"{job}: error_count {doc['error_count']} outside "
                            f"[acknowledged {acked[job]['error']}, sent {sent[job]['error']}]")
        if doc["error_count"] != len(rows):
            problems.append(f"{job}: error_count {doc['error_count']} != {len(rows)} rows in /errors")
        if doc["failed_items"] != doc["error_count"]:  # every error here is entity_type "row"
            problems.append(f"{job}: failed_items {doc['failed_items']} != error_count {doc['error_count']}")
        # The same, straight from the tables (as the superuser, past row-level security).
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job)
        db = psql(
            "SELECT j.error_count, j.stored_error_count, j.processed_items, "
            "(SELECT count(*) FROM job_events e WHERE e.organization_id = j.organization_id "
            " AND e.job_id = j.job_id AND e.kind = 'error'), "
            "(SELECT coalesce(max(seq), 0) FROM job_events e WHERE e.organization_id = j.organization_id "
            " AND e.job_id = j.job_id AND e.kind = 'error') "
            f"FROM jobs j WHERE j.job_id = '{job}'").split("|")
        db_error_count, db_stored, db_processed, db_rows, db_max_seq = (int(x) for x in db)
        f.update(db_error_count=db_error_count, db_event_rows=db_rows, db_max_seq=db_max_seq)
        if not (db_error_count == db_stored == db_rows == db_max_seq == doc["error_count"]
                and db_processed == doc["processed_items"]):
            problems.append(f"{job}: database disagrees: error_count {db_error_count}, stored {db_stored}, "
                            f"event rows {db_rows}, max seq {db_max_seq}, processed {db_processed}; API {doc}")
        keys = [row["entity_key"] for row in rows]
        if len(set(keys)) != len(keys):
            problems.append(f"{job}: duplicate error rows (a request applied twice)")

    totals = {k: sum(f[k] for f in figures["jobs"].values()) for k in next(iter(figures["jobs"].values()))}
    figures["totals"] = totals
    figures["in_doubt_deltas"] = totals["deltas_sent"] - totals["deltas_acknowledged"]
    figures["in_doubt_errors"] = totals["errors_sent"] - totals["errors_acknowledged"]
    figures["passed"] = not problems
    record_result("kill9_during_load", figures)
    assert not other_status, f"statuses other than 200 during the load: {other_status}"
    assert not problems, "\n".join(problems)
