"""What the hall boards need stored beyond calls: the index that finds a ticket's latest
call (a board shows whether each call still holds), and what each board last said
about its sound (played, failed, blocked by the TV's autoplay policy)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlite_utils import Database as Utils


def m0010_boards_call_ticket(db: Utils) -> None:
    """A ticket's latest call is looked up on every start, finish, no-show and transfer
    (the boards' `call_state`); without an index that is a scan of every call ever made."""
    db.execute("CREATE INDEX call_ticket ON call (ticket_id, seq)")


def m0010_boards_device_sound(db: Utils) -> None:
    """A board's last sound report: "played", "failed" or "blocked", its detail, when."""
    for column in ("sound_status", "sound_detail", "sound_at"):
        db.execute(f"ALTER TABLE device ADD COLUMN {column} TEXT")


MIGRATIONS = [
    ("0010_boards_call_ticket", m0010_boards_call_ticket),
    ("0010_boards_device_sound", m0010_boards_device_sound),
]


def record_sound(
    conn: sqlite3.Connection, device_id: int, status: str, detail: str | None, at: str
) -> None:
    conn.execute(
        "UPDATE device SET sound_status = ?, sound_detail = ?, sound_at = ? WHERE id = ?",
        (status, detail, at, device_id),
    )


def sound_of(conn: sqlite3.Connection, device_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT sound_status, sound_detail, sound_at FROM device WHERE id = ?", (device_id,)
    ).fetchone()
    return dict(row) if row else None
