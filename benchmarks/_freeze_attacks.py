"""The attacks of benchmarks.freeze, and the kiosk + /health probe that runs beside each.

Files are built before a phase starts (building them is not the attack): an XLSX whose
one sheet holds a million one-cell rows (deflate makes it ~141 KiB), a 300,000-row
spreadsheet, a 100,000-row CSV.  The connection flood and the probe are asyncio loops in
their own processes, so the attacker's sockets and the probe's timing do not share an
event loop (or a GIL) with each other or with the bench."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import multiprocessing as mp
import os
import queue
import resource
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ._load import AsyncConn

HOST = "127.0.0.1"
SERVICES = ("DD", "HT", "CC")

# --- files ------------------------------------------------------------------------------

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def xlsx(rows: Any) -> bytes:
    """A minimal workbook (inline strings; rows and cells in order, without references,
    as the format allows) whose one sheet holds `rows` (lists of str)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>"
    ]
    for cells in rows:
        parts.append(
            "<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in cells) + "</row>"
        )
    parts.append("</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in _XLSX_PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", "".join(parts))
    return out.getvalue()


def one_cell_rows(n: int) -> bytes:
    """A sheet of `n` rows of one cell: no dossier column at all."""
    return xlsx(["x"] for _ in range(n))


HEADER = ("Mã hồ sơ", "Mã thủ tục", "Tên thủ tục", "Mã đơn vị", "Người nộp", "Trạng thái")


