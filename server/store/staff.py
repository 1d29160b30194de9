"""SQL for the staff console, the supervisor's hall view and the administration pages:
labelled API tokens, waiting lists per counter, a counter's day, the audit search, and
catalog rows including inactive ones (the admin must see what it switched off)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database as Utils

from .dialect import is_pg


def m0006_staff(db: Utils) -> None:
    db.execute("ALTER TABLE user_token ADD COLUMN label TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX user_token_user ON user_token (user_id)")
    db.execute("CREATE INDEX audit_actor ON audit (actor, id)")
    db.execute("CREATE INDEX audit_action ON audit (action, id)")
    db.execute("CREATE INDEX ticket_event_counter ON ticket_event (counter, at)")
    db.execute("CREATE INDEX counter_event_counter ON counter_event (counter, at)")


MIGRATIONS = [("0006_staff", m0006_staff)]


# --- API tokens of a user -------------------------------------------------------------------
def insert_token(
    conn: sqlite3.Connection, user_id: int, token_hash: str, label: str, at: str
) -> int:
    cur = conn.execute(
        "INSERT INTO user_token (user_id, token_hash, label, created_at) VALUES (?, ?, ?, ?) "
        "RETURNING id",
        (user_id, token_hash, label, at),
    )
    return int(cur.fetchone()[0])


def tokens(conn: sqlite3.Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        """SELECT id, label, created_at, last_used, revoked_at FROM user_token
           WHERE user_id = ? ORDER BY revoked_at IS NOT NULL, id DESC""",
        (user_id,),
    )
    return [dict(r) for r in rows]


def revoke_token(conn: sqlite3.Connection, user_id: int, token_id: int, at: str) -> int:
    cur = conn.execute(
        "UPDATE user_token SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        (at, token_id, user_id),
    )
    return cur.rowcount


# --- catalog, inactive rows included ----------------------------------------------------------
def _counter(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["services"] = json.loads(d["services"])
    d["active"] = bool(d["active"])
    return d


def all_counters(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [_counter(r) for r in conn.execute("SELECT * FROM counter ORDER BY number")]


def any_counter(conn: sqlite3.Connection, number: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM counter WHERE number = ?", (number,)).fetchone()
    return _counter(row) if row else None


def save_counter(conn: sqlite3.Connection, c: dict[str, Any]) -> None:
    """Insert or update a counter's definition; its live state is left as it is."""
    conn.execute(
        """INSERT INTO counter (number, name, zone, services, state, active)
           VALUES (:number, :name, :zone, :services, 'open', :active)
           ON CONFLICT(number) DO UPDATE SET name = excluded.name, zone = excluded.zone,
               services = excluded.services, active = excluded.active""",
        {**c, "services": json.dumps(list(c["services"])), "active": int(c["active"])},
    )


def set_service_active(conn: sqlite3.Connection, code: str, active: bool) -> None:
    conn.execute("UPDATE service SET active = ? WHERE code = ?", (int(active), code))


def tickets_at_counter(conn: sqlite3.Connection, number: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM ticket WHERE counter = ? AND status IN ('called', 'serving')",
        (number,),
    ).fetchone()
    return int(row[0])


# --- queues ---------------------------------------------------------------------------------
def waiting_for_counter(
    conn: sqlite3.Connection, day: str, services: Sequence[str], counter: int, limit: int
) -> list[dict[str, Any]]:
    """Waiting tickets this counter may call, in the order "call next" would take them
    (priority first, then the counter's service preference, then queue time)."""
    if not services:
        return []
    marks = ", ".join("?" * len(services))
    cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(services)))
    rows = conn.execute(
        f"""SELECT id, label, service, queue_service, priority, queued_at, issued_at,
                   transferred_from, target_counter, pending_checkin
            FROM ticket
            WHERE day = ? AND status = 'waiting' AND queue_service IN ({marks})
              AND (target_counter IS NULL OR target_counter = ?)
            ORDER BY (priority = 'normal'), CASE queue_service {cases} ELSE {len(services)} END,
                     queued_at, id
            LIMIT ?""",
        [day, *services, counter, *services, limit],
    )
    return [dict(r) for r in rows]


