#!/usr/bin/env python3
"""Live events: the cost of many open streams and the fan-out delay (run by scripts/live-bench).

Starts two `jobs-api serve` instances (A and B) on the database the environment points at, then:
1. opens LIVE_STREAMS job streams on A to one job and measures A's RSS before and after;
2. baseline: LIVE_WRITES progress writes to another job nobody watches (A's CPU per write);
3. fan-out on one instance: the same writes to the watched job; every subscriber timestamps each
   event; delay = arrival - the moment the write was sent; A's CPU per delivered event =
   (CPU of the watched writes - CPU of the baseline writes) / events delivered;
4. across instances: LIVE_STREAMS streams on B to a third job, the writes go to A (NOTIFY, B reads);
5. idle: A's CPU over LIVE_IDLE_SECONDS with all streams open (heartbeats).
Prints one JSON object. Every delay includes this Python client's own scheduling on the same
2-core machine, so it is an upper bound of the server's.
"""
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

BIN = os.environ["JOBS_API_BIN"]
KEY = os.environ["LIVE_KEY"]
STREAMS = int(os.environ.get("LIVE_STREAMS", "1000"))
WRITES = int(os.environ.get("LIVE_WRITES", "100"))
RATE = float(os.environ.get("LIVE_WRITES_PER_SECOND", "5"))
IDLE = float(os.environ.get("LIVE_IDLE_SECONDS", "16"))
TICK = os.sysconf("SC_CLK_TCK")
PROCESSED = re.compile(rb'"processed_items":(\d+)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(name: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="warning",
               APP_DATABASE_URL="user=jobs_api_server", SSE_MAX_STREAMS=str(STREAMS * 3),
               SSE_MAX_STREAMS_PER_ORG=str(STREAMS * 3))
    log = open(os.path.join(os.environ.get("LIVE_TMP", "/tmp"), f"live-{name}.log"), "ab")
    proc = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc, port
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"server {name} did not become ready")


def call(port: int, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Stream:
    """One SSE connection; records (processed_items, arrival time) of each job event."""

    def __init__(self):
        self.arrivals: list[tuple[int, float]] = []
        self.first = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.writer = None

    async def run(self, port: int, path: str):
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
                          f"Accept: text/event-stream\r\n\r\n".encode())
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        chunked = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
                chunked = True
        pending = b""
        while True:
            if chunked:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    return
                data = await reader.readexactly(size)
                await reader.readline()
            else:
                data = await reader.read(65536)
                if not data:
                    return
            now = time.monotonic()
            pending += data
            while b"\n\n" in pending:
                frame, pending = pending.split(b"\n\n", 1)
                match = PROCESSED.search(frame)
                if match and frame.startswith(b"event: job"):
                    self.arrivals.append((int(match.group(1)), now))
                    self.first.set()

    def start(self, port: int, path: str):
        self.task = asyncio.create_task(self.run(port, path))

    def close(self):
        if self.writer:
            self.writer.close()
        if self.task:
            self.task.cancel()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def open_streams(port: int, job: str, count: int) -> list[Stream]:
    streams = []
    for i in range(count):
        s = Stream()
        s.start(port, f"/api/jobs/{job}/events")
        streams.append(s)
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(s.first.wait() for s in streams)), timeout=120)
    return streams


async def writes(port: int, job: str, start_at: int) -> dict[int, float]:
    """WRITES progress reports at RATE per second; returns processed_items → send time."""
    sent: dict[int, float] = {}
    loop = asyncio.get_running_loop()
    for i in range(WRITES):
        value = start_at + i + 1
        sent[value] = time.monotonic()
        await loop.run_in_executor(None, call, port, "POST", f"/api/jobs/{job}/progress", {"processed_items": value})
        await asyncio.sleep(1 / RATE)
    await asyncio.sleep(1.0)
    return sent


