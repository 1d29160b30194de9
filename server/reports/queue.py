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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from ..clock import iso, parse_iso
from ..config import Config
from ..i18n import t as text
from ..store import Database
from ..store import reports as store
from .period import Period
from .stats import minutes, summary

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
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)

    def count(self, status: str, moved: int, n: int) -> None:
        self.issued += n
        if status == "done":
            self.served += n
        elif status == "no_show":
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
    services: list[float] = field(default_factory=list)


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
    base, other_days = period.hour_modifiers()
    with db.read() as conn:
        services = store.service_names(conn)
        counters = store.counter_names(conn)
        staff_names = store.staff_names(conn)
        codes, usernames = list(services), list(staff_names)
        counted = store.ticket_counts(conn, period.day_from, period.day_to)
        timed = store.ticket_times(conn, period.day_from, period.day_to, base, other_days, codes)
        served = store.service_times(conn, period.day_from, period.day_to, codes, usernames)
        moved = store.transfers(conn, period.start_utc(), period.end_utc())
        pauses = _pause_rows(conn, cfg, period, now)

    total = _Group()
    by_service: dict[str, _Group] = defaultdict(_Group)
    by_hour: dict[int, _Group] = defaultdict(_Group)
    by_counter: dict[int, _Desk] = defaultdict(_Desk)
    by_staff: dict[str, _Desk] = defaultdict(_Desk)
    for service, status, counter, staff, moved_n, n in counted:
        total.count(status, moved_n, n)
        by_service[service].count(status, moved_n, n)
        for desk in (
            by_counter[counter] if counter is not None else None,
            by_staff[staff] if staff else None,
        ):
            if desk is not None and status == "done":
                desk.served += n
            elif desk is not None and status == "no_show":
                desk.no_show += n
    # a year is ~100,000 rows: first bucket them by their compact key in one tight loop,
    # then spread each bucket (a few hundred) over the groups it belongs to
    buckets: defaultdict[int, list[Any]] = defaultdict(list)
    for key, value in timed:
        buckets[key].append(value)
    for key, values in buckets.items():
        rest, moved_flag = divmod(key, 2)
        rest, status_i = divmod(rest, 8)
        service_i, hour = divmod(rest, 24)
        waits = [w for w in values if w is not None]
        status = store.STATUSES[status_i] if status_i < len(store.STATUSES) else "waiting"
        by_hour[hour].count(status, moved_flag, len(values))
        by_hour[hour].waits.extend(waits)
        by_service[codes[service_i]].waits.extend(waits)
        total.waits.extend(waits)
    buckets = defaultdict(list)
    for key, value in served:
        buckets[key].append(value)
    for key, values in buckets.items():
        rest, staff_i = divmod(key, 10000)
        service_i, counter_1 = divmod(rest, 10000)
        by_service[codes[service_i]].services.extend(values)
        total.services.extend(values)
        if counter_1:
            by_counter[counter_1 - 1].services.extend(values)
        if staff_i:
            by_staff[usernames[staff_i - 1]].services.extend(values)
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
            "service_total_min": minutes(sum(d.services)),
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


def _pause_label(reason: str, lang: str) -> str:
    key = f"reports.pause.{reason}"
    try:
        return text(key, lang)
    except KeyError:
        return reason