def dossier_rows(n: int, prefix: str) -> list[list[str]]:
    """`n` rows a department's export would hold: new dossiers, received."""
    rows = [list(HEADER)]
    for i in range(n):
        code = f"{prefix}-{i:06d}"
        rows.append(
            [code, "STP-LLTP", "Cấp Phiếu lý lịch tư pháp", "STP", "Nguyễn Văn An", "received"]
        )
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    return ("\r\n".join(",".join(r) for r in rows) + "\r\n").encode("utf-8")


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with `fields` and one file; (body, content type)."""
    boundary = "freeze-bench-boundary-7d1f"
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        )
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    out.write(content)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# --- the probe: kiosks issuing, a poller on /health ---------------------------------------


@dataclass
class Probe:
    ticket_s: list[float] = field(default_factory=list)
    ticket_status: Counter[int] = field(default_factory=Counter)
    health_s: list[float] = field(default_factory=list)
    health_status: Counter[int] = field(default_factory=Counter)

    def fives(self) -> int:
        return sum(
            n for c in (self.ticket_status, self.health_status) for s, n in c.items() if s >= 500
        )


async def _ask(
    conn: AsyncConn, method: str, path: str, body: bytes, headers: dict[str, str]
) -> int:
    try:
        status, _ = await conn.request(method, path, body, headers)
        return status
    except (OSError, asyncio.IncompleteReadError):
        conn.close()
        return 0  # the connection failed: counted, not a 5xx


async def _loop(
    port: int, stop: Any, every_s: float, lat: list[float], seen: Counter[int], make: Any
) -> None:
    conn = AsyncConn(port)
    n = 0
    while not stop.is_set():
        method, path, body, headers = make(n)
        n += 1
        t0 = time.perf_counter()
        task = asyncio.ensure_future(_ask(conn, method, path, body, headers))
        try:
            status = await task
        except asyncio.CancelledError:  # still waiting when the phase ended
            lat.append(time.perf_counter() - t0)
            seen[0] += 1
            raise
        lat.append(time.perf_counter() - t0)
        seen[status] += 1
        await asyncio.sleep(max(0.0, every_s - (time.perf_counter() - t0)))
    conn.close()


async def _probe(port: int, kiosks: list[str], stop: Any, kiosk_every_s: float) -> Probe:
    out = Probe()

    def ticket(token: str, k: int):
        def make(n: int):
            body = json.dumps({"service": SERVICES[(n + k) % len(SERVICES)]}).encode()
            return "POST", "/api/v1/tickets", body, {"Authorization": f"Bearer {token}"}

        return make

    def health(_: int):
        return "GET", "/api/v1/health", b"", {}

    tasks = [
        asyncio.ensure_future(
            _loop(port, stop, kiosk_every_s, out.ticket_s, out.ticket_status, ticket(t, k))
        )
        for k, t in enumerate(kiosks)
    ]
    tasks.append(
        asyncio.ensure_future(_loop(port, stop, 0.05, out.health_s, out.health_status, health))
    )
    while not stop.is_set():
        await asyncio.sleep(0.05)
    _, late = await asyncio.wait(tasks, timeout=5.0)
    for t in late:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return out


def _probe_proc(port: int, kiosks: list[str], every: float, stop: Any, q: Any) -> None:
    p = asyncio.run(_probe(port, kiosks, stop, every))
    q.put((p.ticket_s, dict(p.ticket_status), p.health_s, dict(p.health_status)))


def _placed(cpus: set[int] | None, nice: int, target: Any, *args: Any) -> None:
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    if nice:
        os.nice(nice)
    target(*args)


class Running:
    """A process running something until `finish()`; its result from the queue.  It runs
    on `cpus` (None: anywhere), `nice` steps below the bench."""

    def __init__(self, target: Any, *args: Any, cpus: set[int] | None, nice: int = 0) -> None:
        ctx = mp.get_context("fork")
        self.stop = ctx.Event()
        self.q = ctx.Queue()
        self.proc = ctx.Process(
            target=_placed, args=(cpus, nice, target, *args, self.stop, self.q), daemon=True
        )
        self.proc.start()

    def finish(self, timeout: float = 120.0) -> Any:
        self.stop.set()
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    return self.q.get(timeout=1.0)
                except queue.Empty:
                    if not self.proc.is_alive() or time.monotonic() > deadline:
                        raise RuntimeError(f"{self.proc.name} ended without a result") from None
        finally:
            self.proc.join(timeout=10)
            if self.proc.is_alive():
                self.proc.kill()


def start_probe(
    port: int, kiosks: list[str], kiosk_every_s: float, cpus: set[int] | None
) -> Running:
    return Running(_probe_proc, port, kiosks, kiosk_every_s, cpus=cpus)


def probe_result(raw: Any) -> Probe:
    ticket_s, ticket_status, health_s, health_status = raw
    return Probe(ticket_s, Counter(ticket_status), health_s, Counter(health_status))


# --- the connection flood -------------------------------------------------------------------


@dataclass
class FloodPlan:
    half_open: int = 4000
    sockets: int = 4000
    big_headers: int = 60
    header_bytes: int = 16 * 1024  # the largest header block the server allows …
    header_line: int = 8 * 1024  # … and line
    hold_s: float = 30.0


async def _open(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, port, local_addr=(source, 0))


async def _watch(reader: asyncio.StreamReader, t0: float, until: float, ends: list[Any]) -> None:
    """Read what the server sends until it closes (or `until`); note how it ended."""
    got = b""
    try:
        while time.perf_counter() < until:
            chunk = await asyncio.wait_for(reader.read(4096), until - time.perf_counter())
            if not chunk:
                ends.append((got[:12], time.perf_counter() - t0))
                return
            got += chunk[: 4096 - len(got)]
    except (TimeoutError, OSError):
        return


async def _half_open(port: int, until: float, stats: Counter[str], ends: list[Any]) -> Any:
    try:
        reader, writer = await _open(port, "127.0.0.2")
    except OSError:
        stats["half-open refused at connect"] += 1
        return None
    stats["half-open opened"] += 1
    with contextlib.suppress(OSError):
        writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")  # never finished
    await _watch(reader, time.perf_counter(), until, ends)
    return writer


async def _big_headers(port: int, plan: FloodPlan, until: float, ends: list[Any]) -> Any:
    try:
        reader, writer = await _open(port, "127.0.0.4")
    except OSError:
        return None
    head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
    left, i = plan.header_bytes - 64, 0
    while left > 64:
        size = min(plan.header_line - 32, left)
        line = b"X-Big-%d: " % i + b"a" * (size - 16) + b"\r\n"
        head += line
        left -= len(line)
        i += 1
    writer.write(head)  # the block, but never the blank line that ends it
    await _watch(reader, time.perf_counter(), until, ends)
    return writer


_WS_HANDSHAKE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)
#: A masked text frame carrying the Socket.IO CONNECT packet for /track.
_TRACK_CONNECT = b"40/track,"
_MASK = b"\x01\x02\x03\x04"
_FRAME = (
    bytes([0x81, 0x80 | len(_TRACK_CONNECT)])
    + _MASK
    + bytes(b ^ _MASK[i % 4] for i, b in enumerate(_TRACK_CONNECT))
)


async def _track_socket(port: int, until: float, stats: Counter[str]) -> Any:
    try:
        reader, writer = await _open(port, "127.0.0.3")
        writer.write(_WS_HANDSHAKE)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        stats["track failed"] += 1
        return None
    status = head.split(b" ", 2)[1].decode()
    if status != "101":
        stats[f"track refused {status}"] += 1
        return writer
    writer.write(_FRAME)
    seen = b""
    try:
        while time.perf_counter() < until and len(seen) < 4096:
            chunk = await asyncio.wait_for(reader.read(4096), until - time.perf_counter())
            if not chunk:
                break
            seen += chunk
            if b"40/track" in seen or b"44/track" in seen:
                break
    except (TimeoutError, OSError):
        pass
    if b"40/track" in seen:
        stats["track joined"] += 1
    elif b"44/track" in seen:
        stats["track refused by /track"] += 1
    else:
        stats["track upgraded, no answer"] += 1
    return writer


async def _flood(port: int, plan: FloodPlan) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    ends: list[Any] = []
    header_ends: list[Any] = []
    t0 = time.perf_counter()
    until = t0 + plan.hold_s
    tasks = [
        asyncio.ensure_future(_half_open(port, until, stats, ends)) for _ in range(plan.half_open)
    ]
    tasks += [asyncio.ensure_future(_track_socket(port, until, stats)) for _ in range(plan.sockets)]
    tasks += [
        asyncio.ensure_future(_big_headers(port, plan, until, header_ends))
        for _ in range(plan.big_headers)
    ]
    writers = await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(max(0.0, until - time.perf_counter()))
    for w in writers:
        if isinstance(w, asyncio.StreamWriter):
            w.close()

    def how(items: list[Any], prefix: str) -> None:
        for first, after in items:
            what = first.split(b" ")[1].decode() if first.startswith(b"HTTP/") else "closed"
            stats[f"{prefix} {what}"] += 1
            stats[f"{prefix} {what} max_s"] = max(stats[f"{prefix} {what} max_s"], round(after))

    how(ends, "half-open ended")
    how(header_ends, "big-header ended")
    return dict(stats)


def _flood_proc(port: int, plan: FloodPlan, stop: Any, q: Any) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    q.put(asyncio.run(_flood(port, plan)))


#: The flood's process runs this many nice steps below the probe: the attacker stands
#: for other machines, and its own CPU must not be what the kiosks' latency measures.
FLOOD_NICE = 15


def start_flood(port: int, plan: FloodPlan, cpus: set[int] | None) -> Running:
    return Running(_flood_proc, port, plan, cpus=cpus, nice=FLOOD_NICE)
