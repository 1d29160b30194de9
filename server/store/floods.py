"""SQL for kiosk floods: each kiosk's ticket allowance (a token bucket kept in the
database, so every server process shares it) and the waiting tickets one device issued
in a time window (what a supervisor cancels after a flood)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database as Utils


def m0011_kiosk_bucket(db: Utils) -> None:
    """One row per kiosk: `tokens` left at `at` (epoch seconds), and when the supervisor
    was last alerted about it.  A row, not a counter in the process: with several
    server processes behind a load balancer a kiosk's requests land on any of them."""
    db.execute(
        """CREATE TABLE kiosk_bucket (
            device_id INTEGER PRIMARY KEY,
            tokens REAL NOT NULL,
            at REAL NOT NULL,
            alerted_at REAL
        )"""
    )


MIGRATIONS = [("0011_kiosk_bucket", m0011_kiosk_bucket)]


def user_key(user_id: int) -> int:
    """The bucket of a staff member issuing tickets: minus the user's id, so people share
    the kiosks' table without meeting a device (device ids are positive)."""
    return -user_id


#: Take one ticket from the kiosk's bucket, refilled at one per `every` seconds up to
#: `burst`: one statement, no row returned when the bucket is empty (the WHERE of the
#: upsert leaves the row as it was).  A clock set back refills nothing.
_TAKE = """
INSERT INTO kiosk_bucket (device_id, tokens, at) VALUES (:device, :burst - 1, :now)
ON CONFLICT (device_id) DO UPDATE
  SET tokens = min(:burst, kiosk_bucket.tokens + max(0, :now - kiosk_bucket.at) / :every) - 1,
      at = :now
  WHERE min(:burst, kiosk_bucket.tokens + max(0, :now - kiosk_bucket.at) / :every) >= 1
RETURNING tokens"""


def take_ticket(
    conn: sqlite3.Connection, device: int, now: float, burst: int, every: float
) -> bool:
    """Whether the kiosk may issue one more ticket now (and if so, it is counted)."""
    row = conn.execute(
        _TAKE, {"device": device, "now": now, "burst": burst, "every": every}
    ).fetchone()
    return row is not None


@dataclass(frozen=True)
class Refused:
    wait_s: float  # until the bucket holds one ticket again
    alerted_at: float | None  # the last alert about this kiosk (epoch seconds)


def refused(conn: sqlite3.Connection, device: int, now: float, burst: int, every: float) -> Refused:
    row = conn.execute(
        "SELECT min(?, tokens + max(0, ? - at) / ?), alerted_at FROM kiosk_bucket WHERE device_id = ?",
        (burst, now, every, device),
    ).fetchone()
    have = float(row[0]) if row else 0.0
    return Refused(max(0.0, (1 - have) * every), row[1] if row else None)


def mark_alerted(conn: sqlite3.Connection, device: int, now: float) -> None:
    conn.execute("UPDATE kiosk_bucket SET alerted_at = ? WHERE device_id = ?", (now, device))


def device_name(conn: sqlite3.Connection, device: int) -> str | None:
    row = conn.execute("SELECT name FROM device WHERE id = ?", (device,)).fetchone()
    return str(row[0]) if row else None


def waiting_from_device(
    conn: sqlite3.Connection, days: list[str], device: int, since: str, until: str, limit: int
) -> list[dict[str, Any]]:
    """Still-waiting tickets the device issued in [since, until) — business `days` that
    window covers — oldest first.  Found through the queue index (day, status): an index
    on the device would cost every issue an update, for a query a flood runs once."""
    marks = ", ".join("?" * len(days))
    rows = conn.execute(
        f"""SELECT * FROM ticket
            WHERE day IN ({marks}) AND status = 'waiting' AND device_id = ?
              AND issued_at >= ? AND issued_at < ?
            ORDER BY issued_at, id LIMIT ?""",
        (*days, device, since, until, limit),
    )
    return [dict(r) for r in rows]
