"""The queue engine through its domain functions: numbering, states, call order."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from server import counters, tickets
from server.errors import BadRequest, Conflict, NotFound
from server.store import tickets as store
from tests.conftest import TZ


def test_labels_use_prefix_and_width(ctx):
    t1 = tickets.issue(ctx.db, ctx.cfg, service="DD", now=ctx.now())
    t2 = tickets.issue(ctx.db, ctx.cfg, service="DD", now=ctx.now())
    t3 = tickets.issue(ctx.db, ctx.cfg, service="HT", now=ctx.now())
    assert (t1["label"], t2["label"], t3["label"]) == ("1001", "1002", "2001")
    assert (t1["people_ahead"], t2["people_ahead"]) == (0, 1)
    assert t2["estimated_wait_min"] > 0


def test_numbering_restarts_lazily_at_midnight_in_vietnam(ctx, clock):
    # 23:50 in Vietnam is 16:50 UTC; ten minutes later is a new business day.
    clock.set(datetime(2026, 11, 25, 16, 0, tzinfo=TZ))
    a = tickets.issue(ctx.db, ctx.cfg, service="DD", now=clock.now())
    b = tickets.issue(ctx.db, ctx.cfg, service="DD", now=clock.now())
    clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=TZ))
    c = tickets.issue(ctx.db, ctx.cfg, service="DD", now=clock.now())
    assert (a["number"], b["number"], c["number"]) == (1, 2, 1)
    assert a["day"] == "2026-11-25" and c["day"] == "2026-11-26"


def test_business_day_is_the_vietnamese_date_not_utc(ctx, clock):
    # 06:40 on 26 Nov in Vietnam is still 25 Nov in UTC.
    clock.set(datetime(2026, 11, 26, 6, 40, tzinfo=TZ))
    t = tickets.issue(ctx.db, ctx.cfg, service="DD", now=clock.now())
    assert t["day"] == "2026-11-26"
    assert t["issued_at"].startswith("2026-11-25T23:40")


@pytest.fixture
def wide(ctx):
    with ctx.db.write() as conn:
        conn.execute("UPDATE service SET width = 5, last_number = 99999 WHERE code = 'HT'")
    return ctx


def test_4000_concurrent_tickets_are_numbered_1_to_4000(wide):
    ctx = wide
    numbers: list[int] = []
    lock = threading.Lock()

    def kiosk() -> None:
        for _ in range(200):
            t = tickets.issue(ctx.db, ctx.cfg, service="HT", now=ctx.now())
            with lock:
                numbers.append(t["number"])

    threads = [threading.Thread(target=kiosk) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(numbers) == 4000
    assert sorted(numbers) == list(range(1, 4001))
    with ctx.db.connection() as conn:
        rows = conn.execute("SELECT count(DISTINCT label), count(*) FROM ticket").fetchone()
    assert tuple(rows) == (4000, 4000)


def test_range_exhausted_and_daily_cap(ctx):
    with ctx.db.write() as conn:
        conn.execute("UPDATE service SET last_number = 2 WHERE code = 'DD'")
        conn.execute("UPDATE service SET daily_cap = 1 WHERE code = 'HT'")
    tickets.issue(ctx.db, ctx.cfg, service="DD", now=ctx.now())
    tickets.issue(ctx.db, ctx.cfg, service="DD", now=ctx.now())
    with pytest.raises(Conflict) as e:
        tickets.issue(ctx.db, ctx.cfg, service="DD", now=ctx.now())
    assert e.value.code == "range_exhausted"
    tickets.issue(ctx.db, ctx.cfg, service="HT", now=ctx.now())
    with pytest.raises(Conflict) as e:
        tickets.issue(ctx.db, ctx.cfg, service="HT", now=ctx.now())
    assert e.value.code == "daily_cap_reached"
    with ctx.db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] == 3


@pytest.mark.parametrize(
    ("local", "reason"),
    [
        (datetime(2026, 11, 25, 6, 0), "before_hours"),
        (datetime(2026, 11, 25, 12, 0), "between_sessions"),
        (datetime(2026, 11, 25, 17, 30), "after_hours"),
        (datetime(2026, 11, 28, 9, 0), "closed_day"),  # Saturday
        (datetime(2026, 11, 24, 9, 0), "closed_day"),  # Vietnam Cultural Day
    ],
)
def test_closed_service_refuses_with_reason(ctx, clock, local, reason):
    clock.set(local.replace(tzinfo=TZ))
    with pytest.raises(Conflict) as e:
        tickets.issue(ctx.db, ctx.cfg, service="DD", now=clock.now())
    assert e.value.code == "service_closed"
    assert e.value.details["reason"] == reason
    assert e.value.details["next_open"]


def test_issue_rejects_unknown_service_and_priority(ctx):
    with pytest.raises(NotFound):
        tickets.issue(ctx.db, ctx.cfg, service="NOPE", now=ctx.now())
    with pytest.raises(BadRequest):
        tickets.issue(ctx.db, ctx.cfg, service="DD", priority="vip", now=ctx.now())


def test_state_machine_happy_path_and_history(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    t = tickets.issue(db, cfg, service="DD", now=now)
    r = tickets.call_next(db, cfg, 1, "staff1", now + timedelta(minutes=1))
    assert r is not None and r.ticket["id"] == t["id"] and r.ticket["status"] == "called"
    assert r.call["counter"] == 1 and r.call["label"] == t["label"]
    tickets.start(db, cfg, t["id"], "staff1", now + timedelta(minutes=2))
    done = tickets.finish(db, cfg, t["id"], "staff1", now + timedelta(minutes=9))
    assert done["status"] == "done"
    with db.connection() as conn:
        history = [
            (e["action"], e["from_status"], e["to_status"]) for e in store.events(conn, t["id"])
        ]
    assert history == [
        ("issue", None, "waiting"),
        ("call", "waiting", "called"),
        ("start", "called", "serving"),
        ("finish", "serving", "done"),
    ]


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ("waiting", "finish"),
        ("waiting", "start"),
        ("waiting", "no_show"),
        ("done", "start"),
        ("done", "finish"),
        ("done", "cancel"),
        ("serving", "start"),
        ("called", "cancel"),
    ],
)
def test_invalid_transitions_are_409_and_change_nothing(ctx, setup, action):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    t = tickets.issue(db, cfg, service="DD", now=now)
    if setup in ("called", "serving", "done"):
        tickets.call_next(db, cfg, 1, "s", now)
    if setup in ("serving", "done"):
        tickets.start(db, cfg, t["id"], "s", now)
    if setup == "done":
        tickets.finish(db, cfg, t["id"], "s", now)
    with db.connection() as conn:
        before = store.ticket(conn, t["id"]), len(store.events(conn, t["id"]))
    with pytest.raises(Conflict) as e:
        getattr(tickets, action)(db, cfg, t["id"], "s", now)
    assert e.value.code == "invalid_transition"
    with db.connection() as conn:
        assert (store.ticket(conn, t["id"]), len(store.events(conn, t["id"]))) == before


def test_recall_is_limited(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    tickets.issue(db, cfg, service="DD", now=now)
    first = tickets.call_next(db, cfg, 1, "s", now)
    assert first is not None
    seqs = [first.call["seq"]]
    for _ in range(cfg.recall_limit):
        r = tickets.recall(db, cfg, 1, "s", now)
        assert r.call["recall"] == 1
        seqs.append(r.call["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    with pytest.raises(Conflict) as e:
        tickets.recall(db, cfg, 1, "s", now)
    assert e.value.code == "recall_limit_reached"
    t = tickets.no_show(db, cfg, first.ticket["id"], "s", now)
    assert t["status"] == "no_show"


def test_call_next_returns_none_when_nobody_waits_and_closes_previous(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    t = tickets.issue(db, cfg, service="DD", now=now)
    tickets.call_next(db, cfg, 1, "s", now)
    assert tickets.call_next(db, cfg, 1, "s", now + timedelta(minutes=5)) is None
    with db.connection() as conn:
        assert store.ticket(conn, t["id"])["status"] == "done"


def test_counter_preference_then_issue_time(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    # Counter 2 serves DD first, then XD.
    xd = tickets.issue(db, cfg, service="XD", now=now)
    dd = tickets.issue(db, cfg, service="DD", now=now + timedelta(seconds=1))
    order = [
        tickets.call_next(db, cfg, 2, "s", now + timedelta(minutes=i)).ticket["id"]  # type: ignore[union-attr]
        for i in (1, 2)
    ]
    assert order == [dd["id"], xd["id"]]


def test_priority_first_with_anti_starvation_cap(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    normals = [tickets.issue(db, cfg, service="DD", now=now)["id"] for _ in range(2)]
    prios = [
        tickets.issue(db, cfg, service="DD", priority="elderly", now=now)["id"] for _ in range(5)
    ]
    called = []
    for i in range(7):
        r = tickets.call_next(db, cfg, 1, "s", now + timedelta(minutes=i))
        assert r is not None
        called.append(r.ticket["id"])
    # cap 3: three priority, one normal, three... priority again, then the last normal.
    assert called[:3] == prios[:3]
    assert called[3] == normals[0]
    assert called[4:6] == prios[3:5]
    assert called[6] == normals[1]


def test_two_counters_never_get_the_same_ticket_under_concurrency(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    with db.write() as conn:
        conn.execute("UPDATE service SET width = 5, last_number = 99999 WHERE code = 'DD'")
        for n in range(11, 41):
            conn.execute(
                "INSERT INTO counter (number, name, zone, services, state) VALUES (?, ?, 'A', '[\"DD\"]', 'open')",
                (n, f"Quầy {n}"),
            )
    issued = {tickets.issue(db, cfg, service="DD", now=now)["id"] for _ in range(600)}
    got: list[int] = []
    lock = threading.Lock()

    def counter(number: int) -> None:
        while True:
            r = tickets.call_next(db, cfg, number, f"s{number}", now)
            if r is None:
                return
            with lock:
                got.append(r.ticket["id"])

    threads = [threading.Thread(target=counter, args=(n,)) for n in range(11, 41)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(got) == len(set(got)) == 600
    assert set(got) == issued
    with db.connection() as conn:
        calls = conn.execute("SELECT count(*), count(DISTINCT ticket_id) FROM call").fetchone()
    assert tuple(calls) == (600, 600)


def test_transfer_keeps_number_and_queue_position(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    t = tickets.issue(db, cfg, service="DD", now=now)
    later = tickets.issue(db, cfg, service="HT", now=now + timedelta(minutes=5))
    tickets.call_next(db, cfg, 1, "s", now + timedelta(minutes=6))
    moved = tickets.transfer(
        db, cfg, t["id"], to_service="HT", actor="s", now=now + timedelta(minutes=7)
    )
    assert moved["status"] == "waiting" and moved["label"] == t["label"]
    assert moved["queue_service"] == "HT" and moved["transferred_from"] == "DD"
    # original position: issued before `later`, so counter 3 (HT) calls it first.
    r = tickets.call_next(db, cfg, 3, "s", now + timedelta(minutes=8))
    assert r is not None and r.ticket["id"] == t["id"]
    r2 = tickets.call_next(db, cfg, 3, "s", now + timedelta(minutes=9))
    assert r2 is not None and r2.ticket["id"] == later["id"]


def test_transfer_to_counter_reserves_the_ticket(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    t = tickets.issue(db, cfg, service="HT", now=now)
    tickets.call_next(db, cfg, 3, "s", now)
    tickets.transfer(db, cfg, t["id"], to_counter=5, actor="s", now=now)
    # Counter 4 serves HT too, but the ticket was sent to counter 5.
    assert tickets.call_next(db, cfg, 4, "s", now) is None
    r = tickets.call_next(db, cfg, 5, "s", now)
    assert r is not None and r.ticket["id"] == t["id"]


def test_call_specific_label(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    tickets.issue(db, cfg, service="DD", now=now)
    second = tickets.issue(db, cfg, service="DD", now=now)
    r = tickets.call_label(db, cfg, 1, second["label"], "s", now)
    assert r.ticket["id"] == second["id"]
    with pytest.raises(Conflict):
        tickets.call_label(db, cfg, 1, second["label"], "s", now)
    with pytest.raises(NotFound):
        tickets.call_label(db, cfg, 1, "9999", "s", now)


def test_pause_refuses_calls_and_resume_restores(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    tickets.issue(db, cfg, service="DD", now=now)
    c = counters.pause(db, cfg, 1, "break", "s", now)
    assert (c["state"], c["pause_reason"]) == ("paused", "break")
    with pytest.raises(Conflict) as e:
        tickets.call_next(db, cfg, 1, "s", now)
    assert e.value.code == "counter_not_open"
    with pytest.raises(BadRequest):
        counters.pause(db, cfg, 2, "nap", "s", now)
    counters.resume(db, cfg, 1, "s", now)
    assert tickets.call_next(db, cfg, 1, "s", now) is not None
    with pytest.raises(Conflict) as e:
        counters.pause(db, cfg, 1, "meeting", "s", now)
    assert e.value.code == "counter_busy"


def test_cancel_waiting_ticket(ctx):
    db, cfg, now = ctx.db, ctx.cfg, ctx.now()
    t = tickets.issue(db, cfg, service="DD", now=now)
    assert tickets.cancel(db, cfg, t["id"], "boss", now)["status"] == "cancelled"
    assert tickets.call_next(db, cfg, 1, "s", now) is None
