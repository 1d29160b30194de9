"""SQL for the SMS outbox (the ``notification`` table, created by 0003_dossiers).

A row's life: ``queued`` → ``claimed`` (reserved by one worker, in a write transaction)
→ ``sending`` (handed to the gateway; marked *before* the network call) → ``sent``, or
back to ``queued`` for a retry, or ``failed``.  Because both marks are committed before
anything leaves the machine, a worker that dies can be told apart afterwards: a
``claimed`` row was never sent (safe to queue again), a ``sending`` row may have been
(never resent automatically, so a citizen never gets the same message twice).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlite_utils import Database as Utils

from .import_publish import shown


def insert(conn: sqlite3.Connection, n: dict[str, Any]) -> int | None:
    """Queue a notification; None when one already exists for the same event key."""
    cols = list(n)
    cur = conn.execute(
        f"""INSERT INTO notification ({", ".join(cols)}) VALUES ({", ".join("?" for _ in cols)})
            ON CONFLICT (event_key) DO NOTHING RETURNING id""",
        list(n.values()),
    )
    row = cur.fetchone()
    return int(row[0]) if row else None


def claim(conn: sqlite3.Connection, worker: str, now: str, limit: int) -> list[dict[str, Any]]:
    # A pending import's notices wait for it to be published (store.import_publish).
    rows = conn.execute(
        f"""UPDATE notification SET status = 'claimed', claimed_by = ?, claimed_at = ?,
                  updated_at = ?
           WHERE id IN (SELECT id FROM notification n
                        WHERE status = 'queued' AND next_attempt_at <= ? AND {shown("n")}
                        ORDER BY next_attempt_at, id LIMIT ?)
           RETURNING *""",
        (worker, now, now, now, limit),
    ).fetchall()
    return sorted((dict(r) for r in rows), key=lambda r: (r["next_attempt_at"], r["id"]))


def mark_sending(conn: sqlite3.Connection, notification_id: int, worker: str, now: str) -> bool:
    """Hand one claimed row to the gateway; False if this worker no longer holds it."""
    cur = conn.execute(
        """UPDATE notification SET status = 'sending', attempts = attempts + 1, updated_at = ?
           WHERE id = ? AND status = 'claimed' AND claimed_by = ?""",
        (now, notification_id, worker),
    )
    return cur.rowcount == 1


def mark_sent(conn: sqlite3.Connection, notification_id: int, provider_id: str | None, now: str):
    conn.execute(
        """UPDATE notification SET status = 'sent', sent_at = ?, updated_at = ?, error = NULL,
                  provider_id = ?, claimed_by = NULL
           WHERE id = ?""",
        (now, now, provider_id, notification_id),
    )


def mark_retry(
    conn: sqlite3.Connection, notification_id: int, error: str, next_at: str, now: str
) -> None:
    conn.execute(
        """UPDATE notification SET status = 'queued', error = ?, next_attempt_at = ?,
                  updated_at = ?, claimed_by = NULL, claimed_at = NULL
           WHERE id = ?""",
        (error, next_at, now, notification_id),
    )


def mark_failed(conn: sqlite3.Connection, notification_id: int, error: str, now: str) -> None:
    conn.execute(
        """UPDATE notification SET status = 'failed', error = ?, updated_at = ?, claimed_by = NULL
           WHERE id = ?""",
        (error, now, notification_id),
    )


def release_stale_claims(conn: sqlite3.Connection, older_than: str, now: str) -> int:
    """Claimed but never handed to the gateway by a worker that stopped: queue again."""
    cur = conn.execute(
        """UPDATE notification SET status = 'queued', claimed_by = NULL, claimed_at = NULL,
                  updated_at = ?
           WHERE status = 'claimed' AND claimed_at < ?""",
        (now, older_than),
    )
    return cur.rowcount


def fail_interrupted(conn: sqlite3.Connection, older_than: str, error: str, now: str) -> int:
    """Handed to the gateway by a worker that stopped before hearing back: the message
    may have left, so it is not resent automatically (a supervisor may retry it)."""
    cur = conn.execute(
        """UPDATE notification SET status = 'failed', error = ?, updated_at = ?, claimed_by = NULL
           WHERE status = 'sending' AND updated_at < ?""",
        (error, now, older_than),
    )
    return cur.rowcount


def resend_interrupted(conn: sqlite3.Connection, older_than: str, error: str, now: str) -> int:
    """Handed to the gateway by a worker that stopped before hearing back, for a provider
    that drops a duplicate of the same event key: queued again, to be sent with that key."""
    cur = conn.execute(
        """UPDATE notification SET status = 'queued', error = ?, next_attempt_at = ?,
                  updated_at = ?, claimed_by = NULL, claimed_at = NULL
           WHERE status = 'sending' AND updated_at < ?""",
        (error, now, now, older_than),
    )
    return cur.rowcount


def requeue(conn: sqlite3.Connection, notification_id: int, now: str) -> bool:
    cur = conn.execute(
        """UPDATE notification SET status = 'queued', next_attempt_at = ?, updated_at = ?,
                  claimed_by = NULL, claimed_at = NULL
           WHERE id = ? AND status = 'failed' AND text != ''""",
        (now, now, notification_id),
    )
    return cur.rowcount == 1


def get(conn: sqlite3.Connection, notification_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM notification WHERE id = ?", (notification_id,)).fetchone()
    return dict(row) if row else None


def for_dossier(conn: sqlite3.Connection, dossier_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT * FROM notification n WHERE dossier_id = ? AND {shown('n')} ORDER BY id",
        (dossier_id,),
    )
    return [dict(r) for r in rows]


def next_due(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(
        f"""SELECT MIN(next_attempt_at) AS at FROM notification n
            WHERE status = 'queued' AND {shown("n")}"""
    ).fetchone()
    return row["at"] if row else None


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute(
        f"SELECT status, COUNT(*) AS n FROM notification x WHERE {shown('x')} GROUP BY status"
    )
    return {r["status"]: int(r["n"]) for r in rows}


# --- SMS volume counts (sms.limits) ---------------------------------------------------
def m0012_sms_quota(db: Utils) -> None:
    """How many SMS one sender (an API key, a staff account) caused in an hour and one
    phone number received in a day: fixed windows, one row per (subject, window), kept
    in the database so every process counts the same."""
    db.execute(
        """CREATE TABLE sms_quota (
            subject TEXT NOT NULL,
            window TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (subject, window)
        )"""
    )
    db.execute("CREATE INDEX sms_quota_window ON sms_quota (window)")


MIGRATIONS = [("0012_sms_quota", m0012_sms_quota)]


def quota_used(conn: sqlite3.Connection, subject: str, window: str) -> int:
    row = conn.execute(
        'SELECT n FROM sms_quota WHERE subject = ? AND "window" = ?', (subject, window)
    ).fetchone()
    return int(row["n"]) if row else 0


def quota_take(conn: sqlite3.Connection, subject: str, window: str) -> None:
    conn.execute(
        """INSERT INTO sms_quota (subject, "window", n) VALUES (?, ?, 1)
           ON CONFLICT (subject, "window") DO UPDATE SET n = sms_quota.n + 1""",
        (subject, window),
    )


def quota_forget(conn: sqlite3.Connection, before: str) -> None:
    """Drop windows that ended (their window key sorts before ``before``)."""
    conn.execute('DELETE FROM sms_quota WHERE "window" < ?', (before,))
