"""SQL for tickets, their history, and the calls the boards show."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database as Utils

from .dialect import is_pg

TICKET_COLUMNS = (
    "service",
    "day",
    "number",
    "label",
    "priority",
    "status",
    "queue_service",
    "target_counter",
    "queued_at",
    "channel",
    "device_id",
    "token",
    "phone",
    "issued_at",
    "pending_checkin",
)


def m0008_waiting_count(db: Utils) -> None:
    """How many tickets wait in each queue of each day, normal and priority apart, kept
    by triggers on `ticket` — so every writer (the queue engine, admin tools, another
    process) keeps it exact, and an issue reads its people ahead in one indexed lookup
    instead of counting a queue that may be thousands of tickets long.  A later
    migration that rebuilds `ticket` (e.g. sqlite-utils' transform) drops these
    triggers with the old table: it must create them again and recount."""
    db.execute(
        """CREATE TABLE waiting_count (
            day TEXT NOT NULL,
            queue_service TEXT NOT NULL,
            prio INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (day, queue_service, prio)
        )"""
    )
    enter = """INSERT INTO waiting_count (day, queue_service, prio, n)
               VALUES (new.day, new.queue_service, new.priority != 'normal', 1)
               ON CONFLICT (day, queue_service, prio) DO UPDATE SET n = n + 1;"""
    leave = """UPDATE waiting_count SET n = n - 1
               WHERE day = old.day AND queue_service = old.queue_service
                 AND prio = (old.priority != 'normal');"""
    moved = "AFTER UPDATE OF status, day, queue_service, priority ON ticket"
    for name, when, body in (
        ("waiting_count_insert", "AFTER INSERT ON ticket WHEN new.status = 'waiting'", enter),
        ("waiting_count_delete", "AFTER DELETE ON ticket WHEN old.status = 'waiting'", leave),
        ("waiting_count_leave", f"{moved} WHEN old.status = 'waiting'", leave),
        ("waiting_count_enter", f"{moved} WHEN new.status = 'waiting'", enter),
    ):
        db.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    db.execute(
        """INSERT INTO waiting_count (day, queue_service, prio, n)
           SELECT day, queue_service, priority != 'normal', count(*) FROM ticket
           WHERE status = 'waiting' GROUP BY 1, 2, 3"""
    )


def m0009_event_partial_indexes(db: Utils) -> None:
    """Every ticket event fed three indexes that only some events are ever looked up by:
    counter ones (`ticket_event_counter`, and `ticket_event_at` for the latest action
    at each counter) and transfers (`ticket_event_action`, for the report).  Partial
    indexes hold just those rows, so an issue's event — a quarter of all events, on
    the path every kiosk waits for — updates none of them, and a call or a finish one
    fewer.  The queries keep the terms (`counter = ?`, `counter IS NOT NULL`,
    `action = 'transfer'`) that let SQLite use them."""
    db.execute("DROP INDEX IF EXISTS ticket_event_at")
    db.execute("DROP INDEX IF EXISTS ticket_event_counter")
    db.execute("DROP INDEX IF EXISTS ticket_event_action")
    db.execute("CREATE INDEX ticket_event_at ON ticket_event (at) WHERE counter IS NOT NULL")
    db.execute(
        "CREATE INDEX ticket_event_counter ON ticket_event (counter, at) WHERE counter IS NOT NULL"
    )
    db.execute("CREATE INDEX ticket_event_transfer ON ticket_event (at) WHERE action = 'transfer'")


MIGRATIONS = [
    ("0008_waiting_count", m0008_waiting_count),
    ("0009_event_partial_indexes", m0009_event_partial_indexes),
]


def next_number(conn: sqlite3.Connection, service: str, day: str, first: int) -> int:
    """Allocate the next number of (service, day); the first call of a day starts at `first`.

    Must run inside a write transaction: the upsert is the whole allocation, so two
    writers can never get the same number and no number is skipped."""
    row = conn.execute(
        """INSERT INTO daily_number (service, day, n) VALUES (?, ?, ?)
           ON CONFLICT(service, day) DO UPDATE SET n = daily_number.n + 1
           RETURNING n""",
        (service, day, first),
    ).fetchone()
    return int(row[0])


def undo_number(conn: sqlite3.Connection, service: str, day: str) -> None:
    """Give back the number just allocated in this same transaction (cap reached)."""
    conn.execute("UPDATE daily_number SET n = n - 1 WHERE service = ? AND day = ?", (service, day))


def issued_count(conn: sqlite3.Connection, service: str, day: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM ticket WHERE service = ? AND day = ?", (service, day)
    ).fetchone()
    return int(row[0])


def insert_ticket(conn: sqlite3.Connection, t: dict[str, Any]) -> int:
    cur = conn.execute(
        f"INSERT INTO ticket ({', '.join(TICKET_COLUMNS)}) VALUES ({', '.join('?' * len(TICKET_COLUMNS))}) RETURNING id",
        [t.get(c) for c in TICKET_COLUMNS],
    )
    return int(cur.fetchone()[0])


def ticket(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    return dict(row) if row else None


def ticket_by_token(conn: sqlite3.Connection, token: str) -> dict[str, Any] | None:
    if not token.isprintable():  # no token holds a control character (nor NUL, which
        return None  # PostgreSQL text refuses): not found, as on SQLite
    row = conn.execute("SELECT * FROM ticket WHERE token = ?", (token,)).fetchone()
    return dict(row) if row else None


def tickets_by_tokens(conn: sqlite3.Connection, tokens: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    tokens = [t for t in tokens if t.isprintable()]  # see ticket_by_token
    for i in range(0, len(tokens), 500):
        chunk = tokens[i : i + 500]
        rows = conn.execute(
            f"SELECT * FROM ticket WHERE token IN ({', '.join('?' * len(chunk))})", chunk
        )
        out += [dict(r) for r in rows]
    return out


def ticket_by_label(
    conn: sqlite3.Connection, day: str, label: str, services: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    sql = "SELECT * FROM ticket WHERE day = ? AND label = ?"
    args: list[Any] = [day, label]
    if services is not None:
        sql += f" AND queue_service IN ({', '.join('?' * len(services))})"
        args += list(services)
    return [dict(r) for r in conn.execute(sql + " ORDER BY id", args)]


def update_ticket(conn: sqlite3.Connection, ticket_id: int, **fields: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(f"UPDATE ticket SET {sets} WHERE id = ?", [*fields.values(), ticket_id])


def add_event(
    conn: sqlite3.Connection,
    ticket_id: int,
    action: str,
    from_status: str | None,
    to_status: str,
    at: str,
    actor: str | None,
    counter: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        """INSERT INTO ticket_event (ticket_id, action, from_status, to_status, at, actor, counter, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            ticket_id,
            action,
            from_status,
            to_status,
            at,
            actor,
            counter,
            json.dumps(detail, ensure_ascii=False) if detail else None,
        ),
    )


