"""The queue report's raw groups for a range of days, through the day cache.

A year of one center is ~100,000 tickets; grouping them again for every report took
most of a second.  A past business day's groups (``store.reports.ticket_times`` and
``ticket_work`` of that day) are kept in ``report_day`` the first time a report needs
them, and dropped again as soon as any of that day's tickets changes (every change adds
a ticket_event row; see ``store.reports.refresh_day_cache``).  Today is always read
fresh.  Cached or fresh, a day gives exactly the same rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from ..clock import business_day
from ..store import Database
from ..store import reports as store
from .period import Period

Groups = tuple[list[list[Any]], list[list[Any]]]


def day_groups(db: Database, period: Period, now: datetime) -> Groups:
    """(times rows, work rows) of every day of the period, without their day column:
    (service, hour, status, transferred, count, waits) and (service, status, counter,
    staff, count, service times) — see ``store.reports``."""
    base, other_days = period.hour_modifiers()
    today = business_day(now, period.tz).isoformat()
    past = period.day_from < today
    if past:
        with db.write() as conn:
            store.refresh_day_cache(conn)
    times: list[list[Any]] = []
    work: list[list[Any]] = []
    with db.read() as conn:
        cached = store.cached_days(conn, period.day_from, period.day_to) if past else {}
        missing = []
        for day in period.each_day():
            found = cached.get((day, other_days.get(day, base)))
            if found is None:
                missing.append(day)
                continue
            times.extend(json.loads(found[0]))
            work.extend(json.loads(found[1]))
        if not missing:
            return times, work
        seen = store.last_event_id(conn)
        fresh_times = store.ticket_times(conn, missing[0], missing[-1], base, other_days)
        fresh_work = store.ticket_work(conn, missing[0], missing[-1])
    wanted = set(missing)
    by_day: dict[str, Groups] = defaultdict(lambda: ([], []))
    for day, *row in fresh_times:
        if day in wanted:
            by_day[day][0].append(row)
    for day, *row in fresh_work:
        if day in wanted:
            by_day[day][1].append(row)
    keep = []
    for day in missing:
        day_times, day_work = by_day[day]
        times.extend(day_times)
        work.extend(day_work)
        if day < today:
            hours = other_days.get(day, base)
            keep.append((day, hours, json.dumps(day_times), json.dumps(day_work)))
    if keep:
        with db.write() as conn:
            store.cache_days(conn, keep, seen)
    return times, work
