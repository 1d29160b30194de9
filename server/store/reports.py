"""SQL for the supervisors' reports: read-only, ranges of business days.

Every figure derives from the ticket rows, their append-only history (ticket_event),
counter_event and rating.  SQLite does the heavy part in C — counting by group and
computing durations (julianday) — so a year of one center (~100,000 tickets) reaches
Python as one small grouped result plus two columns of durations; percentiles and the
shape of the report are made in ``server.reports``.

The local hour of a ticket is ``strftime('%H', issued_at, <modifier>)`` with the
center's UTC offset; days whose offset differs (a daylight-saving zone) are listed in a
CASE, so the hour is right on every day of any range.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

_WAIT = """(julianday(CASE WHEN t.transferred_from IS NULL THEN t.called_at
                            ELSE (SELECT min(e.at) FROM ticket_event e
                                  WHERE e.ticket_id = t.id AND +e.action = 'call') END)
             - julianday(t.issued_at)) * 86400.0"""
# (`+e.action`: look the few events of one ticket up by ticket_id; the planner would
# otherwise walk every 'call' event of the year through ticket_event_action.  And
# `INDEXED BY ticket_report` below: that index covers every column these queries read,
# so a year is one index range, never ~100,000 random reads of the wide ticket rows —
# the planner, with statistics, may otherwise prefer UNIQUE(service, day, number).)


def _hour(base: str, other_days: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The SQL of a ticket's local hour and its parameters (see the module doc).

    Stored times are UTC ('…T02:05:00.000000+00:00', ``clock.iso``), so with one
    whole-hour offset over the range the hour is plain arithmetic on the text — much
    cheaper than a date function on each of a year's ~100,000 tickets."""
    seconds = int(base.split()[0])
    if not other_days and seconds % 3600 == 0:
        return "(CAST(substr(t.issued_at, 12, 2) AS INTEGER) + ?) % 24", [seconds // 3600 + 24]
    if not other_days:
        return "CAST(strftime('%H', t.issued_at, ?) AS INTEGER)", [base]
    cases = " ".join("WHEN ? THEN ?" for _ in other_days)
    args = [x for day, mod in other_days.items() for x in (day, mod)]
    return (
        f"CAST(strftime('%H', t.issued_at, CASE t.day {cases} ELSE ? END) AS INTEGER)",
        [*args, base],
    )


def ticket_counts(conn: sqlite3.Connection, day_from: str, day_to: str) -> list[tuple[Any, ...]]:
    """(service, status, counter, staff, transferred, count) per day of the range — the
    GROUP BY follows the covering index's order, so SQLite needs no sort."""
    return conn.execute(
        """SELECT t.service, t.status, t.counter, t.staff,
                  sum(t.transferred_from IS NOT NULL), count(*)
           FROM ticket t INDEXED BY ticket_report WHERE t.day >= ? AND t.day <= ?
           GROUP BY t.day, t.service, t.status, t.counter, t.staff""",
        (day_from, day_to),
    ).fetchall()


#: Ticket states in the order of their index in the compact keys below.
STATUSES = ("waiting", "called", "serving", "done", "no_show", "cancelled")


def _index_of(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    """SQL giving a text column's position in `values` (-1 when absent)."""
    if not values:
        return "-1", []
    cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(values)))
    return f"CASE {column} {cases} ELSE -1 END", list(values)


def ticket_times(
    conn: sqlite3.Connection,
    day_from: str,
    day_to: str,
    base: str,
    other_days: Mapping[str, str],
    services: Sequence[str],
) -> list[tuple[int, float | None]]:
    """(key, seconds from issue to first call or None) of every ticket of the range.

    key = ((service index × 24 + local hour) × 8 + status index) × 2 + transferred, with
    the service's index in `services` and the status's in STATUSES: two small numbers a
    row instead of five values, since a year is ~100,000 rows to bring into Python.
    `base` is the strftime modifier of the center's UTC offset ('+25200 seconds'),
    `other_days` the days whose offset differs."""
    hour, hour_args = _hour(base, other_days)
    svc, svc_args = _index_of("t.service", services)
    status, status_args = _index_of("t.status", STATUSES)
    return conn.execute(
        f"""SELECT ((({svc}) * 24 + {hour}) * 8 + ({status})) * 2
                   + (t.transferred_from IS NOT NULL),
                   max(0.0, {_WAIT})
            FROM ticket t INDEXED BY ticket_report WHERE t.day >= ? AND t.day <= ?""",
        [*svc_args, *hour_args, *status_args, day_from, day_to],
    ).fetchall()


