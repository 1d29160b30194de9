"""SQL for departments' API keys (the ``api_key`` table of 0003_dossiers), the agency
codes each department owns (``department_agency``), and the one setting the dossier
area reads (the admins' SMS templates)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database as Utils


def m0012_dossier_agencies(db: Utils) -> None:
    """The agency codes (the prefix of a one-stop dossier code, "000.00.06.H56") each
    department owns: a code whose prefix belongs to one department cannot be claimed by
    another's key.  One agency belongs to one department (primary key)."""
    db.execute(
        """CREATE TABLE department_agency (
            agency TEXT PRIMARY KEY,
            department TEXT NOT NULL REFERENCES department(code),
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX department_agency_department ON department_agency (department)")


MIGRATIONS = [("0012_dossier_agencies", m0012_dossier_agencies)]


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
           VALUES (?, ?, ?, ?, ?) RETURNING id""",
        (department, json.dumps(sorted(scopes)), token_hash, note, at),
    )
    return int(cur.fetchone()[0])


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


def agency_owner(conn: sqlite3.Connection, agency: str) -> str | None:
    row = conn.execute(
        "SELECT department FROM department_agency WHERE agency = ?", (agency,)
    ).fetchone()
    return str(row["department"]) if row else None


def agencies(conn: sqlite3.Connection, department: str | None = None) -> dict[str, list[str]]:
    """{department: [agency, …]} (one department's, or all)."""
    sql = "SELECT department, agency FROM department_agency"
    args: tuple[str, ...] = ()
    if department is not None:
        sql += " WHERE department = ?"
        args = (department,)
    out: dict[str, list[str]] = {}
    for r in conn.execute(sql + " ORDER BY department, agency", args):
        out.setdefault(r["department"], []).append(r["agency"])
    return out


def add_agency(conn: sqlite3.Connection, agency: str, department: str, at: str) -> None:
    """Register ``agency`` for ``department`` (nothing when it already is)."""
    conn.execute(
        """INSERT INTO department_agency (agency, department, created_at) VALUES (?, ?, ?)
           ON CONFLICT (agency) DO NOTHING""",
        (agency, department, at),
    )
