"""The ticket history's partial indexes (migration 0009): an issue's event enters none of
them, and every query that needs one still finds it — a query edited so that it no
longer implies an index's condition would silently scan a year of events."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from server.store import reports, staff
from server.store import tickets as store

#: SQLite's query plans and INDEXED BY: PostgreSQL plans by its own statistics.
pytestmark = pytest.mark.sqlite_only

AT = "2026-11-25T02:00:00+00:00"


def _plans(conn: sqlite3.Connection, run: Callable[[sqlite3.Connection], Any]) -> list[str]:
    """The query plan of every statement `run` executes (the trace gives them with their
    values bound)."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        run(conn)
    finally:
        conn.set_trace_callback(None)
    return [
        " / ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        for sql in seen
        if sql.lstrip().upper().startswith("SELECT")
    ]


@pytest.mark.parametrize(
    ("run", "index"),
    [
        (lambda c: staff.counter_day(c, 1, "2026-11-25"), "ticket_event_counter"),
        (lambda c: staff.counter_day_summary(c, 1, "2026-11-25"), "ticket_event_counter"),
        (lambda c: staff.last_actors(c, AT), "ticket_event_at"),
        (lambda c: reports.transfers(c, AT, "2026-11-26T00:00:00+00:00"), "ticket_event_transfer"),
    ],
    ids=["counter_day", "counter_day_summary", "last_actors", "transfers"],
)
def test_history_queries_use_their_partial_index(ctx, run, index: str) -> None:
    with ctx.db.connection() as conn:
        conn.execute("ANALYZE")  # with statistics, as a long-running center's database
        plans = _plans(conn, run)
    assert plans and any(f"INDEX {index} " in p for p in plans), plans


def test_only_the_history_lookups_by_ticket_index_every_event(ctx) -> None:
    with ctx.db.connection() as conn:
        partial = {r["name"]: r["partial"] for r in conn.execute("PRAGMA index_list(ticket_event)")}
    assert partial == {
        "ticket_event_ticket": 0,
        "ticket_event_at": 1,
        "ticket_event_counter": 1,
        "ticket_event_transfer": 1,
    }


def test_an_issue_event_enters_no_partial_index(ctx, issue) -> None:
    t = issue("DD")
    with ctx.db.connection() as conn:
        [event] = store.events(conn, t["id"])
        assert event["action"] == "issue" and event["counter"] is None
        for name, where in (
            ("ticket_event_at", "counter IS NOT NULL"),
            ("ticket_event_counter", "counter IS NOT NULL"),
            ("ticket_event_transfer", "action = 'transfer'"),
        ):
            sql = f"SELECT count(*) FROM ticket_event INDEXED BY {name} WHERE {where}"
            assert conn.execute(sql).fetchone()[0] == 0
