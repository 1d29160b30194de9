"""The queue report: tickets issued, served, no-show, cancelled; waiting and service
times; tickets by hour; per-counter and per-staff figures; pauses by reason.

Definitions (what the supervisor's table means):
- a ticket belongs to the range by its business day, and to the service it was issued for;
- waiting time = issued → first called (a transferred ticket keeps its first call);
- service time = started → finished of tickets served (done); a ticket finished without
  pressing Start counts from its call, as the queue engine records it;
- a counter's and a staff member's served tickets are those they finished; transfers
  out are counted where the citizen was sent from;
- a pause lasts until the counter's next state change, and at most until the end of
  that day's opening hours (a counter left paused overnight is not 15 hours of pause).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from ..clock import iso, parse_iso
from ..config import Config
from ..i18n import t as text
from ..store import Database
from ..store import reports as store
from .period import Period
from .queue_days import day_groups
from .stats import minutes, parse_durations, summary, total_seconds

OPEN_STATES = ("waiting", "called", "serving")


@dataclass
class _Group:
    """Counts and durations of one row of the report (a service, an hour, the total)."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    open: int = 0
    waits: Counter[int] = field(default_factory=Counter)
    services: Counter[int] = field(default_factory=Counter)

    def count(self, status: str, moved: int, n: int) -> None:
        self.issued += n
        if status == "done":
            self.served += n
        elif status in ("no_show", "lapsed"):  # lapsed: a remote ticket not here when called
            self.no_show += n
        elif status == "cancelled":
            self.cancelled += n
        else:
            self.open += n
        if moved:
            self.transferred += n

    def counts(self) -> dict[str, Any]:
        return {
            "issued": self.issued,
            "served": self.served,
            "no_show": self.no_show,
            "cancelled": self.cancelled,
            "transferred": self.transferred,
            "open": self.open,
            "wait": summary(self.waits),
            "service_time": summary(self.services),
        }


@dataclass
class _Desk:
    """A counter's or a staff member's work."""

    served: int = 0
    no_show: int = 0
    transferred_out: int = 0
    services: Counter[int] = field(default_factory=Counter)


def _pause_rows(conn: Any, cfg: Config, period: Period, now: datetime) -> list[dict[str, Any]]:
    closing = cfg.hours.sessions[-1][1] if cfg.hours.sessions else time(23, 59)
    out = []
    for counter, reason, at, ended, actor in store.pauses(
        conn, period.start_utc(), period.end_utc()
    ):
        start = parse_iso(at)
        local_day = start.astimezone(cfg.tz).date()
        cap = datetime.combine(local_day, closing, cfg.tz)
        if start >= cap:  # paused after hours: at most until midnight
            cap = datetime.combine(local_day + timedelta(days=1), time(0), cfg.tz)
        end = max(start, min(parse_iso(ended) if ended else now, cap))
        out.append(
            {
                "counter": counter,
                "reason": reason,
                "at": at,
                "actor": actor,
                "seconds": max(0.0, (end - start).total_seconds()),
            }
        )
    return out


def queue_report(
    db: Database, cfg: Config, period: Period, now: datetime, lang: str = "vi"
) -> dict[str, Any]:
    times, work = day_groups(db, period, now)
    with db.read() as conn:
        services = store.service_names(conn)
        counters = store.counter_names(conn)
        staff_names = store.staff_names(conn)
        moved = store.transfers(conn, period.start_utc(), period.end_utc())
        pauses = _pause_rows(conn, cfg, period, now)

    total = _Group()
    by_service: dict[str, _Group] = defaultdict(_Group)
    by_hour: dict[int, _Group] = defaultdict(_Group)
    by_counter: dict[int, _Desk] = defaultdict(_Desk)
    by_staff: dict[str, _Desk] = defaultdict(_Desk)
    for (service, hour, status, moved_flag), (n, joined) in _merged(times, 4).items():
        waits = parse_durations(joined)
        total.count(status, moved_flag, n)
        for group in (by_hour[hour], by_service[service]):
            group.count(status, moved_flag, n)
            group.waits.update(waits)  # counted in C; the total adds the services' up
    for (service, status, counter, staff), (n, joined) in _merged(work, 4).items():
        took = parse_durations(joined)
        by_service[service].services.update(took)
        for desk in (
            by_counter[counter] if counter is not None else None,
            by_staff[staff] if staff else None,
        ):
            if desk is None:
                continue
            desk.services.update(took)
            if status == "done":
                desk.served += n
            elif status == "no_show":
                desk.no_show += n
    for group in by_service.values():
        total.waits.update(group.waits)
        total.services.update(group.services)
    for counter, actor, n in moved:
        if counter is not None:
            by_counter[counter].transferred_out += n
        if actor:
            by_staff[actor].transferred_out += n

    pause_by_reason: dict[str, list[float]] = defaultdict(list)
    pause_by_counter: dict[int, list[float]] = defaultdict(list)
    for p in pauses:
        pause_by_reason[p["reason"] or "other"].append(p["seconds"])
        pause_by_counter[p["counter"]].append(p["seconds"])
        by_counter.setdefault(p["counter"], _Desk())

    def desk_json(d: _Desk) -> dict[str, Any]:
        return {
            "served": d.served,
            "no_show": d.no_show,
            "transferred_out": d.transferred_out,
            "service_time": summary(d.services),
            "service_total_min": minutes(total_seconds(d.services)),
        }

    return {
        "report": "queue",
        **period.as_json(),
        "generated_at": iso(now),
        "totals": total.counts(),
        "by_service": [
            {
                "service": code,
                "name": services.get(code, (code, code))[0 if lang == "vi" else 1],
                **g.counts(),
            }
            for code, g in sorted(by_service.items(), key=lambda kv: (-kv[1].issued, kv[0]))
        ],
        "by_hour": [
            {"hour": h, **{k: v for k, v in g.counts().items() if k != "service_time"}}
            for h, g in sorted(by_hour.items())
        ],
        "by_counter": [
            {
                "counter": n,
                "name": counters.get(n, str(n)),
                **desk_json(d),
                "pauses": len(pause_by_counter.get(n, [])),
                "pause_min": minutes(sum(pause_by_counter.get(n, []))),
            }
            for n, d in sorted(by_counter.items())
        ],
        "by_staff": [
            {"staff": s, "full_name": staff_names.get(s) or s, **desk_json(d)}
            for s, d in sorted(by_staff.items())
        ],
        "pauses": [
            {
                "reason": reason,
                "label": _pause_label(reason, lang),
                "count": len(secs),
                "total_min": minutes(sum(secs)),
                "mean_min": minutes(sum(secs) / len(secs)),
                "max_min": minutes(max(secs)),
            }
            for reason, secs in sorted(pause_by_reason.items())
        ],
    }


def _merged(rows: list[list[Any]], width: int) -> dict[tuple[Any, ...], tuple[int, str]]:
    """Rows of several days added up by their first `width` columns: (count, joined
    durations) — one string to split per group instead of one per day."""
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    parts: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for row in rows:
        key = tuple(row[:width])
        counts[key] += row[width]
        if row[width + 1]:
            parts[key].append(row[width + 1])
    return {key: (n, ",".join(parts.get(key, ()))) for key, n in counts.items()}


def _pause_label(reason: str, lang: str) -> str:
    key = f"reports.pause.{reason}"
    try:
        return text(key, lang)
    except KeyError:
        return reason
