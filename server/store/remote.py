"""SQL for tickets taken from home: who took them (a phone key and an optional CCCD hash,
never the CCCD itself), their check-in and the calls that passed them over; the
one-time codes and the proofs of a confirmed phone."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database as Utils

_TABLES = """
CREATE TABLE remote_ticket (
    ticket_id {id} PRIMARY KEY REFERENCES ticket(id),
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    phone_key TEXT NOT NULL,
    cccd_hash TEXT,
    source TEXT NOT NULL,
    passes {int} NOT NULL DEFAULT 0,
    checked_in_at TEXT,
    checked_in_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX remote_ticket_phone ON remote_ticket (day, phone_key);
CREATE INDEX remote_ticket_cccd ON remote_ticket (day, cccd_hash) WHERE cccd_hash IS NOT NULL;
CREATE TABLE remote_otp (
    phone_key TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts {int} NOT NULL DEFAULT 0
);
CREATE TABLE remote_proof (
    token_hash TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX remote_proof_expires ON remote_proof (expires_at);
"""
_PG_0015 = (
    "ALTER TABLE ticket ADD COLUMN pending_checkin BIGINT NOT NULL DEFAULT 0;\n"
    + _TABLES.format(id="BIGINT", int="BIGINT")
)


def m0015_remote_tickets(db: Utils) -> None:
    """`ticket.pending_checkin` = 1 while a remote ticket's holder has not checked in:
    the ticket holds its place in the queue (and in `waiting_count`) but call
    selection passes it over."""
    db.execute("ALTER TABLE ticket ADD COLUMN pending_checkin INTEGER NOT NULL DEFAULT 0")
    for stmt in _TABLES.format(id="INTEGER", int="INTEGER").split(";"):
        if stmt.strip():
            db.execute(stmt)


_NEAR = """
CREATE INDEX remote_ticket_near ON remote_ticket (day, service) WHERE near_sent_at IS NULL;
CREATE TABLE remote_closed (
    service TEXT NOT NULL,
    day TEXT NOT NULL,
    closed_by TEXT,
    closed_at TEXT NOT NULL,
    PRIMARY KEY (service, day)
);
"""
_PG_0016 = "ALTER TABLE remote_ticket ADD COLUMN near_sent_at TEXT;\n" + _NEAR


def m0016_remote_near(db: Utils) -> None:
    """When the "your turn is near" SMS went (once per ticket), and the services whose
    remote issuing a supervisor closed for a day."""
    db.execute("ALTER TABLE remote_ticket ADD COLUMN near_sent_at TEXT")
    for stmt in _NEAR.split(";"):
        if stmt.strip():
            db.execute(stmt)


MIGRATIONS: list[tuple[Any, ...]] = [
    ("0015_remote_tickets", m0015_remote_tickets, _PG_0015),
    ("0016_remote_near", m0016_remote_near, _PG_0016),
]


# --- tickets ------------------------------------------------------------------------------
def insert(conn: sqlite3.Connection, r: dict[str, Any]) -> None:
    cols = ("ticket_id", "day", "service", "phone_key", "cccd_hash", "source", "created_at")
    conn.execute(
        f"INSERT INTO remote_ticket ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [r[c] for c in cols],
    )


def get(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM remote_ticket WHERE ticket_id = ?", (ticket_id,)).fetchone()
    return dict(row) if row else None


def taken(
    conn: sqlite3.Connection, day: str, phone_key: str, cccd_hash: str | None
) -> list[dict[str, Any]]:
    """The day's remote tickets of a person (by phone, or by CCCD when given) that count
    against the limits: all but those cancelled."""
    sql = """SELECT r.ticket_id, r.service FROM remote_ticket r JOIN ticket t ON t.id = r.ticket_id
             WHERE r.day = ? AND t.status != 'cancelled' AND ({who})"""
    if cccd_hash is None:
        rows = conn.execute(sql.format(who="r.phone_key = ?"), (day, phone_key))
    else:
        rows = conn.execute(
            sql.format(who="r.phone_key = ? OR r.cccd_hash = ?"), (day, phone_key, cccd_hash)
        )
    return [dict(r) for r in rows]


def by_cccd(conn: sqlite3.Connection, day: str, cccd_hash: str) -> list[dict[str, Any]]:
    """The day's remote tickets of one CCCD still waiting to be checked in."""
    rows = conn.execute(
        """SELECT t.* FROM remote_ticket r JOIN ticket t ON t.id = r.ticket_id
           WHERE r.day = ? AND r.cccd_hash = ? AND t.status = 'waiting'
             AND t.pending_checkin = 1 ORDER BY t.id""",
        (day, cccd_hash),
    )
    return [dict(r) for r in rows]


def check_in(conn: sqlite3.Connection, ticket_id: int, at: str, by: str) -> None:
    conn.execute(
        "UPDATE remote_ticket SET checked_in_at = ?, checked_in_by = ? WHERE ticket_id = ?",
        (at, by, ticket_id),
    )


def add_pass(conn: sqlite3.Connection, ticket_id: int) -> int:
    row = conn.execute(
        "UPDATE remote_ticket SET passes = remote_ticket.passes + 1 WHERE ticket_id = ? RETURNING passes",
        (ticket_id,),
    ).fetchone()
    return int(row[0])


def _order_by_preference(services: Sequence[str]) -> str:
    cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(services)))
    return f"CASE queue_service {cases} ELSE {len(services)} END"


