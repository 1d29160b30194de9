"""SQL for tickets, their history, and the calls the boards show."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

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
)


def next_number(conn: sqlite3.Connection, service: str, day: str, first: int) -> int:
    """Allocate the next number of (service, day); the first call of a day starts at `first`.

    Must run inside a write transaction: the upsert is the whole allocation, so two
    writers can never get the same number and no number is skipped."""
    row = conn.execute(
        """INSERT INTO daily_number (service, day, n) VALUES (?, ?, ?)
           ON CONFLICT(service, day) DO UPDATE SET n = n + 1
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
        f"INSERT INTO ticket ({', '.join(TICKET_COLUMNS)}) VALUES ({', '.join('?' * len(TICKET_COLUMNS))})",
        [t.get(c) for c in TICKET_COLUMNS],
    )
    return int(cur.lastrowid or 0)


def ticket(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    return dict(row) if row else None


def ticket_by_token(conn: sqlite3.Connection, token: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM ticket WHERE token = ?", (token,)).fetchone()
    return dict(row) if row else None


def tickets_by_tokens(conn: sqlite3.Connection, tokens: Sequence[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
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
              AND (target_counter IS NULL OR target_counter = ?)
            ORDER BY {_order_by_preference(services)}, queued_at, id
            LIMIT 1""",
        [day, *services, counter, *services],
    ).fetchone()
    return dict(row) if row else None


def waiting_counts(conn: sqlite3.Connection, day: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT queue_service, count(*) FROM ticket WHERE day = ? AND status = 'waiting' GROUP BY queue_service",
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
        """INSERT INTO call (ticket_id, label, counter, counter_name, zone, service, recall, at)
           VALUES (:ticket_id, :label, :counter, :counter_name, :zone, :service, :recall, :at)""",
        c,
    )
    return int(cur.lastrowid or 0)


def calls_after(
    conn: sqlite3.Connection, seq: int, limit: int = 500, zone: str | None = None
) -> list[dict[str, Any]]:
    if zone is None:
        rows = conn.execute("SELECT * FROM call WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
    else:
        rows = conn.execute(
            "SELECT * FROM call WHERE seq > ? AND zone = ? ORDER BY seq LIMIT ?", (seq, zone, limit)
        )
    return [dict(r) for r in rows]


def recent_calls(
    conn: sqlite3.Connection, limit: int, zone: str | None = None
) -> list[dict[str, Any]]:
    if zone is None:
        rows = conn.execute("SELECT * FROM call ORDER BY seq DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            "SELECT * FROM call WHERE zone = ? ORDER BY seq DESC LIMIT ?", (zone, limit)
        )
    return [dict(r) for r in reversed(rows.fetchall())]


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


def history(
    conn: sqlite3.Connection, counter: int, day: str, limit: int = 20
) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM ticket WHERE counter = ? AND day = ? AND status IN ('done', 'no_show') ORDER BY finished_at DESC LIMIT ?",
        (counter, day, limit),
    )
    return [dict(r) for r in rows]
