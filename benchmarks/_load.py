"""A small, fast HTTP/1.1 load generator for loopback benchmarks.

Each client is one keep-alive connection that sends its next request as soon as the
previous answer has arrived (closed loop, like a kiosk).  Clients run as asyncio tasks
on raw sockets — http.client's header parsing and thread switches (the GIL's 5 ms
switch interval) would otherwise dominate the latencies being measured — spread over a
few processes so the generator itself is not the bottleneck.  Latency is measured from
just before the request is written to the last byte of the answer."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"


def build_request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT"):
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    keep = headers.get("connection", "").lower() != "close"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            parts.append(chunk[:-2])
        body = b"".join(parts)
    elif status in (204, 304) or status < 200:
        body = b""
    else:
        body = await reader.read()
        keep = False
    return status, body, keep


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    started: float = 0.0
    ended: float = 0.0
    errors: int = 0

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def elapsed(self) -> float:
        return max(1e-9, self.ended - self.started)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed

    def pct_ms(self, p: float) -> float:
        return percentile(self.latencies_s, p) * 1000

    def merge(self, other: LoadResult) -> None:
        self.latencies_s += other.latencies_s
        self.statuses.update(other.statuses)
        self.errors += other.errors
        self.started = min(self.started, other.started) if self.started else other.started
        self.ended = max(self.ended, other.ended)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


async def _client(
    port: int, request: bytes, deadline: float, budget: list[int], out: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            try:
                status, _, keep = await read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                out.errors += 1
                return
            out.latencies_s.append(time.perf_counter() - t0)
            out.statuses[status] += 1
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


async def _run_clients(
    port: int, requests: list[bytes], duration: float, max_requests: int, barrier: Any
) -> LoadResult:
    out = LoadResult()
    budget = [max_requests]
    if barrier is not None:
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
    out.started = time.perf_counter()
    deadline = out.started + duration
    await asyncio.gather(*(_client(port, r, deadline, budget, out) for r in requests))
    out.ended = time.perf_counter()
    return out


def _proc(
    port: int, requests: list[bytes], duration: float, max_requests: int, barrier: Any, q: Any
) -> None:
    r = asyncio.run(_run_clients(port, requests, duration, max_requests, barrier))
    q.put((r.latencies_s, dict(r.statuses), r.started, r.ended, r.errors))


def run_load(
    port: int,
    requests: list[bytes],
    *,
    duration: float,
    max_requests: int,
    processes: int = 1,
) -> LoadResult:
    """One closed-loop client per entry of `requests` (its request, sent again and again),
    for `duration` seconds or `max_requests` answers in all, whichever comes first."""
    processes = max(1, min(processes, len(requests)))
    if processes == 1:
        return asyncio.run(_run_clients(port, requests, duration, max_requests, None))
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes)
    q = ctx.Queue()
    shares = [requests[i::processes] for i in range(processes)]
    budgets = [
        max_requests // processes + (1 if i < max_requests % processes else 0)
        for i in range(processes)
    ]
    procs = [
        ctx.Process(target=_proc, args=(port, share, duration, budget, barrier, q), daemon=True)
        for share, budget in zip(shares, budgets, strict=True)
    ]
    for p in procs:
        p.start()
    total = LoadResult()
    for _ in procs:
        lat, statuses, started, ended, errors = q.get(timeout=duration + 120)
        total.merge(LoadResult(lat, Counter(statuses), started, ended, errors))
    for p in procs:
        p.join(timeout=10)
    return total


class AsyncConn:
    """One keep-alive HTTP/1.1 connection for scripted clients (asyncio)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(build_request(method, path, body, headers))
        status, data, keep = await read_response(self.reader)
        if not keep:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
