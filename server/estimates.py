"""People ahead and estimated wait, from the recent service rate of the counters that
serve a queue.  ``motcua simulate`` measures the error of this model against a
simulated day (``make bench`` prints the mean of five seeds); the rules and constants
below are what that measurement settled on:

- a ticket taken before its service's session opens (kiosks issue from
  ``issue_before_min`` before the morning and during the lunch break) waits for the
  opening first, and then the first *capacity* citizens in line are called at once —
  this took the simulated day's mean absolute error from 2.7 to 1.2 minutes, because
  early-morning and after-lunch tickets wait longest;
- otherwise everyone ahead is served at the counters' recent rate: the observed mean
  service time (blended with the configured default while samples are few) divided by
  the counters that serve the queue (first-preference counters fully, others at
  ``SECONDARY_SHARE``, paused ones at a quarter).  Counting busy counters' remaining
  time, idle counters, or secondary counters only when their first queue is empty did
  not lower the error further on the simulated day.

An issue's estimate costs no query of its own: its inputs (people ahead from the queue's
waiting count, the active counters, the recent finishes) come with the service row in
the issue's one read (``store.issue_context``); nothing grows with the queue."""

from __future__ import annotations

import functools
import json
import math
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from . import hours
from .clock import business_day, iso
from .config import Config
from .protocol import CounterState
from .store import catalog
from .store import tickets as store

#: Finished tickets needed before the observed mean replaces the configured default.
MIN_SAMPLES = 3
#: How much a counter contributes to a queue that is not its first preference.
SECONDARY_SHARE = 0.5


@functools.lru_cache(maxsize=256)
def _services(stored: str) -> tuple[str, ...]:
    return tuple(json.loads(stored))


def _counters(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"services": _services(services), "state": state}
        for services, state in store.counter_queues(conn)
    ]


@functools.lru_cache(maxsize=256)
def _capacity_of(counters: str, service: str) -> float:
    """`capacity` of the active counters given as ``QueueLoad.counters`` (JSON text):
    that text changes only when a counter opens, pauses, closes or is reconfigured, so
    an issue almost always finds its answer here instead of rebuilding every counter."""
    rows = [{"services": _services(s), "state": state} for s, state in json.loads(counters)]
    return capacity(rows, service)[0]


def capacity(counters: list[dict[str, Any]], service: str) -> tuple[float, int]:
    """(effective number of counters serving this queue, how many of them are open)."""
    share, open_count = 0.0, 0
    for c in counters:
        if service not in c["services"] or c["state"] == CounterState.CLOSED:
            continue
        weight = 1.0 if c["services"][0] == service else SECONDARY_SHARE
        if c["state"] == CounterState.OPEN:
            share += weight
            open_count += 1
        else:  # paused: will come back, count it at a quarter
            share += weight * 0.25
    return share, open_count


def window_start(cfg: Config, now: datetime) -> str:
    """Finishes since this moment make the observed service rate."""
    return iso(now - timedelta(minutes=cfg.estimate_window_min))


def mean_service_min(conn: sqlite3.Connection, cfg: Config, service: str, now: datetime) -> float:
    day = business_day(now, cfg.tz).isoformat()
    count, mean = store.recent_service_stats(conn, service, day, window_start(cfg, now))
    return _blended(cfg, count, mean)


def _blended(cfg: Config, count: int, mean: float | None) -> float:
    if count >= MIN_SAMPLES and mean is not None:
        # Blend towards the default while samples are few, so one odd case does not swing it.
        w = min(1.0, count / 10)
        return w * mean + (1 - w) * cfg.default_service_min
    return cfg.default_service_min


def opens_in_min(cfg: Config, service: dict[str, Any] | None, now: datetime) -> float:
    """Minutes until the service's counters start serving (0 during a session)."""
    local = now.astimezone(cfg.tz)
    for start, end in hours.service_hours(cfg, service or {}).sessions:
        opens = datetime.combine(local.date(), start, cfg.tz)
        if local < opens:
            return (opens - local).total_seconds() / 60
        if local < datetime.combine(local.date(), end, cfg.tz):
            return 0.0
    return 0.0


def wait_minutes(ahead: int, mean_min: float, cap: float, opens_in: float = 0.0) -> int:
    """Expected minutes until a citizen with `ahead` people before them is called.

    Before opening, the first `cap` citizens in line are called at the opening itself."""
    if cap <= 0:
        cap = 1.0
    if opens_in > 0:
        return math.ceil(opens_in + max(0.0, ahead + 1 - cap) * mean_min / cap)
    if ahead <= 0:
        return 0
    return max(0, math.ceil(ahead * mean_min / cap))


def for_ticket(
    conn: sqlite3.Connection,
    cfg: Config,
    t: dict[str, Any],
    now: datetime,
    service: dict[str, Any] | None = None,
) -> dict[str, int]:
    """People ahead of a waiting ticket and its estimated wait; `service` is the row of
    its queue's service when the caller has it (else it is read)."""
    if service is None or service.get("code") != t["queue_service"]:
        service = catalog.service(conn, t["queue_service"])
    ahead = store.ahead_of(conn, t)
    cap, _ = capacity(_counters(conn), t["queue_service"])
    mean = mean_service_min(conn, cfg, t["queue_service"], now)
    wait = wait_minutes(ahead, mean, cap, opens_in_min(cfg, service, now))
    return {"people_ahead": ahead, "estimated_wait_min": wait}


def for_new_ticket(
    cfg: Config, load: store.QueueLoad, now: datetime, service: dict[str, Any]
) -> dict[str, int]:
    """`for_ticket` of a ticket being issued now in `service`'s queue, from the load read
    with the service (``store.issue_context``) — the same answer, without a query."""
    cap = _capacity_of(load.counters, service["code"])
    mean = _blended(cfg, load.done, load.done_mean_min)
    wait = wait_minutes(load.ahead, mean, cap, opens_in_min(cfg, service, now))
    return {"people_ahead": load.ahead, "estimated_wait_min": wait}


def for_service(
    conn: sqlite3.Connection,
    cfg: Config,
    service: str,
    waiting: int,
    counters: list[dict[str, Any]],
    now: datetime,
    row: dict[str, Any] | None = None,
) -> int:
    """Estimated wait of a ticket taken now (everyone waiting is ahead of it); `row` is
    the service's row, for its opening hours."""
    cap, _ = capacity(counters, service)
    mean = mean_service_min(conn, cfg, service, now)
    return wait_minutes(waiting, mean, cap, opens_in_min(cfg, row, now))
