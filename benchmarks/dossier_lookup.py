"""Dossier lookup latency with 1,000,000 dossiers, and the import rate of a 10,000-row CSV.

Lookup is measured on two paths, both in-process (no network):
- "API handler": GET /api/v1/dossiers/{code} through Flask's test client — routing,
  rate limiter, code normalisation, the read transaction, masking, JSON;
- "store + masking": ``views.public_view`` alone on a read connection.
The million rows (each with two timeline events) are written with executemany into a
temporary database, so generating them takes seconds, not hours.

    python -m benchmarks dossier_lookup
    python -m benchmarks.dossier_lookup [--dossiers 1000000] [--lookups 3000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from server import config
from server.app import create_app
from server.clock import FixedClock, iso
from server.dossiers.importer import run_import
from server.dossiers.views import public_view
from server.ratelimit import RateLimiter
from server.store import Database, migrate

Row = tuple[str, str, str, str]
ROOT = Path(__file__).resolve().parent.parent
STATUSES = ["received", "in_progress", "supplement_requested", "resolved", "returned"]
NAMES = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Nam", "Phạm Thu Hà", "Võ Minh Tuấn"]


def _cfg_and_clock():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    cfg = config.load(ROOT / "config.yaml", env={})
    return cfg, FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))


def _catalog(db, now: str) -> None:
    with db.write() as conn:
        conn.execute(
            "INSERT INTO department (code, name, created_at) VALUES ('STP', 'Sở Tư pháp', ?)",
            (now,),
        )
        conn.execute(
            """INSERT INTO procedure (code, name, department, limit_days, created_at)
               VALUES ('STP-LLTP', 'Cấp Phiếu lý lịch tư pháp', 'STP', 10, ?)""",
            (now,),
        )


def code_of(i: int) -> str:
    return f"000.00.06.H56-{260101 + i // 10_000:06d}-{i % 10_000:04d}"


def generate(path: Path, n: int, now: str) -> float:
    """n dossiers with two events each, written by a bare connection without a journal
    (a benchmark's scratch file needs no crash safety); returns the seconds it took."""
    started = time.perf_counter()
    rng = random.Random(7)
    batch = 50_000
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    for start in range(0, n, batch):
        dossiers = []
        for i in range(start, min(n, start + batch)):
            status = STATUSES[i % len(STATUSES)]
            finished = now if status in ("resolved", "returned") else None
            row = (i + 1, code_of(i), rng.choice(NAMES), f"09{i:08d}", status)
            dossiers.append((*row, now, now, 10, now, finished, now, now))
        conn.executemany(
            """INSERT INTO dossier (id, code, procedure, department, applicant, phone,
                   channel, status, status_at, received_at, limit_days, due_at, pauses,
                   finished_at, created_at, updated_at)
               VALUES (?, ?, 'STP-LLTP', 'STP', ?, ?, 'direct', ?, ?, ?, ?, ?, '[]', ?, ?, ?)""",
            dossiers,
        )
        conn.executemany(
            """INSERT INTO dossier_event (dossier_id, kind, status, at, actor, source,
                   event_key, created_at)
               VALUES (?, 'status', ?, ?, 'bench', 'bench', ?, ?)""",
            [
                (d[0], s, now, f"k{d[0]}.{j}", now)
                for d in dossiers
                for j, s in enumerate(("received", d[4]))
            ],
        )
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return time.perf_counter() - started


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def measure_lookup(n: int, lookups: int) -> list[Row]:
    cfg, clock = _cfg_and_clock()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "motcua.sqlite3"
        db = Database(path)
        migrate(db)
        _catalog(db, iso(clock.now()))
        db.close()  # the generator needs the file alone (it switches the journal off)
        gen_s = generate(path, n, iso(clock.now()))
        app = create_app(cfg, Path(tmp), clock=clock, testing=True)
        ctx = app.extensions["motcua"]
        ctx.limits["lookup"] = RateLimiter(limit=10**9, per_seconds=60)
        rng = random.Random(11)
        codes = [code_of(rng.randrange(n)) for _ in range(lookups)]
        client = app.test_client()
        for code in codes[:200]:  # warm the page cache and the code paths
            client.get(f"/api/v1/dossiers/{code}")
        api_times, api_cpu, store_times = [], [], []
        for code in codes:
            t0, c0 = time.perf_counter(), time.process_time()
            r = client.get(f"/api/v1/dossiers/{code}")
            api_times.append(time.perf_counter() - t0)
            api_cpu.append(time.process_time() - c0)
            assert r.status_code == 200, r.get_json()
        for code in codes:
            t0 = time.perf_counter()
            with ctx.db.read() as conn:
                view = public_view(conn, cfg, code, clock.now())
            store_times.append(time.perf_counter() - t0)
            assert view is not None
        missing = []
        for i in range(min(500, lookups)):
            t0 = time.perf_counter()
            r = client.get(f"/api/v1/dossiers/NOPE-{i}")
            missing.append(time.perf_counter() - t0)
            assert r.status_code == 404
        ctx.db.close()
    a50, a99 = _pcts(api_times)
    c50, c99 = _pcts(api_cpu)
    s50, s99 = _pcts(store_times)
    m50, m99 = _pcts(missing)
    note = f"{n:,} dossiers, {2 * n:,} events, {lookups:,} random codes"
    target = "p99 ≤ 10 ms"
    return [
        ("dossier lookup, API handler: p50 / p99", f"{a50:.2f} / {a99:.2f} ms", target, note),
        (
            "dossier lookup, API handler CPU: p50 / p99",
            f"{c50:.2f} / {c99:.2f} ms",
            "-",
            "process CPU time per request (what the code costs, whatever the machine's load)",
        ),
        ("dossier lookup, store + masking: p50 / p99", f"{s50:.2f} / {s99:.2f} ms", target, note),
        ("dossier lookup, unknown code: p50 / p99", f"{m50:.2f} / {m99:.2f} ms", target, "404"),
        ("dossier generation (executemany)", f"{n / gen_s:,.0f} rows/s", "-", f"{gen_s:.1f} s"),
    ]


def import_csv(rows: int = 10_000) -> bytes:
    lines = [
        "Mã hồ sơ,Mã thủ tục,Người nộp,Số điện thoại,Ngày tiếp nhận,Trạng thái,Giấy tờ cần bổ sung"
    ]
    for i in range(rows):
        status = ("Đã tiếp nhận", "Đang xử lý", "Yêu cầu bổ sung", "Đã có kết quả")[i % 4]
        missing = "Bản sao CCCD" if i % 4 == 2 else ""
        lines.append(
            f"000.00.06.H56-261120-{i:05d},STP-LLTP,Trần Thị Bích {i},09{i:08d},"
            f"20/11/2026 08:30,{status},{missing}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def measure_import(rows: int) -> list[Row]:
    cfg, clock = _cfg_and_clock()
    raw = import_csv(rows)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(cfg, Path(tmp), clock=clock, testing=True)
        ctx = app.extensions["motcua"]
        _catalog(ctx.db, iso(clock.now()))
        cpu0 = time.process_time()
        report = run_import(ctx.db, cfg, "bench.csv", raw, actor="bench", now=clock.now())
        cpu = time.process_time() - cpu0
        ctx.db.close()
    assert report.committed and report.accepted == rows, report.rejected[:3]
    return [
        (
            f"dossier import, {rows:,}-row CSV",
            f"{rows / report.seconds:,.0f} rows/s",
            "-",
            f"{report.seconds:.1f} s wall, {cpu:.1f} s CPU; {report.events:,} events, "
            f"{report.notifications:,} SMS queued, one transaction",
        )
    ]


def run(dossiers: int = 1_000_000, lookups: int = 3000, rows: int = 10_000) -> list[Row]:
    return measure_lookup(dossiers, lookups) + measure_import(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    for row in run(args.dossiers, args.lookups, args.rows):
        print("  ".join(row))


if __name__ == "__main__":
    main()