def service_times(
    conn: sqlite3.Connection,
    day_from: str,
    day_to: str,
    services: Sequence[str],
    staff: Sequence[str],
) -> list[tuple[int, float]]:
    """(key, seconds from start to finish) of the tickets served, key = (service index ×
    10,000 + counter + 1) × 10,000 + staff index + 1 (see ticket_times)."""
    svc, svc_args = _index_of("t.service", services)
    who, who_args = _index_of("t.staff", staff)
    return conn.execute(
        f"""SELECT (({svc}) * 10000 + coalesce(t.counter, -1) + 1) * 10000 + ({who}) + 1,
                   max(0.0, (julianday(t.finished_at) - julianday(t.started_at)) * 86400.0)
            FROM ticket t INDEXED BY ticket_report
            WHERE t.day >= ? AND t.day <= ? AND t.status = 'done'
              AND t.started_at IS NOT NULL AND t.finished_at IS NOT NULL""",
        [*svc_args, *who_args, day_from, day_to],
    ).fetchall()


def transfers(conn: sqlite3.Connection, start: str, end: str) -> list[tuple[Any, ...]]:
    """(counter, actor, count) of transfers out of each counter in [start, end) (UTC) —
    a year has a few thousand, read through ticket_event_action."""
    return conn.execute(
        """SELECT counter, actor, count(*) FROM ticket_event
           WHERE action = 'transfer' AND at >= ? AND at < ?
           GROUP BY counter, actor""",
        (start, end),
    ).fetchall()


def pauses(conn: sqlite3.Connection, start: str, end: str) -> list[tuple[Any, ...]]:
    """(counter, reason, paused_at, ended_at or None, actor) of pauses begun in [start, end)."""
    return conn.execute(
        """SELECT e.counter, e.reason, e.at,
                  (SELECT min(n.at) FROM counter_event n
                   WHERE n.counter = e.counter AND n.id > e.id) AS ended,
                  e.actor
           FROM counter_event e
           WHERE e.state = 'paused' AND e.at >= ? AND e.at < ?
           ORDER BY e.at""",
        (start, end),
    ).fetchall()


def ratings(conn: sqlite3.Connection, day_from: str, day_to: str) -> list[sqlite3.Row]:
    return conn.execute(
        """SELECT r.level, r.reason, r.reason_text, r.counter, r.staff, r.service, r.day, r.at,
                  r.source, r.dossier, t.label
           FROM rating r JOIN ticket t ON t.id = r.ticket_id
           WHERE r.day >= ? AND r.day <= ?
           ORDER BY r.at""",
        (day_from, day_to),
    ).fetchall()


def service_names(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT code, name_vi, name_en FROM service")}


def counter_names(conn: sqlite3.Connection) -> dict[int, str]:
    return {int(r[0]): r[1] for r in conn.execute("SELECT number, name FROM counter")}


def staff_names(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT username, full_name FROM user")}


def waiting_now(conn: sqlite3.Connection, day: str) -> dict[str, int]:
    rows = conn.execute(
        """SELECT queue_service, count(*) FROM ticket WHERE day = ? AND status = 'waiting'
           GROUP BY queue_service""",
        (day,),
    )
    return {r[0]: int(r[1]) for r in rows}


def counter_states(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        """SELECT c.number, c.name, c.state, c.pause_reason, c.state_since,
                  t.label AS serving_label, t.status AS serving_status, t.staff AS serving_staff
           FROM counter c
           LEFT JOIN ticket t ON t.counter = c.number AND t.status IN ('called', 'serving')
           WHERE c.active = 1 ORDER BY c.number"""
    ).fetchall()
