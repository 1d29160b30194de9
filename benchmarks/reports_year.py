"""Reports over a year of one center: ~100,000 tickets (with their event history),
~90,000 dossiers and ~10,000 ratings, generated straight into a temporary database
with executemany (seconds, not hours); then the monthly and yearly queue,
satisfaction and dossier reports are timed (p50 of a few runs).  Target: ≤ 500 ms.

The queue report keeps past days' groups in a cache (server/reports/queue_days.py); the
first run after the cache is emptied — what the first report of a new server, or after
a whole year changed, costs — is reported beside the p50."""

from __future__ import annotations

import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from server import config
from server.clock import iso
from server.hours import is_day_off
from server.reports import dossier_report, queue_report, satisfaction_report
from server.reports.period import Period
from server.seed import apply_config
from server.store import Database, migrate

Row = tuple[str, str, str, str]

YEAR = 2026
TICKETS_PER_DAY = 400
DOSSIERS_PER_DAY = 360
RATING_SHARE = 0.11
RUNS = 5
TARGET_MS = 500.0


def _working_days(cfg: config.Config) -> list[date]:
    day, out = date(YEAR, 1, 1), []
    while day.year == YEAR:
        if not is_day_off(cfg, cfg.hours, day):
            out.append(day)
        day += timedelta(days=1)
    return out


def _tickets(cfg: config.Config, days: list[date], rng: random.Random):
    """Yield (ticket row, [event rows], rating row or None) for every ticket of the year."""
    tz = cfg.tz
    services = [s.code for s in cfg.services]
    counters = {c.number: c.services for c in cfg.counters}
    by_service = {s: [n for n, svcs in counters.items() if s in svcs] for s in services}
    next_id = 1
    for day in days:
        numbers = dict.fromkeys(services, 0)
        for _ in range(TICKETS_PER_DAY):
            svc = rng.choice(services)
            numbers[svc] += 1
            minute = rng.randint(0, 8 * 60)
            issued = datetime.combine(day, dtime(7, 30), tz) + timedelta(minutes=minute)
            counter = rng.choice(by_service[svc] or list(counters))
            staff = f"staff{counter}"
            wait = timedelta(seconds=rng.randint(60, 3600))
            service_s = timedelta(seconds=rng.randint(120, 1500))
            roll = rng.random()
            status = "done" if roll < 0.92 else "no_show" if roll < 0.97 else "cancelled"
            transferred = status == "done" and rng.random() < 0.03
            called = issued + wait if status != "cancelled" else None
            started = called + timedelta(seconds=30) if status == "done" and called else None
            finished = (
                started + service_s
                if started
                else (called + timedelta(minutes=2) if called else issued + wait)
            )
            tid = next_id
            next_id += 1
            ticket = (
                tid, svc, day.isoformat(), numbers[svc], f"{numbers[svc]:04d}", "normal", status,
                svc, None, iso(issued), "kiosk", None, secrets.token_urlsafe(12), None,
                iso(issued), iso(called) if called else None,
                iso(started) if started else None, iso(finished), counter if called else None,
                staff if called else None, 0, svc if transferred else None,
            )  # fmt: skip
            events = [(tid, "issue", None, "waiting", iso(issued), "kiosk", None, None)]
            if transferred and called:
                first = called - timedelta(minutes=10)
                events.append((tid, "call", "waiting", "called", iso(first), staff, counter, None))
                events.append(
                    (tid, "transfer", "called", "waiting", iso(first + timedelta(minutes=3)),
                     staff, counter, None)
                )  # fmt: skip
            if called:
                events.append((tid, "call", "waiting", "called", iso(called), staff, counter, None))
            if started:
                events.append(
                    (tid, "start", "called", "serving", iso(started), staff, counter, None)
                )
            final = {"done": "finish", "no_show": "no_show", "cancelled": "cancel"}[status]
            events.append((tid, final, "serving", status, iso(finished), staff, counter, None))
            rating = None
            if status == "done" and rng.random() < RATING_SHARE:
                lvl = rng.choices(
                    ["very_satisfied", "satisfied", "unsatisfied"], [0.95, 0.047, 0.003]
                )[0]
                reason = "long_wait" if lvl == "unsatisfied" else None
                rating = (
                    tid, lvl, reason, None, None, svc, counter, staff, "pad", None,
                    day.isoformat(), iso(finished + timedelta(seconds=20)),
                )  # fmt: skip
            yield ticket, events, rating


