"""SQL for departments' API keys (the ``api_key`` table of 0003_dossiers) and the one
setting the dossier area reads (the admins' SMS templates)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any


def insert_api_key(
    conn: sqlite3.Connection,
    department: str,
    scopes: Iterable[str],
    token_hash: str,
    note: str | None,
    at: str,
) -> int:
    cur = conn.execute(
        """INSERT INTO api_key (department, scopes, token_hash, note, created_at)
           VALUES (?, ?, ?, ?, ?)""",
        (department, json.dumps(sorted(scopes)), token_hash, note, at),
    )
    return int(cur.lastrowid or 0)


def _key(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    d = dict(row)
    d["scopes"] = json.loads(d["scopes"])
    return d


def api_key_by_token(conn: sqlite3.Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM api_key WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
    ).fetchone()
    return _key(row)


def api_keys(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM api_key ORDER BY department, id")
    return [k for r in rows if (k := _key(r)) is not None]


def revoke_api_key(conn: sqlite3.Connection, key_id: int, at: str) -> int:
    cur = conn.execute(
        "UPDATE api_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, key_id)
    )
    return cur.rowcount


def setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
    return str(row["value"]) if row else None