def pending_ahead(
    conn: sqlite3.Connection,
    day: str,
    services: Sequence[str],
    counter: int,
    before: tuple[int, str, int] | None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Normal tickets not yet checked in that a counter's order puts before `before`
    (preference rank, queued_at, id) — all of them when None — in that order."""
    if not services:
        return []
    marks = ", ".join("?" * len(services))
    rank = _order_by_preference(services)
    args: list[Any] = [*services, day, *services, counter]
    cond = ""
    if before is not None:
        r, q, i = before
        cond = "AND (pref < ? OR (pref = ? AND (queued_at < ? OR (queued_at = ? AND id < ?))))"
        args += [r, r, q, q, i]
    rows = conn.execute(
        f"""SELECT * FROM (
              SELECT ticket.*, {rank} AS pref FROM ticket
              WHERE day = ? AND status = 'waiting' AND queue_service IN ({marks})
                AND priority = 'normal' AND pending_checkin = 1
                AND (target_counter IS NULL OR target_counter = ?)) p
            WHERE 1 = 1 {cond}
            ORDER BY pref, queued_at, id LIMIT ?""",
        [*args, limit],
    )
    return [dict(r) for r in rows]


def day_counts(conn: sqlite3.Connection, day: str) -> list[tuple[str, str, int, int]]:
    """(service, status, not checked in, count) of the remote tickets taken on `day`."""
    rows = conn.execute(
        """SELECT r.service, t.status, t.pending_checkin, count(*)
           FROM remote_ticket r JOIN ticket t ON t.id = r.ticket_id
           WHERE r.day = ? GROUP BY r.service, t.status, t.pending_checkin""",
        (day,),
    )
    return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


def near_candidates(
    conn: sqlite3.Connection, day: str, service: str, limit: int = 20
) -> list[dict[str, Any]]:
    """A queue's waiting remote tickets not yet told their turn is near, front first."""
    rows = conn.execute(
        """SELECT t.* FROM remote_ticket r JOIN ticket t ON t.id = r.ticket_id
           WHERE r.day = ? AND r.service = ? AND r.near_sent_at IS NULL
             AND t.status = 'waiting' AND t.queue_service = ? AND t.phone IS NOT NULL
           ORDER BY t.queued_at, t.id LIMIT ?""",
        (day, service, service, limit),
    )
    return [dict(r) for r in rows]


def mark_near(conn: sqlite3.Connection, ticket_id: int, at: str) -> None:
    conn.execute("UPDATE remote_ticket SET near_sent_at = ? WHERE ticket_id = ?", (at, ticket_id))


def near_sent(conn: sqlite3.Connection, day: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM remote_ticket WHERE day = ? AND near_sent_at IS NOT NULL", (day,)
    ).fetchone()
    return int(row[0])


# --- closing remote issuing ---------------------------------------------------------------
def close(conn: sqlite3.Connection, service: str, day: str, by: str, at: str) -> None:
    conn.execute(
        """INSERT INTO remote_closed (service, day, closed_by, closed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (service, day) DO NOTHING""",
        (service, day, by, at),
    )


def reopen(conn: sqlite3.Connection, service: str, day: str) -> None:
    conn.execute("DELETE FROM remote_closed WHERE service = ? AND day = ?", (service, day))


def closed(conn: sqlite3.Connection, day: str) -> set[str]:
    rows = conn.execute("SELECT service FROM remote_closed WHERE day = ?", (day,))
    return {r[0] for r in rows}


# --- one-time codes -----------------------------------------------------------------------
def put_otp(conn: sqlite3.Connection, phone_key: str, code_hash: str, at: str, expires: str):
    conn.execute(
        """INSERT INTO remote_otp (phone_key, code_hash, created_at, expires_at, attempts)
           VALUES (?, ?, ?, ?, 0)
           ON CONFLICT (phone_key) DO UPDATE SET code_hash = excluded.code_hash,
             created_at = excluded.created_at, expires_at = excluded.expires_at, attempts = 0""",
        (phone_key, code_hash, at, expires),
    )


def otp(conn: sqlite3.Connection, phone_key: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM remote_otp WHERE phone_key = ?", (phone_key,)).fetchone()
    return dict(row) if row else None


def otp_attempt(conn: sqlite3.Connection, phone_key: str) -> None:
    conn.execute(
        "UPDATE remote_otp SET attempts = remote_otp.attempts + 1 WHERE phone_key = ?",
        (phone_key,),
    )


def drop_otp(conn: sqlite3.Connection, phone_key: str) -> None:
    conn.execute("DELETE FROM remote_otp WHERE phone_key = ?", (phone_key,))


def put_proof(conn: sqlite3.Connection, token_hash: str, phone: str, expires: str, now: str):
    conn.execute("DELETE FROM remote_proof WHERE expires_at < ?", (now,))
    conn.execute(
        "INSERT INTO remote_proof (token_hash, phone, expires_at) VALUES (?, ?, ?)",
        (token_hash, phone, expires),
    )


def proof_phone(conn: sqlite3.Connection, token_hash: str, now: str) -> str | None:
    row = conn.execute(
        "SELECT phone FROM remote_proof WHERE token_hash = ? AND expires_at >= ?",
        (token_hash, now),
    ).fetchone()
    return str(row[0]) if row else None


# --- the report by channel ----------------------------------------------------------------
def channel_counts(conn: sqlite3.Connection, first: str, last: str) -> list[dict[str, Any]]:
    """Per channel and status over the days `first`..`last`: tickets, and the minutes
    from queueing to the call of those called."""
    rows = conn.execute(
        """SELECT channel, status, count(*) AS n, count(called_at) AS called,
                  sum((julianday(called_at) - julianday(queued_at)) * 1440.0) AS wait_min
           FROM ticket WHERE day >= ? AND day <= ?
           GROUP BY channel, status""",
        (first, last),
    )
    return [dict(r) for r in rows]