def events(conn: sqlite3.Connection, ticket_id: int) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM ticket_event WHERE ticket_id = ? ORDER BY id", (ticket_id,))
    return [dict(r) for r in rows]


def at_counter(conn: sqlite3.Connection, counter: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM ticket WHERE counter = ? AND status IN ('called', 'serving') ORDER BY called_at DESC LIMIT 1",
        (counter,),
    ).fetchone()
    return dict(row) if row else None


def serving_by_counter(conn: sqlite3.Connection) -> dict[int, dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM ticket WHERE status IN ('called', 'serving') AND counter IS NOT NULL ORDER BY called_at"
    )
    return {r["counter"]: dict(r) for r in rows}


def _order_by_preference(services: Sequence[str]) -> str:
    cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(services)))
    return f"CASE queue_service {cases} ELSE {len(services)} END"


def first_waiting(
    conn: sqlite3.Connection, day: str, services: Sequence[str], counter: int, *, priority: bool
) -> dict[str, Any] | None:
    """The next waiting ticket for a counter: its service preference, then queue time."""
    if not services:
        return None
    marks = ", ".join("?" * len(services))
    cond = "priority != 'normal'" if priority else "priority = 'normal'"
    row = conn.execute(
        f"""SELECT * FROM ticket
            WHERE day = ? AND status = 'waiting' AND queue_service IN ({marks}) AND {cond}
              AND (target_counter IS NULL OR target_counter = ?) AND pending_checkin = 0
            ORDER BY {_order_by_preference(services)}, queued_at, id
            LIMIT 1""",
        [day, *services, counter, *services],
    ).fetchone()
    return dict(row) if row else None


def waiting_counts(conn: sqlite3.Connection, day: str) -> dict[str, int]:
    """Waiting tickets per queue (queues with none left out), from `waiting_count`."""
    rows = conn.execute(
        """SELECT queue_service, sum(n) FROM waiting_count WHERE day = ?
           GROUP BY queue_service HAVING sum(n) > 0""",
        (day,),
    )
    return {r[0]: int(r[1]) for r in rows}


