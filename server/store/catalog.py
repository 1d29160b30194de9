"""SQL for services, counters and settings (the hall's catalog)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def _service(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["hours"] = json.loads(d["hours"]) if d.get("hours") else None
    d["active"] = bool(d["active"])
    return d


def _counter(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["services"] = json.loads(d["services"])
    d["active"] = bool(d["active"])
    return d


def services(conn: sqlite3.Connection, *, active_only: bool = False) -> list[dict[str, Any]]:
    sql = "SELECT * FROM service"
    if active_only:
        sql += " WHERE active = 1"
    return [_service(r) for r in conn.execute(sql + " ORDER BY position, code")]


def service(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM service WHERE code = ?", (code,)).fetchone()
    return _service(row) if row else None


def upsert_service(conn: sqlite3.Connection, s: dict[str, Any]) -> None:
    row = dict(s)
    row["hours"] = json.dumps(row["hours"]) if row.get("hours") else None
    row["active"] = int(row.get("active", True))
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in row if c != "code")
    conn.execute(
        f"INSERT INTO service ({cols}) VALUES ({marks}) ON CONFLICT(code) DO UPDATE SET {updates}",
        list(row.values()),
    )


def set_service_closed(conn: sqlite3.Connection, code: str, day: str | None) -> None:
    conn.execute("UPDATE service SET closed_on = ? WHERE code = ?", (day, code))


def counters(conn: sqlite3.Connection, *, zone: str | None = None) -> list[dict[str, Any]]:
    if zone is None:
        rows = conn.execute("SELECT * FROM counter WHERE active = 1 ORDER BY number")
    else:
        rows = conn.execute(
            "SELECT * FROM counter WHERE active = 1 AND zone = ? ORDER BY number", (zone,)
        )
    return [_counter(r) for r in rows]


def zones(conn: sqlite3.Connection) -> list[str]:
    """Every zone a board may show: its counters' and its boards' (devices') zones."""
    rows = conn.execute(
        "SELECT zone FROM counter WHERE zone IS NOT NULL"
        " UNION SELECT zone FROM device WHERE zone IS NOT NULL AND revoked_at IS NULL"
        " ORDER BY 1"
    )
    return [r[0] for r in rows]


def counter(conn: sqlite3.Connection, number: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM counter WHERE number = ? AND active = 1", (number,)
    ).fetchone()
    return _counter(row) if row else None


def upsert_counter(conn: sqlite3.Connection, c: dict[str, Any]) -> None:
    conn.execute(
        """INSERT INTO counter (number, name, zone, services, state, active)
           VALUES (:number, :name, :zone, :services, 'open', 1)
           ON CONFLICT(number) DO UPDATE SET name = excluded.name, zone = excluded.zone,
               services = excluded.services, active = 1""",
        {**c, "services": json.dumps(list(c["services"]))},
    )


def set_counter_services(conn: sqlite3.Connection, number: int, codes: list[str]) -> None:
    conn.execute("UPDATE counter SET services = ? WHERE number = ?", (json.dumps(codes), number))


def set_counter_state(
    conn: sqlite3.Connection,
    number: int,
    state: str,
    reason: str | None,
    at: str,
    actor: str | None,
) -> None:
    conn.execute(
        "UPDATE counter SET state = ?, pause_reason = ?, state_since = ? WHERE number = ?",
        (state, reason, at, number),
    )
    conn.execute(
        "INSERT INTO counter_event (counter, state, reason, at, actor) VALUES (?, ?, ?, ?, ?)",
        (number, state, reason, at, actor),
    )


def set_priority_streak(conn: sqlite3.Connection, number: int, streak: int) -> None:
    conn.execute("UPDATE counter SET priority_streak = ? WHERE number = ?", (streak, number))


def is_empty(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM service LIMIT 1").fetchone() is None


def setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_setting(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
