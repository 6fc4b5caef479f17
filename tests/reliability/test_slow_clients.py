"""(d) Slow and stalled clients: with REQUEST_TIMEOUT_SECONDS=2 (a request body must arrive
completely within it, else 408 and close) and IDLE_TIMEOUT_SECONDS=2 (a connection that sends
nothing is closed), a slow-body POST (1 byte/s) and a silent connection are closed by the server
within timeout + 2 s, while normal clients keep getting 200 in under 1 s."""

import socket
import threading
import time

from conftest import create_job, http_request, record_result

TIMEOUT_S = 2
CLOSE_LIMIT_S = TIMEOUT_S + 2
WATCH_S = CLOSE_LIMIT_S + 4      # how long the test waits for the server to close them
NORMAL_LATENCY_LIMIT_S = 1.5  # a blocked server would take the full 2 s timeout


def watch_socket(sock: socket.socket, t_connect: float, slow_body: bool, stop: threading.Event, out: dict):
    """Feed the slow body (1 byte/s) and wait for EOF / a response / a reset, up to WATCH_S."""
    received = b""
    sent_bytes = 0
    next_byte = time.monotonic() + 1.0
    sock.settimeout(0.2)
    while not stop.is_set() and time.monotonic() - t_connect < WATCH_S:
        if slow_body and time.monotonic() >= next_byte and sent_bytes < 100:
            try:
                sock.sendall(b" ")
                sent_bytes += 1
            except OSError as e:
                out.update(closed_after=time.monotonic() - t_connect, how=f"send failed: {e!r}")
                break
            next_byte += 1.0
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        except OSError as e:
            out.update(closed_after=time.monotonic() - t_connect, how=f"reset: {e!r}")
            break
        if not chunk:
            out.update(closed_after=time.monotonic() - t_connect, how="EOF")
            break
        if not received:
            out["response_after"] = time.monotonic() - t_connect
        received += chunk
        # A response arrived (e.g. 408); keep reading until EOF to see the close.
    out["received"] = received.decode("latin-1")[:300]
    out["body_bytes_sent"] = sent_bytes
    try:
        sock.close()
    except OSError:
        pass


def _ended_after(out: dict):
    """When the server ended the connection: EOF/reset, or a response (e.g. 408), whichever first."""
    times = [out[k] for k in ("closed_after", "response_after") if k in out]
    return min(times) if times else None


def test_slow_and_stalled_clients(server_factory, owner_key):
    server = server_factory("slow", REQUEST_TIMEOUT_SECONDS=TIMEOUT_S, IDLE_TIMEOUT_SECONDS=TIMEOUT_S)
    job = create_job(server, owner_key)
    stop = threading.Event()

    slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    t_slow = time.monotonic()
    slow.sendall((
        "POST /api/jobs/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {owner_key}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 100\r\n"
        "\r\n").encode())
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    t_idle = time.monotonic()

    slow_out, idle_out = {}, {}
    watchers = [
        threading.Thread(target=watch_socket, args=(slow, t_slow, True, stop, slow_out), daemon=True),
        threading.Thread(target=watch_socket, args=(idle, t_idle, False, stop, idle_out), daemon=True),
    ]
    for w in watchers:
        w.start()

    # Normal clients meanwhile.
    latencies, failures = [], []
    t_end = time.monotonic() + WATCH_S
    while time.monotonic() < t_end and any(w.is_alive() for w in watchers):
        try:
            r = http_request(server.port, "GET", f"/api/jobs/{job}", token=owner_key, timeout=5)
            latencies.append(r.elapsed)
            if r.status != 200:
                failures.append(repr(r))
        except OSError as e:
            failures.append(repr(e))
        time.sleep(0.2)
    stop.set()
    for w in watchers:
        w.join(5)

    figures = {
        "request_timeout_seconds": TIMEOUT_S, "idle_timeout_seconds": TIMEOUT_S,
        "slow_body_closed_after_seconds": round(slow_out["closed_after"], 3) if "closed_after" in slow_out else None,
        "slow_body_response_after_seconds":
            round(slow_out["response_after"], 3) if "response_after" in slow_out else None,
        "slow_body_how": slow_out.get("how"), "slow_body_response": slow_out.get("received", "")[:120],
        "slow_body_bytes_sent": slow_out.get("body_bytes_sent"),
        "idle_closed_after_seconds": round(idle_out["closed_after"], 3) if "closed_after" in idle_out else None,
        "idle_how": idle_out.get("how"),
        "normal_requests": len(latencies), "normal_failures": failures[:5],
        "normal_max_latency_seconds": round(max(latencies, default=0), 3),
    }
    record_result("slow_and_stalled_clients", figures)

    assert latencies, "no normal request was made"
    assert not failures, f"normal clients failed while slow clients were connected: {failures[:5]}"
    assert max(latencies) < NORMAL_LATENCY_LIMIT_S, f"a normal request took {max(latencies):.2f}s"
    problems = []
    slow_end, idle_end = _ended_after(slow_out), _ended_after(idle_out)
    if slow_end is None or slow_end > CLOSE_LIMIT_S:
        problems.append(
            f"slow-body POST (1 byte/s of a 100-byte body) not answered or closed within {CLOSE_LIMIT_S}s "
            f"(watched {WATCH_S}s; ended after {slow_end}): "
            "REQUEST_TIMEOUT_SECONDS is not enforced")
    elif slow_out.get("received") and " 408 " not in slow_out["received"].split("\r\n", 1)[0]:
        problems.append(f"slow-body POST got a response other than 408: {slow_out['received'][:120]!r}")
    if idle_end is None or idle_end > CLOSE_LIMIT_S:
        problems.append(
            f"silent connection not closed within {CLOSE_LIMIT_S}s (watched {WATCH_S}s; ended after "
            f"{idle_end}): IDLE_TIMEOUT_SECONDS is not enforced")
    assert not problems, "\n".join(problems)