def waiting(
    conn: sqlite3.Connection, day: str, services: Sequence[str], limit: int = 200
) -> list[dict[str, Any]]:
    marks = ", ".join("?" * len(services))
    rows = conn.execute(
        f"""SELECT * FROM ticket WHERE day = ? AND status = 'waiting' AND queue_service IN ({marks})
            ORDER BY (priority = 'normal'), queued_at, id LIMIT ?""",
        [day, *services, limit],
    )
    return [dict(r) for r in rows]


def ahead_of(conn: sqlite3.Connection, t: dict[str, Any]) -> int:
    """Waiting tickets of the same queue that will be called before this one.

    Priority tickets go first, so a normal ticket has every waiting priority ticket
    ahead of it plus the normal ones queued earlier; a priority ticket only the
    priority ones queued earlier."""
    if t["priority"] == "normal":
        sql = """SELECT count(*) FROM ticket WHERE day = ? AND status = 'waiting' AND queue_service = ?
                 AND id != ? AND (priority != 'normal' OR queued_at < ? OR (queued_at = ? AND id < ?))"""
    else:
        sql = """SELECT count(*) FROM ticket WHERE day = ? AND status = 'waiting' AND queue_service = ?
                 AND id != ? AND priority != 'normal' AND (queued_at < ? OR (queued_at = ? AND id < ?))"""
    row = conn.execute(
        sql, (t["day"], t["queue_service"], t["id"], t["queued_at"], t["queued_at"], t["id"])
    ).fetchone()
    return int(row[0])


@dataclass(frozen=True)
class QueueLoad:
    """What the estimate of a ticket about to be issued needs, read with its service."""

    ahead: int  # waiting tickets that will be called before it
    counters: str  # the active counters as JSON: [[services (stored JSON), state], …]
    done: int  # tickets of its queue finished since the estimate window's start
    done_mean_min: float | None  # their mean minutes between call and finish


#: The service row and its queue's load, in one statement.  People ahead of a ticket
#: not yet inserted (a larger id than any): everyone waiting in its queue (priority
#: tickets only, for a priority ticket) from `waiting_count`, less those queued after
#: it — normally none (only a clock set back makes some), found by a seek of the queue
#: index.  That is `ahead_of`'s answer for the new ticket, without counting the queue.
#: (Scalar subqueries where one value will do: a derived table is materialised.)
_ISSUE_CONTEXT = """
SELECT s.*,
  (SELECT coalesce(sum(n), 0) FROM waiting_count
   WHERE day = :day AND queue_service = :code AND prio >= :prio) - ({later}) AS ahead,
  (SELECT {counters} FROM counter WHERE active = 1) AS counters,
  r.done, r.done_mean_min
FROM service s,
  (SELECT count(*) AS done,
          avg((julianday(finished_at) - julianday(called_at)) * 1440.0) AS done_mean_min
   FROM ticket WHERE day = :day AND status = 'done' AND queue_service = :code
     AND finished_at >= :since) r
WHERE s.code = :code"""
_LATER = """SELECT count(*) FROM ticket WHERE day = :day AND status = 'waiting'
            AND queue_service = :code AND {which} AND queued_at > :at"""
#: A normal ticket has every waiting priority ticket ahead; a priority ticket only the
#: priority ones (their classes lie either side of 'normal' in the queue index).
_LATER_NORMAL = _LATER.format(which="priority = 'normal'")
_LATER_PRIORITY = "({}) + ({})".format(
    _LATER.format(which="priority < 'normal'"), _LATER.format(which="priority > 'normal'")
)
#: The active counters as one JSON text, in each dialect.
_COUNTERS_JSON = {
    False: "json_group_array(json_array(services, state))",
    True: "coalesce(json_agg(json_build_array(services, state))::text, '[]')",
}
#: (on PostgreSQL, priority ticket) → the statement.
_ISSUE_CONTEXTS = {
    (pg, prio): _ISSUE_CONTEXT.format(
        later=_LATER_PRIORITY if prio else _LATER_NORMAL, counters=_COUNTERS_JSON[pg]
    )
    for pg in (False, True)
    for prio in (False, True)
}


def issue_context(
    conn: sqlite3.Connection, code: str, day: str, priority: str, at: str, since: str
) -> tuple[dict[str, Any], QueueLoad] | None:
    """The service `code` (as ``catalog.service`` gives it) and the load of its queue on
    `day` for a ticket of `priority` queued `at`, finishes counted from `since`; None
    for an unknown service."""
    normal = priority == "normal"
    row = conn.execute(
        _ISSUE_CONTEXTS[is_pg(conn), not normal],
        {"code": code, "day": day, "prio": 0 if normal else 1, "at": at, "since": since},
    ).fetchone()
    if row is None:
        return None
    svc = dict(row)
    load = QueueLoad(*(svc.pop(k) for k in ("ahead", "counters", "done", "done_mean_min")))
    svc["hours"] = json.loads(svc["hours"]) if svc.get("hours") else None
    svc["active"] = bool(svc["active"])
    return svc, load


