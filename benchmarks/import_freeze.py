"""Dossier imports against a live hall (issue 15, findings 3 and 4), on the real server
(`motcua serve`: gunicorn, one gevent worker).

While each file is uploaded with a department's key and its job runs, a probe asks
`GET /api/v1/health` every 20 ms, a kiosk issues a ticket every 100 ms and the
department PUTs a dossier every 200 ms; their latencies are compared with the same
probes on the quiet server.  Files:
- the attack of issue 15: a header, then 1,000,000 identical one-cell rows (a few
  hundred KiB zipped; refused at the row cap, in the worker process);
- 300,000 one-cell rows (the DESIGN's "300,000-row spreadsheet");
- a real import: N valid dossier rows (default 100,000), all-or-nothing.

    python -m benchmarks import_freeze
    python -m benchmarks.import_freeze [--rows 100000] [--skip-real]
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from benchmarks._load import percentile
from benchmarks._server import HOST, Server
from tests.xlsx_raw import one_cell_rows, same_cell_rows, xlsx

Row = tuple[str, str, str, str]


def multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(server: Server, key: str, name: str, data: bytes, **form: str) -> tuple[int, Any]:
    body, ctype = multipart(form, name, data)
    conn = http.client.HTTPConnection(HOST, server.port, timeout=120)
    try:
        conn.request(
            "POST",
            "/api/v1/dossiers/imports",
            body,
            {"Content-Type": ctype, "Authorization": f"Bearer {key}"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


@dataclass
class Probe:
    """Latencies (ms) and statuses of one kind of request, sampled until stopped."""

    ms: list[float] = field(default_factory=list)
    errors: int = 0  # 5xx or no answer

    def p99(self) -> float:
        return percentile(self.ms, 99) if self.ms else float("nan")


class Probes:
    def __init__(self, server: Server, kiosk: str, key: str) -> None:
        self.server, self.kiosk, self.key = server, kiosk, key
        self.health, self.ticket, self.put = Probe(), Probe(), Probe()
        self._stop = threading.Event()
        self._n = 0

    def _loop(self, probe: Probe, every: float, call) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                status = call()
            except OSError:
                status = 599
            probe.ms.append((time.perf_counter() - t0) * 1000)
            if status >= 500:
                probe.errors += 1
            self._stop.wait(max(0.0, every - (time.perf_counter() - t0)))

    def _issue(self) -> int:
        return self.server.request("POST", "/api/v1/tickets", {"service": "DD"}, token=self.kiosk)[
            0
        ]

    def _put(self) -> int:
        self._n += 1
        code = f"000.00.06.H56-261201-{self._n % 10_000:04d}"
        body = {"procedure": "STP-LLTP", "status": "received", "applicant": "Lê Thị Hoa"}
        return self.server.request("PUT", f"/api/v1/dossiers/{code}", body, token=self.key)[0]

    def __enter__(self) -> Probes:
        h = (self.health, 0.02, lambda: self.server.request("GET", "/api/v1/health")[0])
        self._threads = [
            threading.Thread(target=self._loop, args=h, daemon=True),
            threading.Thread(target=self._loop, args=(self.ticket, 0.1, self._issue), daemon=True),
            threading.Thread(target=self._loop, args=(self.put, 0.2, self._put), daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)


def wait_job(server: Server, key: str, job: dict[str, Any], limit_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while job.get("status") == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        _, body = server.request("GET", f"/api/v1/dossiers/imports/{job['id']}", token=key)
        job = body["job"]
    return job


def attack(server: Server, kiosk: str, key: str, label: str, name: str, data: bytes) -> list[Row]:
    t0 = time.perf_counter()
    with Probes(server, kiosk, key) as probes:
        status, body = upload(server, key, name, data, policy="all-or-nothing", notify="0")
        job = body.get("job", {}) if status == 202 else {"status": f"HTTP {status}"}
        job = wait_job(server, key, job, 900) if status == 202 else job
    seconds = time.perf_counter() - t0
    end = job.get("error", {}) or {}
    report = job.get("report") or {}
    verdict = end.get("code") or (
        f"{report.get('accepted', 0)} rows saved" if report.get("committed") else job.get("status")
    )
    errors = probes.health.errors + probes.ticket.errors + probes.put.errors
    note = f"{label}: {len(data) // 1024} KiB, job → {verdict} in {seconds:.1f} s; 5xx {errors}"
    return [
        (f"{label}: /health p99 / max", f"{probes.health.p99():.1f} / {max(probes.health.ms):.0f} ms", "≤ 1000 ms", note),
        (f"{label}: ticket p99", f"{probes.ticket.p99():.1f} ms", "≤ 3× quiet", f"{len(probes.ticket.ms)} tickets"),
        (f"{label}: dossier PUT p99", f"{probes.put.p99():.1f} ms", "no 5xx", f"{len(probes.put.ms)} PUTs"),
    ]  # fmt: skip


def real_rows(n: int) -> bytes:
    lines = ["Mã hồ sơ,Mã thủ tục,Tên thủ tục,Người nộp,Ngày tiếp nhận,Trạng thái"]
    for i in range(n):
        lines.append(
            f"000.00.06.H56-{260101 + i // 9_000:06d}-{i % 9_000:04d},STP-LLTP,"
            f"Cấp Phiếu lý lịch tư pháp,Nguyễn Văn {i},02/11/2026 08:30,Đang xử lý"
        )
    return ("\n".join(lines) + "\n").encode()


def run(rows: int = 100_000, skip_real: bool = False) -> list[Row]:
    out: list[Row] = []
    with Server() as server:
        server.start()
        kiosk = server.device("kiosk-bench", "kiosk")
        key = server.cli("apikey", "add", "STP", "--name", "Sở Tư pháp")
        rss_before = server.rss_mb()[0]
        with Probes(server, kiosk, key) as quiet:
            time.sleep(5)
        out.append(
            (
                "quiet: /health p99 / ticket p99 / PUT p99",
                f"{quiet.health.p99():.1f} / {quiet.ticket.p99():.1f} / {quiet.put.p99():.1f} ms",
                "baseline",
                "motcua serve (gevent), same probes, 5 s",
            )
        )
        million = xlsx(same_cell_rows(1_000_000, ["code", "status"]), bare=True)
        out += attack(server, kiosk, key, "1,000,000-row sheet", "million.xlsx", million)
        sheet = xlsx(one_cell_rows(300_000, ["code", "status"]))
        out += attack(server, kiosk, key, "300,000-row sheet", "sheet.xlsx", sheet)
        if not skip_real:
            out += attack(
                server, kiosk, key, f"import of {rows:,} rows", "real.csv", real_rows(rows)
            )
        rss = server.rss_mb()[0]
        out.append(
            ("worker RSS before → after", f"{rss_before:.0f} → {rss:.0f} MB", "≤ +50 MB", "")
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    for row in run(args.rows, args.skip_real):
        print(" | ".join(row))


if __name__ == "__main__":
    main()


__all__ = ["run"]
