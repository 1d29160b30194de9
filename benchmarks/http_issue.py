"""Ticket issue over HTTP against the production server (gunicorn + one gevent worker).

`POST /api/v1/tickets` with a kiosk token at 1 and 20 concurrent kiosks, each compared
with the server's own floor (`GET /api/v1/health`) at the same concurrency in the same
run; then the database is checked: every (service, day) numbered 1..n with no
duplicate and no gap, and as many tickets as 201 answers."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from ._load import LoadResult, build_request, percentile, run_load
from ._server import CONFIG_NOTE, OtherLoad, Server, boost

Row = tuple[str, str, str, str]

DURATION_S = float(os.environ.get("BENCH_DURATION_S", "5"))
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "5000"))
SERVICES = ["DD", "HT", "CC", "KD", "XD", "GT", "LD", "TKQ"]


def _issue_requests(token: str, clients: int) -> list[bytes]:
    auth = {"Authorization": f"Bearer {token}"}
    return [
        build_request(
            "POST",
            "/api/v1/tickets",
            json.dumps({"service": SERVICES[i % len(SERVICES)]}).encode(),
            auth,
        )
        for i in range(clients)
    ]


def _health_requests(clients: int) -> list[bytes]:
    return [build_request("GET", "/api/v1/health")] * clients


def _load(port: int, requests: list[bytes], n: int | None = None) -> LoadResult:
    return run_load(
        port,
        requests,
        duration=DURATION_S,
        max_requests=n or MAX_REQUESTS,
        processes=2 if len(requests) >= 10 else 1,
    )


def commit_floor(directory: Path, n: int = 200) -> dict[str, list[float]]:
    """Latency of a one-row SQLite commit in WAL mode, synchronous=FULL (what the server
    uses: an fsync per commit) and NORMAL (no fsync), on the data dir's disk."""
    out: dict[str, list[float]] = {}
    for mode in ("FULL", "NORMAL"):
        path = directory / f"floor-{mode}.sqlite3"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={mode}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES ('x')")
            conn.execute("COMMIT")
            lat.append(time.perf_counter() - t0)
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        out[mode] = lat
    return out


def check_numbers(db_path: str) -> dict[str, Any]:
    """Duplicates and gaps of every (service, day), straight from the database."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            """SELECT t.service, t.day, count(*), count(DISTINCT t.number), min(t.number),
                      max(t.number), s.first_number, d.n
               FROM ticket t JOIN service s ON s.code = t.service
               LEFT JOIN daily_number d ON d.service = t.service AND d.day = t.day
               GROUP BY t.service, t.day"""
        ).fetchall()
        labels_dup = conn.execute(
            "SELECT count(*) FROM (SELECT day, label FROM ticket GROUP BY day, service, label HAVING count(*) > 1) AS x"
        ).fetchone()[0]
    finally:
        conn.close()
    total = sum(r[2] for r in rows)
    dups = sum(r[2] - r[3] for r in rows) + labels_dup
    gaps = sum((r[5] - r[4] + 1 - r[3]) + (r[4] - r[6]) + abs((r[7] or 0) - r[5]) for r in rows)
    return {"tickets": total, "duplicates": dups, "gaps": gaps}


def run() -> list[Row]:
    rows: list[Row] = []
    boosted = boost()
    with Server() as srv:
        kiosk = srv.device("kiosk-bench", "kiosk")
        floor = commit_floor(srv.tmp)
        full, normal = floor["FULL"], floor["NORMAL"]
        rows.append(
            (
                "SQLite commit floor (fsync)",
                f"FULL p50 {percentile(full, 50) * 1000:.2f} ms, p99 {percentile(full, 99) * 1000:.2f} ms",
                "-",
                f"one-row commit on the data dir's disk; NORMAL (no fsync) p50 "
                f"{percentile(normal, 50) * 1000:.2f} ms",
            )
        )
        start_s = srv.start()
        rows.append(
            ("server start (process → /health 200)", f"{start_s:.2f} s", "≤ 2 s", "fresh database")
        )
        # Warm up: imports, prepared statements, the connection pool.
        _load(srv.port, _health_requests(20), 500)
        warm = _load(srv.port, _issue_requests(kiosk, 20), 500)
        issued_ok = warm.ok
        for clients in (1, 20):
            other = OtherLoad()
            cpu0 = srv.worker_cpu_s()
            health = _load(srv.port, _health_requests(clients))
            cpu1 = srv.worker_cpu_s()
            issue = _load(srv.port, _issue_requests(kiosk, clients))
            cpu2 = srv.worker_cpu_s()
            issued_ok += issue.ok
            bad = {s: n for s, n in issue.statuses.items() if s != 201}
            note = f"{issue.ok} tickets in {issue.elapsed:.1f} s; {other.note()}" + (
                f"; NON-201: {bad}, errors {issue.errors}" if bad or issue.errors else ""
            )
            floor_p99 = health.pct_ms(99)
            rows += [
                (
                    f"health floor, {clients} client{'s' if clients > 1 else ''}",
                    f"{health.rate:,.0f} req/s; p50 {health.pct_ms(50):.1f} ms, p99 {floor_p99:.1f} ms",
                    "-",
                    "GET /api/v1/health, keep-alive",
                ),
                (
                    f"ticket issue, {clients} kiosk{'s' if clients > 1 else ''}",
                    f"{issue.rate:,.0f} tickets/s; p50 {issue.pct_ms(50):.1f} ms, p99 {issue.pct_ms(99):.1f} ms",
                    "p99 ≤ 20 ms" if clients == 1 else "≥ 1,000/s",
                    note,
                ),
            ]
            rows.append(
                (
                    f"worker CPU per ticket, {clients} kiosk{'s' if clients > 1 else ''}",
                    f"{(cpu2 - cpu1) / max(1, issue.ok) * 1000:.2f} ms "
                    f"(health {(cpu1 - cpu0) / max(1, health.ok) * 1000:.2f} ms)",
                    "-",
                    "user + system CPU of the gunicorn worker, all its threads; "
                    "less noisy than rates on a shared machine",
                )
            )
            if clients > 1:
                ratio = issue.pct_ms(99) / floor_p99 if floor_p99 else float("inf")
                rows.append(
                    (
                        f"issue p99 / health p99, {clients} kiosks",
                        f"{ratio:.1f}×",
                        "≤ 3×",
                        "same concurrency, same run",
                    )
                )
        worker_rss, _ = srv.rss_mb()
        srv.stop()
        restart_s = srv.start()
        srv.stop()
        check = check_numbers(str(srv.data / "motcua.sqlite3"))
        rows += [
            (
                "server restart (process → /health 200)",
                f"{restart_s:.2f} s",
                "≤ 2 s",
                f"database holding {check['tickets']:,} tickets",
            ),
            (
                "issue: duplicate / gap numbers",
                f"{check['duplicates']} / {check['gaps']}",
                "0 / 0",
                f"{check['tickets']:,} tickets in DB, {issued_ok:,} answered 201; {CONFIG_NOTE}",
            ),
            (
                "server RSS after issue load",
                f"{worker_rss:.0f} MB",
                "-",
                "gunicorn worker" + ("" if boosted else "; could not raise priority (not root)"),
            ),
        ]
        if check["tickets"] != issued_ok:
            rows.append(
                (
                    "issue: tickets in DB vs 201 answers",
                    f"{check['tickets']} vs {issued_ok}",
                    "equal",
                    "MISMATCH",
                )
            )
    return rows