def _fill(db: Database, cfg: config.Config, rng: random.Random) -> dict[str, int]:
    days = _working_days(cfg)
    tickets, events, ratings = [], [], []
    for t, evs, r in _tickets(cfg, days, rng):
        tickets.append(t)
        events.extend(evs)
        if r:
            ratings.append(r)
    counts = {"tickets": len(tickets), "events": len(events), "ratings": len(ratings)}
    with db.write() as conn:
        conn.executemany(f"INSERT INTO ticket VALUES ({', '.join('?' * 22)})", tickets)
        conn.executemany(
            """INSERT INTO ticket_event (ticket_id, action, from_status, to_status, at, actor,
               counter, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            events,
        )
        conn.executemany(
            """INSERT INTO rating (ticket_id, level, reason, reason_text, dossier, service,
               counter, staff, source, device_id, day, at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            ratings,
        )
        pauses = []
        for day in days:
            for n in (1, 2, 3, 4, 5):
                start = datetime.combine(day, dtime(9, rng.randint(0, 50)), cfg.tz)
                pauses.append((n, "paused", rng.choice(["break", "meeting"]), iso(start), "x"))
                pauses.append((n, "open", None, iso(start + timedelta(minutes=15)), "x"))
        conn.executemany(
            "INSERT INTO counter_event (counter, state, reason, at, actor) VALUES (?, ?, ?, ?, ?)",
            pauses,
        )
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'dossier'").fetchone():
            counts["dossiers"] = _fill_dossiers(conn, cfg, days, rng)
    return counts


def _fill_dossiers(conn: Any, cfg: config.Config, days: list[date], rng: random.Random) -> int:
    now = "2026-01-01T00:00:00+00:00"
    deps = [f"D{i:02d}" for i in range(16)]
    conn.executemany(
        "INSERT INTO department (code, name, created_at) VALUES (?, ?, ?)",
        [(d, f"Sở {d}", now) for d in deps],
    )
    procs = [(f"P{i:04d}", f"Thủ tục {i}", deps[i % 16], 5, None, 1, now) for i in range(1300)]
    conn.executemany(
        """INSERT INTO procedure (code, name, department, limit_days, limit_hours, active,
           created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
        procs,
    )
    rows, seq = [], 0
    for day in days:
        for i in range(DOSSIERS_PER_DAY):
            seq += 1
            proc = procs[rng.randrange(len(procs))]
            received = datetime.combine(day, dtime(8), cfg.tz) + timedelta(minutes=i)
            due = received + timedelta(days=7)
            finished = received + timedelta(days=rng.choice([3, 5, 7, 7, 8]))
            timeliness = (
                "early" if finished.date() < due.date()
                else "on_time" if finished.date() == due.date() else "late"
            )  # fmt: skip
            channel = rng.choices(["direct", "online", "postal"], [0.5887, 0.399, 0.0123])[0]
            rows.append(
                (
                    f"000.00.06.H56-{day:%y%m%d}-{seq % 10000:04d}-{seq}", proc[0], proc[2],
                    "Nguyễn Văn A", channel, "resolved", iso(finished), iso(received), 5, None,
                    iso(due), iso(finished), timeliness, iso(received), iso(finished),
                )
            )  # fmt: skip
    conn.executemany(
        """INSERT INTO dossier (code, procedure, department, applicant, channel, status,
           status_at, received_at, limit_days, limit_hours, due_at, finished_at, timeliness,
           created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        rows,
    )
    return len(rows)


def _p50_ms(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, float]:
    """(wall, CPU) medians in ms; CPU time shows the work itself when the machine is busy."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def run() -> list[Row]:
    cfg = config.load(Path(__file__).resolve().parent.parent / "config.yaml", env={})
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "year.sqlite3")
        migrate(db)
        apply_config(db, cfg, datetime(YEAR, 1, 1, tzinfo=cfg.tz))
        t0 = time.perf_counter()
        counts = _fill(db, cfg, rng)
        fill_s = time.perf_counter() - t0
        now = datetime(YEAR + 1, 1, 2, 9, tzinfo=cfg.tz)
        month = Period(date(YEAR, 6, 1), date(YEAR, 6, 30), cfg.tz)
        year = Period(date(YEAR, 1, 1), date(YEAR, 12, 31), cfg.tz)
        kinds: list[tuple[str, Callable[..., Any]]] = [
            ("queue", queue_report),
            ("satisfaction", satisfaction_report),
        ]
        if "dossiers" in counts:
            kinds.append(("dossiers", dossier_report))
        note = ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f"; filled in {fill_s:.1f} s"
        rows: list[Row] = []
        for label, period in (("month", month), ("year", year)):
            for name, fn in kinds:

                def once(fn=fn, period=period):
                    return fn(db, cfg, period, now)

                with db.write() as conn:  # the queue report's day cache starts empty
                    conn.execute("DELETE FROM report_day")
                cold, cold_cpu = _p50_ms(once, runs=1)
                ms, cpu = _p50_ms(once)
                detail = (
                    f"p50 of {RUNS}, CPU {cpu:.0f} ms; first run {cold:.0f} ms (CPU {cold_cpu:.0f})"
                )
                rows.append(
                    (
                        f"{name} report, one {label} of a year",
                        f"{ms:.0f} ms",
                        f"≤ {TARGET_MS:.0f} ms",
                        f"{detail}; {note}" if not rows else detail,
                    )
                )
        db.close()
    return rows


if __name__ == "__main__":
    for r in run():
        print("  ".join(r))
