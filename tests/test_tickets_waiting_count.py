"""The issue path's shortcuts give exactly the answers of the long way round.

`waiting_count` (kept by triggers) must always equal a count of the waiting tickets,
whatever moves them; and the people ahead and estimated wait an issue answers with
(read with its service, without counting the queue) must equal what `estimates.for_ticket`
says of the same ticket right after — also when the clock was set back, so that some
tickets were queued "after" the new one, and for priority tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from server import estimates, tickets
from server.seed import apply_config
from server.store import Database, migrate
from server.store import tickets as store
from tests.conftest import MORNING
from tests.hall_machine import CFG, HallDay

SERVICES = ["DD", "HT", "XD"]
COUNTERS = [1, 2, 3, 7]


def counted(conn) -> dict[tuple[str, str, int], int]:
    rows = conn.execute(
        """SELECT day, queue_service, priority != 'normal', count(*) FROM ticket
           WHERE status = 'waiting' GROUP BY 1, 2, 3"""
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def kept(conn) -> dict[tuple[str, str, int], int]:
    rows = conn.execute("SELECT day, queue_service, prio, n FROM waiting_count WHERE n != 0")
    return {(r[0], r[1], r[2]): r[3] for r in rows}


class Queue(HallDay):
    STEP = timedelta(seconds=20)

    @rule(
        service=st.sampled_from(SERVICES),
        prio=st.sampled_from(["normal", "normal", "elderly", "veteran"]),
        back=st.sampled_from([0, 0, 0, 7]),
    )
    def issue(self, service: str, prio: str, back: int) -> None:
        self.now += timedelta(seconds=20) - timedelta(minutes=back)  # a clock set back
        t = tickets.issue(self.db, CFG, service=service, priority=prio, now=self.now)
        self.ids.append(t["id"])
        with self.db.read() as conn:
            row = store.ticket(conn, t["id"])
            assert row is not None
            expected = estimates.for_ticket(conn, CFG, row, self.now)
        assert {k: t[k] for k in expected} == expected

    @rule(counter=st.sampled_from(COUNTERS))
    def call_next(self, counter: int) -> None:
        self.attempt(tickets.call_next, self.db, CFG, counter, "s", self.now)

    @rule(action=st.sampled_from(["start", "finish", "no_show", "cancel"]), pick=st.integers(0, 50))
    def act(self, action: str, pick: int) -> None:
        if self.ids:
            tid = self.ids[pick % len(self.ids)]
            self.attempt(getattr(tickets, action), self.db, CFG, tid, "s", self.now)

    @rule(pick=st.integers(0, 50), service=st.sampled_from(SERVICES), counter=st.booleans())
    def transfer(self, pick: int, service: str, counter: bool) -> None:
        if self.ids:
            target = {"to_counter": 2} if counter else {"to_service": service}
            tid = self.ids[pick % len(self.ids)]
            self.attempt(tickets.transfer, self.db, CFG, tid, actor="s", now=self.now, **target)

    @rule(counter=st.sampled_from(COUNTERS), pause=st.booleans())
    def pause_resume(self, counter: int, pause: bool) -> None:
        self.pause_or_resume(counter, pause)

    @invariant()
    def counts_are_exact(self) -> None:
        with self.db.read() as conn:
            assert kept(conn) == counted(conn)
            day = MORNING.date().isoformat()
            by_queue: dict[str, int] = {}
            for (d, queue, _), n in counted(conn).items():
                if d == day:
                    by_queue[queue] = by_queue.get(queue, 0) + n
            assert store.waiting_counts(conn, day) == by_queue


TestQueue = Queue.TestCase
TestQueue.settings = settings(
    max_examples=20,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "m.sqlite3")
    migrate(database)
    apply_config(database, CFG, MORNING)
    yield database
    database.close()


def test_the_migration_counts_tickets_already_waiting(db):
    """A database from before the migration: its waiting tickets are counted once."""
    for service in ("DD", "DD", "HT"):
        tickets.issue(db, CFG, service=service, now=MORNING)
    tickets.issue(db, CFG, service="DD", priority="elderly", now=MORNING)
    tickets.call_next(db, CFG, 3, "s", MORNING)  # counter 3 serves HT first
    with db.write() as conn:
        for trigger in ("insert", "delete", "leave", "enter"):
            conn.execute(f"DROP TRIGGER waiting_count_{trigger}")
        conn.execute("DROP TABLE waiting_count")
        conn.execute("DELETE FROM _migration WHERE name = '0008_waiting_count'")
    assert migrate(db) == ["0008_waiting_count"]
    with db.read() as conn:
        assert (
            kept(conn)
            == counted(conn)
            == {
                (MORNING.date().isoformat(), "DD", 0): 2,
                (MORNING.date().isoformat(), "DD", 1): 1,
            }
        )


def test_deleting_a_waiting_ticket_is_counted(db):
    t = tickets.issue(db, CFG, service="DD", now=MORNING)
    tickets.issue(db, CFG, service="DD", now=MORNING)
    with db.write() as conn:
        conn.execute("DELETE FROM ticket_event WHERE ticket_id = ?", (t["id"],))
        conn.execute("DELETE FROM ticket WHERE id = ?", (t["id"],))
    with db.read() as conn:
        assert kept(conn) == counted(conn) == {(MORNING.date().isoformat(), "DD", 0): 1}
    assert tickets.issue(db, CFG, service="DD", now=MORNING)["people_ahead"] == 1


def test_people_ahead_of_a_priority_ticket_are_the_priority_ones_queued_before(db):
    for _ in range(3):
        tickets.issue(db, CFG, service="DD", now=MORNING)
    first = tickets.issue(db, CFG, service="DD", priority="elderly", now=MORNING)
    assert first["people_ahead"] == 0
    # a clock set back: this one was queued "before" the first priority ticket
    early = tickets.issue(
        db, CFG, service="DD", priority="elderly", now=MORNING - timedelta(minutes=2)
    )
    assert early["people_ahead"] == 0
    # priority classes sort either side of 'normal' ("elderly" < "normal" < "veteran")
    late = tickets.issue(db, CFG, service="DD", priority="veteran", now=MORNING)
    assert late["people_ahead"] == 2
    earlier = tickets.issue(
        db, CFG, service="DD", priority="elderly", now=MORNING - timedelta(minutes=1)
    )
    assert earlier["people_ahead"] == 1
    normal = tickets.issue(db, CFG, service="DD", now=MORNING - timedelta(minutes=1))
    assert normal["people_ahead"] == 4  # the priority ones only: the normal ones came later
