"""SQL for staff sign-in sessions (revocable server-side) and the login throttle.

A session row is what a staff browser's signed cookie points to (by the SHA-256 of the
random id in the cookie); the throttle counts failed sign-ins per (address, account)
and per address (account `*`).  Both live in the database, not in a process's memory,
so every server process and the `motcua` command see the same state."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database as Utils

from .accounts import user_row
from .dialect import chunks, marks

#: The throttle row of an address itself (no user name contains "*").
ANY_ACCOUNT = "*"


def m0010_staff_sessions(db: Utils) -> None:
    db.execute(
        """CREATE TABLE staff_session (
            id INTEGER PRIMARY KEY,
            id_hash TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES user(id),
            created_at TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            revoked_at TEXT,
            ip TEXT
        )"""
    )
    db.execute("CREATE INDEX staff_session_user ON staff_session (user_id, revoked_at)")
    db.execute("CREATE INDEX staff_session_seen ON staff_session (last_seen)")
    db.execute(
        """CREATE TABLE login_throttle (
            address TEXT NOT NULL,
            username TEXT NOT NULL,
            failures INTEGER NOT NULL,
            blocked_until TEXT,
            last_failure TEXT NOT NULL,
            PRIMARY KEY (address, username)
        )"""
    )
    db.execute("CREATE INDEX login_throttle_user ON login_throttle (username)")
    db.execute("CREATE INDEX login_throttle_last ON login_throttle (last_failure)")


MIGRATIONS = [("0010_staff_sessions", m0010_staff_sessions)]


# --- sessions -------------------------------------------------------------------------------
def insert_session(
    conn: sqlite3.Connection, id_hash: str, user_id: int, at: str, ip: str | None
) -> int:
    cur = conn.execute(
        """INSERT INTO staff_session (id_hash, user_id, created_at, last_seen, ip)
           VALUES (?, ?, ?, ?, ?) RETURNING id""",
        (id_hash, user_id, at, at, ip),
    )
    return int(cur.fetchone()[0])


def live_session(conn: sqlite3.Connection, id_hash: str, since: str) -> dict[str, Any] | None:
    """The session (not revoked, created after `since`) with its user's row."""
    row = conn.execute(
        """SELECT staff_session.id AS session_id, staff_session.last_seen AS session_seen,
                  "user".*
           FROM staff_session JOIN "user" ON "user".id = staff_session.user_id
           WHERE staff_session.id_hash = ? AND staff_session.revoked_at IS NULL
             AND staff_session.created_at > ?""",
        (id_hash, since),
    ).fetchone()
    return user_row(row)


def live_session_hashes(
    conn: sqlite3.Connection, id_hashes: Sequence[str], since: str
) -> dict[str, int]:
    """Of these session hashes, the live ones, with their user's id."""
    out: dict[str, int] = {}
    for part in chunks(id_hashes):
        rows = conn.execute(
            f"""SELECT id_hash, user_id FROM staff_session
                WHERE id_hash IN ({marks(part)}) AND revoked_at IS NULL AND created_at > ?""",
            [*part, since],
        )
        out.update((r["id_hash"], r["user_id"]) for r in rows)
    return out


def touch_session(conn: sqlite3.Connection, session_id: int, at: str) -> None:
    conn.execute("UPDATE staff_session SET last_seen = ? WHERE id = ?", (at, session_id))


def revoke_session(conn: sqlite3.Connection, id_hash: str, at: str) -> int:
    cur = conn.execute(
        "UPDATE staff_session SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL",
        (at, id_hash),
    )
    return cur.rowcount


def revoke_user_sessions(conn: sqlite3.Connection, user_id: int, at: str) -> int:
    cur = conn.execute(
        "UPDATE staff_session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        (at, user_id),
    )
    return cur.rowcount


def prune_sessions(conn: sqlite3.Connection, before: str) -> None:
    """Forget sessions nobody has used since `before` (their cookies have expired)."""
    conn.execute("DELETE FROM staff_session WHERE last_seen < ?", (before,))


# --- login throttle -------------------------------------------------------------------------
def blocked_until(conn: sqlite3.Connection, address: str, usernames: Sequence[str]) -> str | None:
    """The latest end of a block on this address for any of these accounts."""
    latest: str | None = None
    for part in chunks(usernames):
        row = conn.execute(
            f"""SELECT max(blocked_until) FROM login_throttle
                WHERE address = ? AND username IN ({marks(part)})""",
            [address, *part],
        ).fetchone()
        if row and row[0] is not None and (latest is None or row[0] > latest):
            latest = row[0]
    return latest


def failures(conn: sqlite3.Connection, address: str, username: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM login_throttle WHERE address = ? AND username = ?", (address, username)
    ).fetchone()
    return dict(row) if row else None


def save_failures(
    conn: sqlite3.Connection,
    address: str,
    username: str,
    count: int,
    blocked: str | None,
    at: str,
) -> None:
    conn.execute(
        """INSERT INTO login_throttle (address, username, failures, blocked_until, last_failure)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (address, username) DO UPDATE SET failures = excluded.failures,
               blocked_until = excluded.blocked_until, last_failure = excluded.last_failure""",
        (address, username, count, blocked, at),
    )


def clear_failures(conn: sqlite3.Connection, address: str, username: str) -> None:
    conn.execute(
        "DELETE FROM login_throttle WHERE address = ? AND username = ?", (address, username)
    )


def clear_account(conn: sqlite3.Connection, username: str) -> int:
    """Forget every address's failures on this account (`motcua user unlock`)."""
    return conn.execute("DELETE FROM login_throttle WHERE username = ?", (username,)).rowcount


def prune_failures(conn: sqlite3.Connection, before: str) -> None:
    conn.execute("DELETE FROM login_throttle WHERE last_failure < ?", (before,))