def oldest_waiting(conn: sqlite3.Connection, day: str) -> dict[str, str]:
    """queue service → the earliest queue time among its waiting tickets."""
    rows = conn.execute(
        """SELECT queue_service, min(queued_at) FROM ticket
           WHERE day = ? AND status = 'waiting' GROUP BY queue_service""",
        (day,),
    )
    return {r[0]: r[1] for r in rows}


def counter_day(
    conn: sqlite3.Connection, counter: int, day: str, limit: int = 30
) -> list[dict[str, Any]]:
    """What a counter finished today: done, no-show and transferred tickets, newest first."""
    rows = conn.execute(
        """SELECT e.ticket_id, e.action, e.at, e.actor, e.detail, t.label, t.service,
                  t.called_at, t.started_at
           FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id
           WHERE e.counter = ? AND t.day = ? AND e.action IN ('finish', 'no_show', 'transfer')
           ORDER BY e.id DESC LIMIT ?""",
        (counter, day, limit),
    )
    out = []
    for r in rows:
        d = dict(r)
        d["detail"] = json.loads(d["detail"]) if d["detail"] else {}
        out.append(d)
    return out


def counter_day_summary(conn: sqlite3.Connection, counter: int, day: str) -> dict[str, Any]:
    """How many tickets a counter finished, lost to no-show and transferred today, and
    the mean minutes from call (or start) to finish."""
    rows = conn.execute(
        """SELECT e.action, count(*),
                  avg((julianday(e.at) - julianday(coalesce(t.started_at, t.called_at))) * 1440.0)
           FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id
           WHERE e.counter = ? AND t.day = ? AND e.action IN ('finish', 'no_show', 'transfer')
           GROUP BY e.action""",
        (counter, day),
    )
    out: dict[str, Any] = {"finish": 0, "no_show": 0, "transfer": 0, "avg_min": None}
    for action, n, mean in rows:
        out[action] = int(n)
        if action == "finish" and mean is not None:
            out["avg_min"] = round(float(mean), 1)
    return out


_ACTS = """SELECT counter, actor, at FROM ticket_event
             WHERE counter IS NOT NULL AND actor IS NOT NULL AND at >= ?
            UNION ALL
            SELECT counter, actor, at FROM counter_event WHERE actor IS NOT NULL AND at >= ?"""
#: The latest action at each counter: SQLite takes the bare `actor` column from the row
#: holding max(at) (and reads the partial index ticket_event_at); PostgreSQL says it
#: with DISTINCT ON.
_LAST_ACTORS = {
    False: f"SELECT counter, actor, max(at) FROM ({_ACTS}) AS acts GROUP BY counter",
    True: f"""SELECT DISTINCT ON (counter) counter, actor, at FROM ({_ACTS}) AS acts
              ORDER BY counter, at DESC""",
}


def last_actors(conn: sqlite3.Connection, since: str) -> dict[int, tuple[str, str]]:
    """counter → (actor, at) of the latest ticket or counter action there since `since`."""
    rows = conn.execute(_LAST_ACTORS[is_pg(conn)], (since, since))
    return {int(r[0]): (r[1], r[2]) for r in rows}


def device_ids(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every device's id and name (an audit entry names a device; its actions need the id)."""
    return [dict(r) for r in conn.execute("SELECT id, name FROM device")]


# --- audit ----------------------------------------------------------------------------------
def search_audit(
    conn: sqlite3.Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before_id: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM audit WHERE 1 = 1", []
    for cond, val in (
        ("actor = ?", actor),
        ("action = ?", action),
        ("at >= ?", since),
        ("at < ?", until),
        ("id < ?", before_id),
    ):
        if val is not None:
            sql += f" AND {cond}"
            args.append(val)
    out = []
    for r in conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]):
        d = dict(r)
        d["detail"] = json.loads(d["detail"]) if d["detail"] else None
        out.append(d)
    return out
