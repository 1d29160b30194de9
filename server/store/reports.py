"""SQL for the supervisors' reports: read-only, ranges of business days.

Every figure derives from the ticket rows, their append-only history (ticket_event),
counter_event and rating.  SQLite does the heavy part in C — counting by group and
computing durations (julianday) — so a year of one center (~100,000 tickets) reaches
Python as small grouped results, the durations of a group joined into one string;
percentiles and the shape of the report are made in ``server.reports``.

The local hour of a ticket is ``strftime('%H', issued_at, <modifier>)`` with the
center's UTC offset; days whose offset differs (a daylight-saving zone) are listed in a
CASE, so the hour is right on every day of any range.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlite_utils import Database as Utils

from .dialect import indexed_by, is_pg

_WAIT = """(julianday(CASE WHEN t.transferred_from IS NULL THEN t.called_at
                            ELSE (SELECT min(e.at) FROM ticket_event e
                                  WHERE e.ticket_id = t.id AND {action} = 'call') END)
             - julianday(t.issued_at)) * 86400.0"""
# (`+e.action` on SQLite: look the few events of one ticket up by ticket_id, never
# through an index of actions, should one be added; PostgreSQL has no unary + on text.  And
# `INDEXED BY ticket_report` below: that index covers every column these queries read,
# so a year is one index range, never ~100,000 random reads of the wide ticket rows —
# the planner, with statistics, may otherwise prefer UNIQUE(service, day, number).)


#: What SQLite and PostgreSQL say differently here, by ``is_pg``: the hour of a time
#: shifted by a modifier ('+25200 seconds'), the join of a group's values into one text,
#: and SQLite's unary plus that keeps an index from being used (see _WAIT).
_LOCAL_HOUR = {
    False: "CAST(strftime('%H', t.issued_at, {modifier}) AS INTEGER)",
    True: "CAST(extract(hour FROM t.issued_at::timestamptz + CAST({modifier} AS interval)) AS INTEGER)",
}
_JOINED = {False: "group_concat({expr})", True: "string_agg(CAST({expr} AS TEXT), ',')"}
_ACTION = {False: "+e.action", True: "e.action"}


def _hour(pg: bool, base: str, other_days: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The SQL of a ticket's local hour and its parameters (see the module doc).

    Stored times are UTC ('…T02:05:00.000000+00:00', ``clock.iso``), so with one
    whole-hour offset over the range the hour is plain arithmetic on the text — much
    cheaper than a date function on each of a year's ~100,000 tickets."""
    seconds = int(base.split()[0])
    if not other_days and seconds % 3600 == 0:
        return "(CAST(substr(t.issued_at, 12, 2) AS INTEGER) + ?) % 24", [seconds // 3600 + 24]
    if not other_days:
        return _LOCAL_HOUR[pg].format(modifier="?"), [base]
    cases = " ".join("WHEN ? THEN ?" for _ in other_days)
    args = [x for day, mod in other_days.items() for x in (day, mod)]
    return _LOCAL_HOUR[pg].format(modifier=f"CASE t.day {cases} ELSE ? END"), [*args, base]


def _seconds(expr: str) -> str:
    """Whole seconds of a julianday difference, as the text a group_concat joins."""
    return f"CAST(round(max(0.0, {expr})) AS INTEGER)"


def ticket_times(
    conn: sqlite3.Connection, day_from: str, day_to: str, base: str, other_days: Mapping[str, str]
) -> list[tuple[str, str, int, str, int, int, str | None]]:
    """(day, service, local hour, status, transferred, count, "wait,wait,…") per group of
    the range, the waits (issue → first call) in whole seconds, NULL when none was called.

    A year is ~100,000 tickets: joined by SQLite in C, their waits reach Python as a few
    hundred strings instead of 100,000 rows.  `base` is the strftime modifier of the
    center's UTC offset ('+25200 seconds'), `other_days` the days whose offset differs."""
    pg = is_pg(conn)
    hour, hour_args = _hour(pg, base, other_days)
    return conn.execute(
        f"""SELECT t.day, t.service, {hour}, t.status,
                   CASE WHEN t.transferred_from IS NOT NULL THEN 1 ELSE 0 END,
                   count(*), {_JOINED[pg].format(expr=_seconds(_WAIT.format(action=_ACTION[pg])))}
            FROM {indexed_by(conn, "ticket t", "ticket_report")} WHERE t.day >= ? AND t.day <= ?
            GROUP BY 1, 2, 3, 4, 5""",
        [*hour_args, day_from, day_to],
    ).fetchall()


def ticket_work(
    conn: sqlite3.Connection, day_from: str, day_to: str
) -> list[tuple[str, str, str, int | None, str | None, int, str | None]]:
    """(day, service, status, counter, staff, count, "seconds,seconds,…") per group of
    the range: who finished what, with the service times (start → finish, whole seconds) of
    the tickets served (see ticket_times)."""
    pg = is_pg(conn)
    took = _seconds("(julianday(t.finished_at) - julianday(t.started_at)) * 86400.0")
    joined = _JOINED[pg].format(expr=f"CASE WHEN t.status = 'done' THEN {took} END")
    return conn.execute(
        f"""SELECT t.day, t.service, t.status, t.counter, t.staff, count(*), {joined}
            FROM {indexed_by(conn, "ticket t", "ticket_report")} WHERE t.day >= ? AND t.day <= ?
            GROUP BY 1, 2, 3, 4, 5""",
        [day_from, day_to],
    ).fetchall()


# --- the day cache ------------------------------------------------------------------------
# ticket_times and ticket_work of a past day, kept as JSON: a year's report then reads
# ~250 small rows instead of grouping ~100,000 tickets.  Every change to a ticket adds a
# ticket_event row, so `report_mark.event_id` says up to which event the cached days are
# known to be current; a report first drops the days of the events after it.


def m0004_reports_day_cache(db: Utils) -> None:
    db.execute(
        """CREATE TABLE report_day (
            day TEXT NOT NULL,
            hours TEXT NOT NULL,
            times TEXT NOT NULL,
            work TEXT NOT NULL,
            PRIMARY KEY (day, hours)
        )"""
    )
    db.execute("CREATE TABLE report_mark (id INTEGER PRIMARY KEY CHECK (id = 1), event_id INTEGER)")
    db.execute("INSERT INTO report_mark (id, event_id) VALUES (1, 0)")


MIGRATIONS = [("0004_reports_day_cache", m0004_reports_day_cache)]


def last_event_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM ticket_event").fetchone()[0])


def refresh_day_cache(conn: sqlite3.Connection) -> None:
    """Forget the cached days that changed since the mark, and move the mark (write)."""
    mark = int(conn.execute("SELECT event_id FROM report_mark WHERE id = 1").fetchone()[0])
    last = last_event_id(conn)
    if last <= mark:
        return
    if conn.execute("SELECT 1 FROM report_day LIMIT 1").fetchone() is not None:
        conn.execute(
            """DELETE FROM report_day WHERE day IN (
                   SELECT DISTINCT t.day FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id
                   WHERE e.id > ?)""",
            (mark,),
        )
    conn.execute("UPDATE report_mark SET event_id = ? WHERE id = 1", (last,))


def cached_days(
    conn: sqlite3.Connection, day_from: str, day_to: str
) -> dict[tuple[str, str], tuple[str, str]]:
    """{(day, hours modifier): (times JSON, work JSON)} of the range."""
    rows = conn.execute(
        "SELECT day, hours, times, work FROM report_day WHERE day >= ? AND day <= ?",
        (day_from, day_to),
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def cache_days(
    conn: sqlite3.Connection, rows: list[tuple[str, str, str, str]], seen_event_id: int
) -> None:
    """Keep (day, hours, times, work) rows computed from a snapshot that had seen every
    event up to `seen_event_id` — unless the mark has moved past it meanwhile: a change
    in between may already have been checked and would then never drop them (write)."""
    mark = int(conn.execute("SELECT event_id FROM report_mark WHERE id = 1").fetchone()[0])
    if mark > seen_event_id:
        return
    conn.executemany(
        """INSERT INTO report_day (day, hours, times, work) VALUES (?, ?, ?, ?)
           ON CONFLICT (day, hours) DO UPDATE SET times = excluded.times, work = excluded.work""",
        rows,
    )


def transfers(conn: sqlite3.Connection, start: str, end: str) -> list[tuple[Any, ...]]:
    """(counter, actor, count) of transfers out of each counter in [start, end) (UTC) —
    a year has a few thousand, read through the partial index ticket_event_transfer."""
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
    return {r[0]: r[1] for r in conn.execute('SELECT username, full_name FROM "user"')}


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
