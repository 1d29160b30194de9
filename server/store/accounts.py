"""SQL for users, their API tokens, devices and the audit log."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from .dialect import chunks, marks


def user_row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    """A user row as a dict: `counters` decoded from JSON, `active` a bool."""
    if row is None:
        return None
    d = dict(row)
    d["counters"] = json.loads(d["counters"])
    d["active"] = bool(d["active"])
    return d


def insert_user(conn: sqlite3.Connection, u: dict[str, Any]) -> int:
    cur = conn.execute(
        """INSERT INTO "user" (username, full_name, role, password_hash, counters, created_at)
           VALUES (:username, :full_name, :role, :password_hash, :counters, :created_at)
           RETURNING id""",
        {**u, "counters": json.dumps(list(u.get("counters", [])))},
    )
    return int(cur.fetchone()[0])


def update_user(conn: sqlite3.Connection, user_id: int, **fields: Any) -> None:
    if "counters" in fields:
        fields["counters"] = json.dumps(list(fields["counters"]))
    sets = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(f'UPDATE "user" SET {sets} WHERE id = ?', [*fields.values(), user_id])


def user_by_name(conn: sqlite3.Connection, username: str) -> dict[str, Any] | None:
    if "\x00" in username:  # no name holds one (PostgreSQL text cannot): not found
        return None
    return user_row(conn.execute('SELECT * FROM "user" WHERE username = ?', (username,)).fetchone())


def user(conn: sqlite3.Connection, user_id: int) -> dict[str, Any] | None:
    return user_row(conn.execute('SELECT * FROM "user" WHERE id = ?', (user_id,)).fetchone())


def users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [u for r in conn.execute('SELECT * FROM "user" ORDER BY username') if (u := user_row(r))]


def insert_user_token(conn: sqlite3.Connection, user_id: int, token_hash: str, at: str) -> int:
    cur = conn.execute(
        "INSERT INTO user_token (user_id, token_hash, created_at) VALUES (?, ?, ?) RETURNING id",
        (user_id, token_hash, at),
    )
    return int(cur.fetchone()[0])


def user_by_token(conn: sqlite3.Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(
        """SELECT "user".* FROM user_token JOIN "user" ON "user".id = user_token.user_id
           WHERE user_token.token_hash = ? AND user_token.revoked_at IS NULL AND "user".active = 1""",
        (token_hash,),
    ).fetchone()
    return user_row(row)


def revoke_user_tokens(conn: sqlite3.Connection, user_id: int, at: str) -> int:
    cur = conn.execute(
        "UPDATE user_token SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        (at, user_id),
    )
    return cur.rowcount


def users_by_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(ids):
        rows = conn.execute(f'SELECT * FROM "user" WHERE id IN ({marks(part)})', part)
        out.update((u["id"], u) for r in rows if (u := user_row(r)))
    return out


def live_token_hashes(conn: sqlite3.Connection, token_hashes: Sequence[str]) -> set[str]:
    """Of these users' token hashes, those not revoked."""
    out: set[str] = set()
    for part in chunks(token_hashes):
        rows = conn.execute(
            f"""SELECT token_hash FROM user_token
                WHERE token_hash IN ({marks(part)}) AND revoked_at IS NULL""",
            part,
        )
        out.update(r[0] for r in rows)
    return out


def devices_by_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for part in chunks(ids):
        rows = conn.execute(f"SELECT * FROM device WHERE id IN ({marks(part)})", part)
        out.update((r["id"], dict(r)) for r in rows)
    return out


def insert_device(conn: sqlite3.Connection, d: dict[str, Any]) -> int:
    cur = conn.execute(
        """INSERT INTO device (name, kind, zone, counter, token_hash, created_at)
           VALUES (:name, :kind, :zone, :counter, :token_hash, :created_at)
           RETURNING id""",
        d,
    )
    return int(cur.fetchone()[0])


def device(conn: sqlite3.Connection, device_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM device WHERE id = ?", (device_id,)).fetchone()
    return dict(row) if row else None


def device_by_name(conn: sqlite3.Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM device WHERE name = ?", (name,)).fetchone()
    return dict(row) if row else None


def device_by_token(conn: sqlite3.Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM device WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
    ).fetchone()
    return dict(row) if row else None


def devices(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("SELECT * FROM device ORDER BY kind, name")]


def update_device(conn: sqlite3.Connection, device_id: int, **fields: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(f"UPDATE device SET {sets} WHERE id = ?", [*fields.values(), device_id])


def add_audit(
    conn: sqlite3.Connection,
    at: str,
    actor: str,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None,
    ip: str | None,
) -> None:
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, ?)",
        (at, actor, action, target, json.dumps(detail, ensure_ascii=False) if detail else None, ip),
    )


def audit(
    conn: sqlite3.Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM audit WHERE 1 = 1", []
    for col, val, op in (("actor", actor, "="), ("action", action, "="), ("at", since, ">=")):
        if val is not None:
            sql += f" AND {col} {op} ?"
            args.append(val)
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])
    return [dict(r) for r in rows]
