"""A simulated day through the real queue engine (``motcua simulate``).

300 visitors arrive with a morning peak, service times are drawn from log-normal
distributions per service, counters call next as soon as they are free.  Each ticket's
estimated wait (what the kiosk printed) is compared with its actual wait — the error of
``server.estimates`` on a realistic day."""

from __future__ import annotations

import heapq
import math
import random
import shutil
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from statistics import mean, median

from . import tickets
from .clock import FixedClock
from .config import Config, CounterSeed, ServiceSeed
from .seed import apply_config
from .store import Database, migrate

#: (code, name, mean service minutes, share of visitors)
SIM_SERVICES = [
    ("DD", "Đất đai", 12.0, 0.25),
    ("HT", "Hộ tịch – Tư pháp", 6.0, 0.25),
    ("CC", "Công chứng, chứng thực", 4.0, 0.2),
    ("KD", "Đăng ký kinh doanh", 10.0, 0.15),
    ("TKQ", "Trả kết quả", 3.0, 0.15),
]
SIM_COUNTERS = [
    (1, ["DD"]),
    (2, ["DD", "KD"]),
    (3, ["DD"]),
    (4, ["HT"]),
    (5, ["HT", "CC"]),
    (6, ["CC", "HT"]),
    (7, ["KD"]),
    (8, ["KD", "DD"]),
    (9, ["TKQ", "CC"]),
    (10, ["TKQ", "HT"]),
]
SIM_DAY = date(2026, 11, 25)  # a Wednesday (24 Nov is Vietnam Cultural Day, a holiday)
NO_SHOW_RATE = 0.03
PRIORITY_RATE = 0.08


@dataclass
class Report:
    visitors: int
    served: int
    no_shows: int
    waits_min: list[float] = field(default_factory=list)
    errors_min: list[float] = field(default_factory=list)
    late_closing_min: float = 0.0

    @property
    def mae(self) -> float:
        return mean(abs(e) for e in self.errors_min) if self.errors_min else 0.0

    @property
    def bias(self) -> float:
        return mean(self.errors_min) if self.errors_min else 0.0


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def arrival_minutes(rng: random.Random, n: int) -> list[float]:
    """Morning-heavy arrivals as minutes after midnight, in order: ~65% in the morning
    session, peaking 8:00–9:30, the rest around 14:30 (the soak benchmark's day too)."""
    out = []
    for _ in range(n):
        if rng.random() < 0.65:
            minutes = min(max(rng.gauss(8.6 * 60, 65), 6.6 * 60), 11.4 * 60)
        else:
            minutes = min(max(rng.gauss(14.5 * 60, 60), 13.1 * 60), 16.9 * 60)
        out.append(minutes)
    return sorted(out)


def _arrival_times(rng: random.Random, n: int, tz) -> list[datetime]:
    midnight = datetime.combine(SIM_DAY, time(0), tz)
    return [midnight + timedelta(minutes=m) for m in arrival_minutes(rng, n)]


def _sim_config(cfg: Config) -> Config:
    return replace(
        cfg,
        services=tuple(
            ServiceSeed(code=c, name_vi=n, name_en=c, prefix=str(i + 1), width=3, first=1, last=999)
            for i, (c, n, _, _) in enumerate(SIM_SERVICES)
        ),
        counters=tuple(
            CounterSeed(number=n, name=f"Quầy {n}", zone="A", services=tuple(s))
            for n, s in SIM_COUNTERS
        ),
        users=(),
        holidays=(),
        extra_workdays=(),
    )


def run_day(cfg: Config, work_dir: Path, *, visitors: int = 300, seed: int = 7) -> Report:
    cfg = _sim_config(cfg)
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    db = Database(work_dir / "sim.sqlite3")
    migrate(db)
    rng = random.Random(seed)
    tz = cfg.tz
    clock = FixedClock(datetime.combine(SIM_DAY, time(6, 30), tz))
    apply_config(db, cfg, clock.now())
    means = {c: m for c, _, m, _ in SIM_SERVICES}
    weights = [w for *_, w in SIM_SERVICES]
    codes = [c for c, *_ in SIM_SERVICES]

    # Event queue: (time, order, kind, payload)
    events: list[tuple[datetime, int, str, object]] = []
    order = 0

    def push(at: datetime, kind: str, payload: object) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, kind, payload))

    for at in _arrival_times(rng, visitors, tz):
        push(at, "arrive", rng.choices(codes, weights)[0])
    open_at = datetime.combine(SIM_DAY, time(7), tz)
    for number, _ in SIM_COUNTERS:
        push(open_at + timedelta(seconds=rng.uniform(0, 120)), "free", number)

    estimate: dict[int, int] = {}
    issued_at: dict[int, datetime] = {}
    report = Report(visitors=visitors, served=0, no_shows=0)
    closing = datetime.combine(SIM_DAY, time(17), tz)
    last_finish = closing
    lunch = (
        datetime.combine(SIM_DAY, time(11, 30), tz),
        datetime.combine(SIM_DAY, time(13, 30), tz),
    )
    while events:
        at, _, kind, payload = heapq.heappop(events)
        clock.set(at)
        if kind == "arrive":
            priority = "elderly" if rng.random() < PRIORITY_RATE else "normal"
            t = tickets.issue(db, cfg, service=payload, priority=priority, channel="kiosk", now=at)
            estimate[t["id"]] = t["estimated_wait_min"]
            issued_at[t["id"]] = at
        elif kind == "free":
            number = int(payload)  # type: ignore[call-overload]
            if lunch[0] <= at < lunch[1] and not _waiting_left(db, cfg, at):
                push(lunch[1], "free", number)
                continue
            result = tickets.call_next(db, cfg, number, f"sim{number}", at)
            if result is None:
                if at < closing or _waiting_left(db, cfg, at):
                    push(at + timedelta(minutes=1), "free", number)
                continue
            t = result.ticket
            wait = (at - issued_at[t["id"]]).total_seconds() / 60
            report.waits_min.append(wait)
            report.errors_min.append(estimate[t["id"]] - wait)
            if rng.random() < NO_SHOW_RATE:
                done_at = at + timedelta(minutes=1.5)
                tickets.no_show(db, cfg, t["id"], f"sim{number}", done_at)
                report.no_shows += 1
            else:
                m = means[t["queue_service"]]
                duration = rng.lognormvariate(math.log(m) - 0.18, 0.6)
                done_at = at + timedelta(minutes=max(0.5, duration))
                tickets.finish(db, cfg, t["id"], f"sim{number}", done_at)
                report.served += 1
            last_finish = max(last_finish, done_at)
            push(done_at, "free", number)
    report.late_closing_min = max(0.0, (last_finish - closing).total_seconds() / 60)
    db.close()
    return report


def _waiting_left(db: Database, cfg: Config, at: datetime) -> bool:
    from .store import tickets as store

    with db.connection() as conn:
        return bool(store.waiting_counts(conn, at.astimezone(cfg.tz).date().isoformat()))


def format_report(r: Report) -> str:
    w = r.waits_min
    rows = [
        ("visitors", f"{r.visitors}"),
        ("served", f"{r.served}"),
        ("no-shows", f"{r.no_shows}"),
        ("wait p50 (min)", f"{median(w):.1f}" if w else "-"),
        ("wait p90 (min)", f"{_percentile(w, 90):.1f}"),
        ("wait max (min)", f"{max(w):.1f}" if w else "-"),
        ("estimate MAE (min)", f"{r.mae:.1f}"),
        ("estimate bias (min, + = overestimate)", f"{r.bias:+.1f}"),
        ("served past closing (min)", f"{r.late_closing_min:.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
