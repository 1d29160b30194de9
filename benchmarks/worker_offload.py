"""Slow work in `motcua worker`, off the request path (issue 17): `/health` p99 on a
`motcua serve` with `workers.mode: external` while a worker beside it imports 100,000
dossier rows and groups a year of the queue report (~100,000 tickets, reports_year's
history) into the day cache — against the same probe on the quiet server.

One host, the embedded SQLite store: the server and the worker share the machine's two
cores, the worker niced (as `motcua worker` runs itself).

    python -m benchmarks worker_offload
    python -m benchmarks.worker_offload [--rows 100000]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time

from benchmarks._load import percentile
from benchmarks._server import MOTCUA, Server
from benchmarks.import_freeze import real_rows, upload, wait_job
from benchmarks.reports_year import _fill
from server import config as config_mod
from server.dbconfig import open_store

Row = tuple[str, str, str, str]
QUIET_S = 30.0


class Health:
    """`GET /api/v1/health` every 20 ms until stopped: latencies in ms, 5xx counted."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ms: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                status = self.server.request("GET", "/api/v1/health")[0]
            except OSError:
                status = 599
            self.ms.append((time.perf_counter() - t0) * 1000)
            self.errors += status >= 500
            self._stop.wait(max(0.0, 0.02 - (time.perf_counter() - t0)))

    def p99(self) -> float:
        return percentile(self.ms, 99) if self.ms else float("nan")

    def __enter__(self) -> Health:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _cached_days(db) -> int:
    with db.read() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM report_day").fetchone()[0])


def run(rows: int = 100_000) -> list[Row]:
    workers = {"mode": "external", "warm_report_days": 366, "warm_every_s": 10}
    with Server(extra={"workers": workers}) as server:
        server.start()
        key = server.cli("apikey", "add", "STP", "--name", "Sở Tư pháp")
        cfg = config_mod.load(server.config)
        db = open_store(cfg, server.data)
        try:
            t0 = time.perf_counter()
            counts = _fill(db, cfg, random.Random(2026))  # a year of one center
            fill_s = time.perf_counter() - t0
            with Health(server) as quiet:
                time.sleep(QUIET_S)
            log = (server.tmp / "worker.log").open("ab")
            worker = subprocess.Popen(
                [MOTCUA, "worker", "--config", str(server.config), "--data-dir", str(server.data)],
                stdout=log,
                stderr=log,
                env=server.env,
            )
            log.close()
            try:
                t0 = time.perf_counter()
                with Health(server) as busy:
                    status, body = upload(
                        server,
                        key,
                        "real.csv",
                        real_rows(rows),
                        policy="all-or-nothing",
                        notify="0",
                    )
                    job = wait_job(server, key, body["job"], 1800) if status == 202 else {}
                    import_s = time.perf_counter() - t0
                    deadline = time.monotonic() + 600
                    while _cached_days(db) < 300 and time.monotonic() < deadline:
                        time.sleep(0.5)
                    busy_s = time.perf_counter() - t0
                days = _cached_days(db)
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        finally:
            db.close()
    report = job.get("report") or {}
    ratio = busy.p99() / quiet.p99()
    note = (
        f"quiet {quiet.p99():.1f} ms ({len(quiet.ms)} probes), busy {busy.p99():.1f} ms "
        f"({len(busy.ms)} probes over {busy_s:.0f} s, 5xx {busy.errors}); SQLite, one host"
    )
    return [
        ("worker busy: /health p99 ÷ quiet", f"{ratio:.2f}×", "≤ 2×", note),
        (
            f"worker: import of {rows:,} rows",
            f"{import_s:.0f} s",
            "-",
            f"job {job.get('status')}, {report.get('accepted', 0):,} rows saved",
        ),
        (
            "worker: report day cache warmed",
            f"{days} days",
            "≥ 300",
            f"{counts['tickets']:,} tickets, {counts['events']:,} events; filled in {fill_s:.0f} s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    for row in run(args.rows):
        print(" | ".join(row))


if __name__ == "__main__":
    sys.exit(main())
