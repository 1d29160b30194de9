"""SQL for kiosk print jobs.

A row is written when a job is first handed to a kiosk agent, not when the ticket is
issued: a kiosk ticket without a row is a job still queued (the agent was away), which
keeps ticket issue at one transaction.  Rows then move sent → printed | failed."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlite_utils import Database as Utils


def m0005_print_jobs(db: Utils) -> None:
    db.execute(
        """CREATE TABLE print_job (
            id TEXT PRIMARY KEY,
            ticket_id INTEGER NOT NULL UNIQUE REFERENCES ticket(id),
            device_id INTEGER NOT NULL,
            day TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            printer TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            finished_at TEXT,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX print_job_device ON print_job (device_id, day, status)")


MIGRATIONS = [("0005_print_jobs", m0005_print_jobs)]


def _job(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    d = dict(row)
    d["payload"] = json.loads(d["payload"])
    return d


def upsert_sent(
    conn: sqlite3.Connection, job: dict[str, Any], device_id: int, day: str, at: str
) -> dict[str, Any]:
    """Record one more hand-over of a job to the agent (a new row, or attempts + 1).

    A job already printed or failed keeps its state; the caller decides not to resend it."""
    row = conn.execute(
        """INSERT INTO print_job (id, ticket_id, device_id, day, payload, status, attempts,
                                  created_at, sent_at, updated_at)
           VALUES (:id, :ticket_id, :device_id, :day, :payload, 'sent', 1, :at, :at, :at)
           ON CONFLICT(id) DO UPDATE SET
               attempts = print_job.attempts + 1,
               sent_at = excluded.sent_at,
               updated_at = excluded.updated_at
           RETURNING *""",
        {
            "id": job["job_id"],
            "ticket_id": job["ticket_id"],
            "device_id": device_id,
            "day": day,
            "payload": json.dumps(job, ensure_ascii=False),
            "at": at,
        },
    ).fetchone()
    out = _job(row)
    assert out is not None
    return out


def job(conn: sqlite3.Connection, job_id: str) -> dict[str, Any] | None:
    return _job(conn.execute("SELECT * FROM print_job WHERE id = ?", (job_id,)).fetchone())


def job_for_ticket(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any] | None:
    return _job(
        conn.execute("SELECT * FROM print_job WHERE ticket_id = ?", (ticket_id,)).fetchone()
    )


def finish(
    conn: sqlite3.Connection,
    job_id: str,
    status: str,
    at: str,
    *,
    error: str | None = None,
    printer: str | None = None,
) -> None:
    conn.execute(
        """UPDATE print_job SET status = ?, error = ?, printer = COALESCE(?, printer),
               finished_at = ?, updated_at = ?
           WHERE id = ?""",
        (status, error, printer, at, at, job_id),
    )


def expire_sent(conn: sqlite3.Connection, device_id: int, before: str, at: str) -> int:
    """Give up on jobs handed over before `before` and never confirmed (too late to print)."""
    cur = conn.execute(
        """UPDATE print_job SET status = 'failed', error = 'expired', finished_at = ?,
               updated_at = ?
           WHERE device_id = ? AND status = 'sent' AND created_at < ?""",
        (at, at, device_id, before),
    )
    return cur.rowcount


def sent_since(
    conn: sqlite3.Connection, device_id: int, day: str, since: str
) -> list[dict[str, Any]]:
    """Jobs handed over but not confirmed, created at or after `since` on `day`."""
    rows = conn.execute(
        """SELECT * FROM print_job WHERE device_id = ? AND day = ? AND status = 'sent'
               AND created_at >= ? ORDER BY ticket_id""",
        (device_id, day, since),
    )
    return [j for r in rows if (j := _job(r))]


def unsent_tickets(
    conn: sqlite3.Connection, device_id: int, day: str, since: str
) -> list[dict[str, Any]]:
    """Tickets this kiosk issued since `since` whose job never reached an agent."""
    rows = conn.execute(
        """SELECT t.* FROM ticket t LEFT JOIN print_job j ON j.ticket_id = t.id
           WHERE t.day = ? AND t.device_id = ? AND t.channel = 'kiosk' AND t.issued_at >= ?
               AND j.id IS NULL
           ORDER BY t.id""",
        (day, device_id, since),
    )
    return [dict(r) for r in rows]


def counts(conn: sqlite3.Connection, day: str) -> dict[int, dict[str, int]]:
    """Per kiosk device: today's jobs by state (`queued` = kiosk tickets with no row yet)."""
    out: dict[int, dict[str, int]] = {}
    rows = conn.execute(
        "SELECT device_id, status, count(*) FROM print_job WHERE day = ? GROUP BY device_id, status",
        (day,),
    )
    for device_id, status, n in rows:
        out.setdefault(device_id, {})[status] = int(n)
    rows = conn.execute(
        """SELECT t.device_id, count(*) FROM ticket t LEFT JOIN print_job j ON j.ticket_id = t.id
           WHERE t.day = ? AND t.channel = 'kiosk' AND t.device_id IS NOT NULL AND j.id IS NULL
           GROUP BY t.device_id""",
        (day,),
    )
    for device_id, n in rows:
        out.setdefault(device_id, {})["queued"] = int(n)
    return out