def recent_service_stats(
    conn: sqlite3.Connection, service: str, day: str, since: str
) -> tuple[int, float | None]:
    """(count, mean minutes between call and finish) of the business day's tickets of a
    queue finished since `since`.  `day` lets the queue index find them: without it every
    ticket ever finished was scanned, on every issue."""
    row = conn.execute(
        """SELECT count(*), avg((julianday(finished_at) - julianday(called_at)) * 1440.0)
           FROM ticket WHERE day = ? AND status = 'done' AND queue_service = ? AND finished_at >= ?""",
        (day, service, since),
    ).fetchone()
    return int(row[0]), (float(row[1]) if row[1] is not None else None)


def counter_queues(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(services as stored JSON, state) of every active counter: all an estimate needs,
    without building each counter's full row (estimates run on every issue)."""
    return [
        (r[0], r[1]) for r in conn.execute("SELECT services, state FROM counter WHERE active = 1")
    ]


def counter_throughput(conn: sqlite3.Connection, counter: int, since: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM ticket WHERE counter = ? AND status IN ('done', 'no_show') AND finished_at >= ?",
        (counter, since),
    ).fetchone()
    return int(row[0])


def insert_call(conn: sqlite3.Connection, c: dict[str, Any]) -> int:
    cur = conn.execute(
        """INSERT INTO call (seq, ticket_id, label, counter, counter_name, zone, service, recall, at)
           VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM call),
                   :ticket_id, :label, :counter, :counter_name, :zone, :service, :recall, :at)
           RETURNING seq""",
        c,
    )
    return int(cur.fetchone()[0])


#: Calls with how their ticket stands now (boards show whether a call still holds).
_CALLS = (
    "SELECT call.*, ticket.status AS ticket_status, ticket.counter AS ticket_counter"
    " FROM call LEFT JOIN ticket ON ticket.id = call.ticket_id"
)


def calls_after(
    conn: sqlite3.Connection, seq: int, limit: int = 500, zone: str | None = None
) -> list[dict[str, Any]]:
    if zone is None:
        rows = conn.execute(f"{_CALLS} WHERE call.seq > ? ORDER BY call.seq LIMIT ?", (seq, limit))
    else:
        rows = conn.execute(
            f"{_CALLS} WHERE call.seq > ? AND call.zone = ? ORDER BY call.seq LIMIT ?",
            (seq, zone, limit),
        )
    return [dict(r) for r in rows]


def recent_calls(
    conn: sqlite3.Connection, limit: int, zone: str | None = None
) -> list[dict[str, Any]]:
    if zone is None:
        rows = conn.execute(f"{_CALLS} ORDER BY call.seq DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            f"{_CALLS} WHERE call.zone = ? ORDER BY call.seq DESC LIMIT ?", (zone, limit)
        )
    return [dict(r) for r in reversed(rows.fetchall())]


def latest_call_of(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any] | None:
    """A ticket's newest call, with the ticket's state now (None: never called)."""
    row = conn.execute(
        f"{_CALLS} WHERE call.ticket_id = ? ORDER BY call.seq DESC LIMIT 1", (ticket_id,)
    ).fetchone()
    return dict(row) if row else None


def calls_before_in_zone(conn: sqlite3.Connection, seq: int, zone: str | None) -> int:
    """The seq of the call just before `seq` on a board's stream (its zone, or all)."""
    if zone is None:
        row = conn.execute("SELECT max(seq) FROM call WHERE seq < ?", (seq,)).fetchone()
    else:
        row = conn.execute(
            "SELECT max(seq) FROM call WHERE seq < ? AND zone = ?", (seq, zone)
        ).fetchone()
    return int(row[0] or 0)


def last_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(seq) FROM call").fetchone()
    return int(row[0] or 0)


def last_event_id(conn: sqlite3.Connection) -> int:
    """The newest ticket event: it moves whenever any ticket changes state."""
    row = conn.execute("SELECT max(id) FROM ticket_event").fetchone()
    return int(row[0] or 0)


def history(
    conn: sqlite3.Connection, counter: int, day: str, limit: int = 20
) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM ticket WHERE counter = ? AND day = ? AND status IN ('done', 'no_show') ORDER BY finished_at DESC LIMIT ?",
        (counter, day, limit),
    )
    return [dict(r) for r in rows]
