"""Property test: any sequence of hall actions (valid or not) keeps the queue consistent.

Refused actions must raise the domain's own errors and change nothing; accepted ones
must keep these invariants: every ticket's last history row matches its status, counts
balance, a counter holds at most one citizen, only called/serving tickets sit at a
counter, and every call row points at a ticket that was called."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from server import tickets
from tests.hall_machine import CFG, HallDay

SERVICES = ["DD", "HT", "XD"]
COUNTERS = [1, 2, 3, 4]


class Hall(HallDay):
    @rule(service=st.sampled_from(SERVICES), prio=st.sampled_from(["normal", "normal", "elderly"]))
    def issue(self, service: str, prio: str) -> None:
        self.tick()
        t = tickets.issue(self.db, CFG, service=service, priority=prio, now=self.now)
        self.ids.append(t["id"])

    @rule(counter=st.sampled_from(COUNTERS))
    def call_next(self, counter: int) -> None:
        self.attempt(tickets.call_next, self.db, CFG, counter, "s", self.now)

    @rule(counter=st.sampled_from(COUNTERS))
    def recall(self, counter: int) -> None:
        self.attempt(tickets.recall, self.db, CFG, counter, "s", self.now)

    @rule(
        action=st.sampled_from(["start", "finish", "no_show", "cancel"]),
        pick=st.integers(0, 50),
    )
    def act(self, action: str, pick: int) -> None:
        if self.ids:
            tid = self.ids[pick % len(self.ids)]
            self.attempt(getattr(tickets, action), self.db, CFG, tid, "s", self.now)

    @rule(pick=st.integers(0, 50), service=st.sampled_from(SERVICES))
    def transfer(self, pick: int, service: str) -> None:
        if self.ids:
            tid = self.ids[pick % len(self.ids)]
            self.attempt(
                tickets.transfer, self.db, CFG, tid, to_service=service, actor="s", now=self.now
            )

    @rule(counter=st.sampled_from(COUNTERS), pause=st.booleans())
    def pause_resume(self, counter: int, pause: bool) -> None:
        self.pause_or_resume(counter, pause)

    @invariant()
    def consistent(self) -> None:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT id, status, counter FROM ticket").fetchall()
            assert len(rows) == len(self.ids)
            for r in rows:
                last = conn.execute(
                    "SELECT to_status FROM ticket_event WHERE ticket_id = ? ORDER BY id DESC LIMIT 1",
                    (r["id"],),
                ).fetchone()
                assert last[0] == r["status"]
                if r["status"] in ("called", "serving"):
                    assert r["counter"] is not None
                if r["status"] == "waiting":
                    assert r["counter"] is None
            busy = conn.execute(
                "SELECT counter, count(*) FROM ticket WHERE status IN ('called','serving') GROUP BY counter"
            ).fetchall()
            assert all(n == 1 for _, n in busy)
            paused_busy = conn.execute(
                """SELECT count(*) FROM counter c JOIN ticket t ON t.counter = c.number
                   WHERE c.state = 'paused' AND t.status IN ('called','serving')"""
            ).fetchone()[0]
            assert paused_busy == 0
            orphan = conn.execute(
                """SELECT count(*) FROM call c WHERE NOT EXISTS (
                     SELECT 1 FROM ticket_event e WHERE e.ticket_id = c.ticket_id
                     AND e.action IN ('call', 'recall'))"""
            ).fetchone()[0]
            assert orphan == 0
            labels = conn.execute(
                "SELECT count(*), count(DISTINCT service || label) FROM ticket"
            ).fetchone()
            assert labels[0] == labels[1]


TestHall = Hall.TestCase
TestHall.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
