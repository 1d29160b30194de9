"""The one fair queue as a property: random mixes of walk-ins (normal and priority),
numbers taken from home, check-ins and calls at counters with different service
preferences.  Every call must be the one the stated order names — priority first
(within the priority cap), then the counter's service preference, then queue time,
skipping remote tickets not checked in — and never a remote ticket before check-in;
a ticket passed over `grace_calls` times lapses, and only then."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server import remote, tickets
from server.remote_config import settings as remote_settings

COUNTERS = {1: ["DD"], 2: ["DD", "XD"], 7: ["XD", "DD"]}
_phones = itertools.count(1)


@dataclass
class T:
    id: int
    service: str
    priority: str
    queued_at: str
    pending: bool
    status: str = "waiting"
    passes: int = 0


def _key(services: list[str], t: T) -> tuple[int, str, int]:
    return services.index(t.service), t.queued_at, t.id


class Model:
    def __init__(self, cap: int, grace: int) -> None:
        self.cap, self.grace = cap, grace
        self.tickets: dict[int, T] = {}
        self.streak = dict.fromkeys(COUNTERS, 0)

    def call(self, counter: int) -> tuple[T | None, set[int]]:
        services = COUNTERS[counter]
        waiting = [
            t for t in self.tickets.values() if t.status == "waiting" and t.service in services
        ]
        ready = sorted((t for t in waiting if not t.pending), key=lambda t: _key(services, t))
        prio = next((t for t in ready if t.priority != "normal"), None)
        normal = next((t for t in ready if t.priority == "normal"), None)
        streak = self.streak[counter]
        normal_turn = prio is None or streak >= self.cap
        if prio and (streak < self.cap or normal is None):
            chosen, self.streak[counter] = prio, (streak + 1 if normal else 0)
        elif normal:
            chosen, self.streak[counter] = normal, 0
        else:
            return None, set()
        lapsed = set()
        if normal_turn:
            for t in waiting:
                if t.pending and (normal is None or _key(services, t) < _key(services, normal)):
                    t.passes += 1
                    if t.passes >= self.grace:
                        t.status = "lapsed"
                        lapsed.add(t.id)
        chosen.status = "called"
        return chosen, lapsed


walk_in = st.tuples(
    st.just("walk_in"),
    st.sampled_from(["DD", "XD"]),
    st.sampled_from(["normal", "normal", "elderly"]),
)
take = st.tuples(st.just("remote"), st.sampled_from(["DD", "XD"]), st.just("normal"))
check_in = st.tuples(st.just("check_in"), st.integers(0, 50), st.just(""))
call = st.tuples(st.just("call"), st.sampled_from(sorted(COUNTERS)), st.just(""))
ops = st.lists(
    st.one_of(walk_in, walk_in, take, take, check_in, call, call, call),
    min_size=8,
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops)
@example(  # passed over three times, then lapsed
    steps=[("remote", "DD", "normal"), *[("walk_in", "DD", "normal")] * 4, *[("call", 1, "")] * 3]
)
def test_calls_follow_the_stated_order(ctx, steps):
    db, cfg = ctx.db, ctx.cfg
    with db.write() as conn:  # each example starts with an empty hall
        conn.execute(
            "UPDATE ticket SET status = 'done' WHERE status IN ('waiting', 'called', 'serving')"
        )
        conn.execute("UPDATE counter SET priority_streak = 0")
    model = Model(cfg.priority_cap, remote_settings(cfg).grace_calls)
    now = ctx.now()
    for i, (op, arg, extra) in enumerate(steps):
        now = now + timedelta(seconds=1 + i)
        if op == "walk_in":
            t = tickets.issue(db, cfg, service=arg, priority=extra, now=now)
            model.tickets[t["id"]] = T(t["id"], arg, extra, t["queued_at"], pending=False)
        elif op == "remote":
            phone = f"09{next(_phones):08d}"
            t = remote.take(
                db, cfg, service=arg, phone=phone, cccd_hash=None, source="t", now=now
            ).ticket
            model.tickets[t["id"]] = T(t["id"], arg, "normal", t["queued_at"], pending=True)
        elif op == "check_in":
            pending = [t for t in model.tickets.values() if t.pending and t.status == "waiting"]
            if pending:
                t = pending[arg % len(pending)]
                remote.check_in_ticket(db, cfg, ticket_id=t.id, actor="staff1", now=now)
                t.pending = False
        else:
            expected, lapsed = model.call(arg)
            result = tickets.call_next(db, cfg, arg, "staff", now)
            if expected is None:
                assert result is None
                continue
            assert result is not None
            got = model.tickets[result.ticket["id"]]
            assert not got.pending, "a remote ticket was called before check-in"
            assert got.id == expected.id, (op, arg, got, expected)
            assert {t["id"] for t in result.lapsed} == lapsed
    with db.read() as conn:
        for t in model.tickets.values():
            status = conn.execute("SELECT status FROM ticket WHERE id = ?", (t.id,)).fetchone()[0]
            assert status == ("done" if t.status == "called" else t.status) or (
                t.status == "called" and status == "called"
            )
