"""Live events cross instances: a stream on instance 1 hears writes made on instance 2.

Instance 2 publishes with `pg_notify` through its pool (PgBouncer); instance 1 hears it on its
LISTEN connection, which goes straight to PostgreSQL (LISTEN_DATABASE_URL): through PgBouncer in
transaction-pooling mode it would hear nothing.
"""

from __future__ import annotations

import requests

from conftest import TIMEOUT, SSEReader, auth, create_job


def test_job_stream_on_one_instance_sees_writes_on_the_other(api1, api2, key):
    job_id = create_job(api2, key, total_items=100, job_type="cluster-live")["job_id"]
    stream = SSEReader(f"{api1}/api/jobs/{job_id}/events", key)
    try:
        first = stream.wait_for(lambda d: d.get("job_id") == job_id, timeout=10)
        assert first is not None and first["status"] == "pending" and first["processed_items"] == 0

        r = requests.post(f"{api2}/api/jobs/{job_id}/progress",
                          json={"mark_started": True, "processed_items_delta": 40, "message": "from instance 2"},
                          headers=auth(key), timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        seen = stream.wait_for(lambda d: d.get("processed_items") == 40, timeout=10)
        assert seen is not None, f"instance 1 never streamed the change made on instance 2: {stream.events}"
        assert seen["status"] == "in_progress" and seen["metadata"]["last_message"] == "from instance 2"

        r = requests.post(f"{api2}/api/jobs/{job_id}/progress",
                          json={"processed_items_delta": 60, "mark_completed": True},
                          headers=auth(key), timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        done = stream.wait_for(lambda d: d.get("status") == "completed", timeout=10)
        assert done is not None, stream.events
        assert done["processed_items"] == 100 and done["progress_percentage"] == 100.0
        # The stream ends after the terminal state.
        stream.thread.join(10)
        assert not stream.thread.is_alive()
        assert [e for e, _ in stream.events] == ["job"] * len(stream.events)
    finally:
        stream.close()


def test_organization_stream_through_the_load_balancer(lb, api1, api2, key):
    """The organization's stream, opened through haproxy (on either instance), sees jobs created
    on each instance."""
    stream = SSEReader(f"{lb}/api/jobs/events?job_type=cluster-org-live", key)
    try:
        assert stream.wait_for(lambda d: "organization_id" in d, timeout=10) is not None
        for base in (api1, api2):  # one of them is the stream's instance, the other is not
            job_id = create_job(base, key, total_items=3, job_type="cluster-org-live")["job_id"]
            got = stream.wait_for(lambda d, j=job_id: d.get("job_id") == j, timeout=10)
            assert got is not None, stream.events
            assert got["status"] == "pending" and got["job_type"] == "cluster-org-live"
    finally:
        stream.close()
