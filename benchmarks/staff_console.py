"""What a counter console and the supervisor's hall view cost the server.

A busy morning: 30 counters, 300 citizens waiting, 600 already served.  Every console
re-reads its queue on each `queue`/`counter` event, so GET /counters/{n}/queue must stay
far below the flush interval (200 ms) even with 30 consoles doing it at once; the hall
view is read by a few supervisors.  Measured in-process (Flask test client, no network),
so the figures are the server's own work per request."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from server import accounts, logins
from server import config as config_mod
from server import tickets as domain
from server.app import create_app
from server.clock import FixedClock
from server.config import CounterSeed

ROOT = Path(__file__).resolve().parent.parent
MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
REQUESTS = 200
COUNTERS = 30
WAITING = 300
SERVED = 600


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def _time(client, path: str, headers: dict[str, str]) -> list[float]:
    out = []
    for _ in range(REQUESTS):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return out


def run() -> list[tuple[str, str, str, str]]:
    cfg = config_mod.load(ROOT / "config.yaml", env={})
    codes = [s.code for s in cfg.services]
    counters = tuple(
        CounterSeed(
            n,
            f"Quầy {n}",
            "A" if n <= 15 else "B",
            (codes[n % len(codes)], codes[(n + 1) % len(codes)]),
        )
        for n in range(1, COUNTERS + 1)
    )
    cfg = replace(cfg, counters=counters)
    clock = FixedClock(MORNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(cfg, Path(tmp), clock=clock, testing=True)
        ctx = app.extensions["motcua"]
        db, now = ctx.db, clock.now()
        accounts.add_user(db, "boss", "supervisor", "password123", now)
        token = accounts.issue_user_token(db, "boss", now)
        for i in range(SERVED + WAITING):
            domain.issue(db, cfg, service=codes[i % len(codes)], now=now)
        for i in range(SERVED):
            n = 1 + i % COUNTERS
            called = domain.call_next(db, cfg, n, "boss", now)
            if called is not None:
                domain.finish(db, cfg, called.ticket["id"], "boss", now)
        clock.advance(minutes=30)
        client = app.test_client()
        h = {"Authorization": f"Bearer {token}"}
        rows = []
        for label, path, target in (
            ("console queue GET /counters/1/queue", "/api/v1/counters/1/queue", 20.0),
            ("console history GET /counters/1/history", "/api/v1/counters/1/history", 20.0),
            ("hall view GET /hall", "/api/v1/hall", 50.0),
        ):
            ms = _time(client, path, h)
            rows.append(
                (
                    f"{label} p99",
                    f"{_p(ms, 0.99):.1f} ms",
                    f"≤ {target:.0f} ms",
                    f"p50 {statistics.median(ms):.1f} ms; {WAITING} waiting, {SERVED} served, "
                    f"{COUNTERS} counters, {REQUESTS} requests",
                )
            )
        t0 = time.perf_counter()
        for _ in range(5):
            logins.authenticate(db, "boss", "password123", clock.now())
        per_login = (time.perf_counter() - t0) / 5 * 1000
        rows.append(
            (
                "login password check (scrypt)",
                f"{per_login:.0f} ms",
                "≥ 50 ms, ≤ 500 ms",
                "slow on purpose against guessing; an address is blocked after 5 failures",
            )
        )
        db.close()
    return rows


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
