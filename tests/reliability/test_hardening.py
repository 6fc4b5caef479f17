"""Hardening checks that need the real binary over real sockets (issue: hardening).

- A chunked body past 1 MiB is a 413 on every route that reads a body, whatever the framing.
"""

import http.client
import json

from conftest import create_job


def _chunked_post(port: int, path: str, token: str, payload: bytes, chunk: int = 64 * 1024):
    """POST `payload` with Transfer-Encoding: chunked (no Content-Length)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        def chunks():
            for i in range(0, len(payload), chunk):
                yield payload[i:i + chunk]
        conn.request("POST", path, body=chunks(), encode_chunked=True,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                              "Transfer-Encoding": "chunked", "Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (BrokenPipeError, ConnectionResetError):
        # The server may answer 413 and close before the whole body was written.
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_chunked_body_over_one_mib_is_413_on_every_body_route(server_factory, owner_key):
    server = server_factory("chunked")
    job = create_job(server, owner_key)
    big = json.dumps({"message": "x" * (1024 * 1024 + 100 * 1024)}).encode()  # 1.1 MiB
    for path in ["/api/jobs/", f"/api/jobs/{job}/progress", f"/api/jobs/{job}/cancel"]:
        status, body = _chunked_post(server.port, path, owner_key, big)
        assert status == 413, f"{path}: {status} {body[:200]!r}"
        assert json.loads(body)["detail"], body
    # A chunked body under the limit still works.
    status, body = _chunked_post(server.port, f"/api/jobs/{job}/progress", owner_key,
                                 json.dumps({"message": "y" * 5000}).encode(), chunk=1000)
    assert status == 200, body[:200]
    assert "NIOTooManyBytesError" not in server.log_text()
