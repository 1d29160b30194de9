"""SQL for citizens' satisfaction ratings (one per ticket), plus the indexes the
reports need on tables other areas own (added here so no shipped migration changes)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlite_utils import Database as Utils

RATING_COLUMNS = (
    "ticket_id",
    "level",
    "reason",
    "reason_text",
    "dossier",
    "service",
    "counter",
    "staff",
    "source",
    "device_id",
    "day",
    "at",
)


def m0004_ratings(db: Utils) -> None:
    db.execute(
        """CREATE TABLE rating (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL UNIQUE REFERENCES ticket(id),
            level TEXT NOT NULL
                CHECK (level IN ('very_satisfied', 'satisfied', 'unsatisfied')),
            reason TEXT,
            reason_text TEXT,
            dossier TEXT,
            service TEXT,
            counter INTEGER,
            staff TEXT,
            source TEXT NOT NULL,
            device_id INTEGER,
            day TEXT NOT NULL,
            at TEXT NOT NULL,
            CHECK (level != 'unsatisfied' OR reason IS NOT NULL)
        )"""
    )
    db.execute("CREATE INDEX rating_day ON rating (day)")


def m0004_ratings_report_indexes(db: Utils) -> None:
    """Reports read ranges of business days and a few kinds of events; a year of one
    center is ~100,000 tickets, so these ranges must not scan whole tables."""
    # covering: the queue report reads a year of tickets from this index alone
    db.execute(
        """CREATE INDEX IF NOT EXISTS ticket_report ON ticket (day, service, status, counter,
           staff, issued_at, called_at, started_at, finished_at, transferred_from)"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS ticket_event_action ON ticket_event (action, at)")
    db.execute("CREATE INDEX IF NOT EXISTS counter_event_at ON counter_event (at)")


MIGRATIONS = [
    ("0004_ratings", m0004_ratings),
    ("0004_ratings_report_indexes", m0004_ratings_report_indexes),
]


def _rating(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row else None


def insert_rating(conn: sqlite3.Connection, r: dict[str, Any]) -> int | None:
    """Insert a rating; None when the ticket already has one (the UNIQUE constraint is
    the guarantee, so two pads racing on one ticket still record only one)."""
    row = conn.execute(
        f"""INSERT INTO rating ({", ".join(RATING_COLUMNS)})
            VALUES ({", ".join("?" * len(RATING_COLUMNS))})
            ON CONFLICT(ticket_id) DO NOTHING RETURNING id""",
        [r.get(c) for c in RATING_COLUMNS],
    ).fetchone()
    return int(row[0]) if row else None


def rating_for_ticket(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any] | None:
    return _rating(
        conn.execute("SELECT * FROM rating WHERE ticket_id = ?", (ticket_id,)).fetchone()
    )


def finish_detail(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any]:
    """The detail of the ticket's last finish event (staff may record dossier codes there)."""
    row = conn.execute(
        """SELECT detail FROM ticket_event WHERE ticket_id = ? AND action = 'finish'
           ORDER BY id DESC LIMIT 1""",
        (ticket_id,),
    ).fetchone()
    if row is None or not row[0]:
        return {}
    try:
        detail = json.loads(row[0])
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def last_finished_at_counter(
    conn: sqlite3.Connection, counter: int, since: str
) -> dict[str, Any] | None:
    """The ticket most recently finished at a counter since `since`, if not yet rated."""
    row = conn.execute(
        """SELECT ticket.* FROM ticket
           LEFT JOIN rating ON rating.ticket_id = ticket.id
           WHERE ticket.counter = ? AND ticket.status = 'done' AND ticket.finished_at >= ?
             AND rating.id IS NULL
           ORDER BY ticket.finished_at DESC LIMIT 1""",
        (counter, since),
    ).fetchone()
    return dict(row) if row else None
