"""Live event streams against the real binary: SIGTERM ends open streams at once, cleanly (the
chunked body's last chunk is sent), so the drain does not wait for them."""

import socket
import time

from conftest import SIGTERM, create_job

GRACE_S = 10


def open_stream(port: int, token: str, path: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
              f"Accept: text/event-stream\r\n\r\n".encode())
    return s


def read_until(s: socket.socket, marker: bytes, timeout: float) -> bytes:
    s.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_sigterm_ends_open_streams_within_the_drain(server_factory, owner_key):
    server = server_factory("live-sigterm", SHUTDOWN_GRACE_SECONDS=GRACE_S)
    job = create_job(server, owner_key)
    streams = [open_stream(server.port, owner_key, f"/api/jobs/{job}/events") for _ in range(5)]
    streams += [open_stream(server.port, owner_key, "/api/jobs/events") for _ in range(5)]
    for s in streams:
        head = read_until(s, b"event: ", 10)
        assert b" 200 " in head.split(b"\r\n", 1)[0], head[:200]
        assert b"text/event-stream" in head, head[:400]
    sent = time.monotonic()
    server.signal(SIGTERM)
    for s in streams:
        rest = read_until(s, b"\r\n0\r\n\r\n", GRACE_S)  # the chunked body's last chunk
        assert b"0\r\n\r\n" in rest, f"stream not ended cleanly after SIGTERM: {rest[-200:]!r}"
        s.close()
    ended = time.monotonic() - sent
    assert ended < 3, f"streams ended {ended:.2f}s after SIGTERM: the drain waited for them"
    code = server.wait_exit(GRACE_S + 3)
    assert code == 0, f"exit code {code} after SIGTERM:\n{server.log_tail()}"
    assert time.monotonic() - sent < 5, "the process waited for its streams instead of ending them"