def delays(streams: list[Stream], sent: dict[int, float]) -> tuple[list[float], int, dict]:
    """Every (subscriber, write) delay in ms, the events expected, and per write the delay to
    its first and to its last subscriber (the client reads the streams one after another, so
    the spread between them is mostly this client's own time)."""
    out = []
    per_write: dict[int, list[float]] = {}
    for s in streams:
        for value, at in s.arrivals:
            if value in sent:
                delay = (at - sent[value]) * 1000
                out.append(delay)
                per_write.setdefault(value, []).append(delay)
    firsts = [min(v) for v in per_write.values()]
    lasts = [max(v) for v in per_write.values()]
    spread = {"first_subscriber_ms_p50": round(percentile(firsts, 50), 2),
              "first_subscriber_ms_p99": round(percentile(firsts, 99), 2),
              "last_subscriber_ms_p50": round(percentile(lasts, 50), 2),
              "last_subscriber_ms_p99": round(percentile(lasts, 99), 2)}
    return out, len(sent) * len(streams), spread


async def main():
    a, port_a = start_server("a")
    b, port_b = start_server("b")
    result: dict = {"streams": STREAMS, "writes": WRITES, "writes_per_second": RATE}
    try:
        jobs = [call(port_a, "POST", "/api/jobs/", {"job_type": "live-bench", "total_items": 10_000_000})["job_id"]
                for _ in range(3)]
        for job in jobs:
            call(port_a, "POST", f"/api/jobs/{job}/progress", {"mark_started": True})
        watched, baseline, remote = jobs
        time.sleep(1)
        rss_before = rss_mb(a.pid)
        streams = await open_streams(port_a, watched, STREAMS)
        await asyncio.sleep(1)
        rss_after = rss_mb(a.pid)
        result["rss_mb_before"] = round(rss_before, 1)
        result["rss_mb_with_streams"] = round(rss_after, 1)
        result["kb_per_stream"] = round((rss_after - rss_before) * 1024 / STREAMS, 1)

        cpu0 = cpu_s(a.pid)
        await writes(port_a, baseline, 0)
        cpu_baseline = cpu_s(a.pid) - cpu0
        cpu1 = cpu_s(a.pid)
        sent = await writes(port_a, watched, 0)
        cpu_watched = cpu_s(a.pid) - cpu1
        local, expected, spread = delays(streams, sent)
        result["same_instance"] = {**spread,
            "events_expected": expected, "events_received": len(local),
            "delay_ms_p50": round(percentile(local, 50), 2), "delay_ms_p99": round(percentile(local, 99), 2),
            "delay_ms_max": round(max(local) if local else float("nan"), 2),
            "cpu_ms_per_write_unwatched": round(cpu_baseline * 1000 / WRITES, 3),
            "cpu_ms_per_write_watched": round(cpu_watched * 1000 / WRITES, 3),
            "cpu_us_per_event": round((cpu_watched - cpu_baseline) * 1e6 / max(1, len(local)), 2),
        }

        cpu_idle0 = cpu_s(a.pid)
        await asyncio.sleep(IDLE)
        result["idle_cpu_ms_per_second_with_streams"] = round((cpu_s(a.pid) - cpu_idle0) * 1000 / IDLE, 2)
        for s in streams:
            s.close()

        far = await open_streams(port_b, remote, STREAMS)
        cpu_b0 = cpu_s(b.pid)
        sent = await writes(port_a, remote, 0)
        cpu_b = cpu_s(b.pid) - cpu_b0
        cross, expected, spread = delays(far, sent)
        result["across_instances"] = {**spread,
            "events_expected": expected, "events_received": len(cross),
            "delay_ms_p50": round(percentile(cross, 50), 2), "delay_ms_p99": round(percentile(cross, 99), 2),
            "delay_ms_max": round(max(cross) if cross else float("nan"), 2),
            "subscriber_instance_cpu_us_per_event": round(cpu_b * 1e6 / max(1, len(cross)), 2),
        }
        for s in far:
            s.close()
    finally:
        for p in (a, b):
            p.terminate()
        for p in (a, b):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
