"""Estimated waits: a ticket taken before its service opens waits for the opening, and
the first citizens in line are called at the opening itself; during a session, the
people ahead at the counters' rate."""

from __future__ import annotations

from datetime import datetime

import pytest

from server import estimates, hall, tickets
from server.seed import apply_config
from server.store import Database, migrate
from tests.conftest import TZ

EARLY = datetime(2026, 11, 25, 6, 40, tzinfo=TZ)  # kiosks issue from 6:30, counters open 7:00
LUNCH = datetime(2026, 11, 25, 13, 15, tzinfo=TZ)  # afternoon session opens 13:30
MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)


@pytest.fixture
def db(tmp_path, cfg):
    database = Database(tmp_path / "e.sqlite3")
    migrate(database)
    apply_config(database, cfg, MORNING)
    yield database
    database.close()


def _issue(db, cfg, at, n, service="DD"):
    return [tickets.issue(db, cfg, service=service, now=at) for _ in range(n)]


def test_tickets_taken_before_opening_wait_for_the_opening(db, cfg):
    # DD: counters 1 and 2 serve it first, counter 7 second → capacity 2.5 counters.
    waits = [t["estimated_wait_min"] for t in _issue(db, cfg, EARLY, 4)]
    # The first citizens are called as the counters open at 7:00 (20 minutes away) …
    assert waits[:2] == [20, 20]
    # … the next ones after a share of the default 8-minute service.
    assert waits[2] == 22  # 20 + (3 − 2.5) × 8 / 2.5 = 21.6
    assert waits[3] == 25  # 20 + (4 − 2.5) × 8 / 2.5 = 24.8
    assert [t["people_ahead"] for t in _issue(db, cfg, EARLY, 1)] == [4]


def test_a_ticket_taken_in_the_lunch_break_waits_for_the_afternoon(db, cfg):
    (t,) = _issue(db, cfg, LUNCH, 1, service="HT")
    assert t["people_ahead"] == 0
    assert t["estimated_wait_min"] == 15


def test_during_a_session_the_people_ahead_are_served_at_the_counters_rate(db, cfg):
    got = _issue(db, cfg, MORNING, 6)
    assert got[0]["estimated_wait_min"] == 0
    assert got[5]["people_ahead"] == 5
    assert got[5]["estimated_wait_min"] == 16  # 5 × 8 / 2.5


def test_the_kiosk_summary_counts_the_opening_too(db, cfg):
    _issue(db, cfg, EARLY, 3)
    with db.read() as conn:
        summary = {s["code"]: s for s in hall.services_summary(conn, cfg, EARLY)}
    assert summary["DD"]["waiting"] == 3
    assert summary["DD"]["estimated_wait_min"] == 25  # a fourth ticket, as above
    assert summary["HT"]["estimated_wait_min"] == 20


def test_opens_in_is_zero_during_a_session_and_after_closing(cfg):
    assert estimates.opens_in_min(cfg, None, MORNING) == 0
    assert estimates.opens_in_min(cfg, None, EARLY) == 20
    assert estimates.opens_in_min(cfg, None, datetime(2026, 11, 25, 18, 0, tzinfo=TZ)) == 0
