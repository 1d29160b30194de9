"""The soak's day (benchmarks/_soakday.py), short and in-process: the same script of
kiosks, counters, transfers, no-shows, phones and lookups, driven through Flask test
clients with the clock moved event by event, then the invariants a hall depends on —
no duplicate number, no ticket called twice, every state accounted for, and every call
a counter was answered visible in GET /api/v1/calls and on a board, in seq order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from benchmarks._soakday import Day, Plan, check, problems
from server.dossiers import apikeys
from server.protocol import NS_DISPLAY, NS_TRACK
from server.ratelimit import RateLimiter
from tests.conftest import drain
from tests.dossier_fixtures import setup_catalog

#: Higher shares than a real day, so a few hundred operations meet every branch.
PLAN = Plan(
    visitors=600, seed=11, no_show=0.12, transfer=0.12, follow=0.5, rate=0.5, service_min=5.0
)
OPS = 450


def _transport(client):
    def send(
        actor: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = client.open(path, method=method, json=body, headers=headers)
        return resp.status_code, resp.get_json(silent=True)

    return send


def _all_calls(client) -> list[dict[str, Any]]:
    calls, after = [], 0
    while True:
        page = client.get(f"/api/v1/calls?after={after}&limit=50").get_json()["calls"]
        if not page:
            return calls
        calls += page
        after = page[-1]["seq"]


def test_a_short_soaked_day_keeps_every_invariant(app, ctx, client, clock, actors, socketio):
    for name in list(ctx.limits):  # one test client stands for a hall of phones
        ctx.limits[name] = RateLimiter(limit=10**9, per_seconds=60)
    now = ctx.now()
    setup_catalog(ctx.db, now)
    key = apikeys.add_key(ctx.db, "STP", now)[1]
    send = _transport(client)
    codes = [f"000.00.06.H56-261125-{i:04d}" for i in range(1, 6)]
    for i, code in enumerate(codes):
        body = {"procedure": "STP-LLTP", "applicant": "Trần Thị Bích Ngọc", "phone": f"09{i:08d}"}
        assert send("department", "PUT", f"/api/v1/dossiers/{code}", body, key)[0] == 201
    board = socketio.test_client(app, namespace=NS_DISPLAY, auth={"token": actors.board})
    track = socketio.test_client(app, namespace=NS_TRACK)
    day = Day(
        send,
        kiosks=[actors.kiosk],
        staff=actors.supervisor,
        counters={
            c["number"]: c["services"]
            for c in client.get("/api/v1/counters").get_json()["counters"]
        },
        services=[s["code"] for s in client.get("/api/v1/services").get_json()["services"]],
        dossiers=codes,
        plan=PLAN,
        budgets=False,
    )
    local = now.astimezone(ctx.cfg.tz)
    seven = datetime.combine(local.date(), datetime.min.time(), local.tzinfo) + timedelta(hours=7)
    followed = 0

    def pace(at: float) -> None:
        nonlocal followed
        clock.set(seven + timedelta(seconds=at))
        for token in day.followed[followed:]:  # a phone opens each new tracking page
            assert track.emit("follow", {"token": token}, namespace=NS_TRACK, callback=True)["ok"]
        followed = len(day.followed)

    stats = day.run(pace, until_s=10 * 3600, max_ops=OPS)
    ctx.realtime.flush()

    assert stats.total >= OPS and not stats.errors and not stats.failures
    refused = {op: n for op, n in stats.ops.items() if int(op.split()[-1]) >= 400}
    assert set(refused) <= {"lookup 404"}, refused  # an unknown dossier code now and then
    for op in (
        "issue 201",
        "next 200",
        "next 204",
        "start 200",
        "finish 200",
        "recall 200",
        "no-show 200",
        "transfer 200",
        "rate 201",
        "track 200",
        "lookup 200",
    ):
        assert stats.ops[op], f"the day never did {op}: {dict(stats.ops)}"
    with ctx.db.read() as conn:
        found = check(conn)
    assert problems(found, stats) == []
    assert found["tickets"] == len(stats.issued) == sum(found["statuses"].values())

    # every call in /api/v1/calls, in seq order, the same as the table and the answers
    seqs = [c["seq"] for c in _all_calls(client)]
    assert seqs == sorted(set(seqs)) == found["seqs"]
    assert set(stats.call_seqs) <= set(seqs) and len(stats.call_seqs) == len(seqs)
    # … and on the board, in order, each pointing at the one before
    live = [p for name, p in drain(board, NS_DISPLAY) if name == "call"]
    assert [c["seq"] for c in live] == seqs
    assert [c["prev_seq"] for c in live] == [0, *seqs[:-1]]
    tracked = [p["ticket"] for name, p in drain(track, NS_TRACK) if name == "ticket"]
    assert {t["status"] for t in tracked} >= {"waiting", "called", "done"}


def test_the_checks_catch_a_broken_day(ctx, client, actors, issue):
    """The invariants are not vacuous: a second first call of one ticket, a ticket left
    at a counter beside another, a final state without its event — each is reported."""
    for _ in range(3):
        issue("DD")
    staff = actors.h(actors.staff[1])
    first = client.post("/api/v1/counters/1/next", headers=staff).get_json()["ticket"]
    client.post(f"/api/v1/tickets/{first['id']}/finish", headers=staff)
    client.post("/api/v1/counters/1/next", headers=staff)
    with ctx.db.read() as conn:
        assert problems(check(conn)) == []
    with ctx.db.write() as conn:
        conn.execute(
            """INSERT INTO call (seq, ticket_id, label, counter, counter_name, zone, service, at)
               SELECT (SELECT max(seq) + 1 FROM call), ticket_id, label, counter,
                      counter_name, zone, service, at
               FROM call WHERE ticket_id = ?""",
            (first["id"],),
        )
        conn.execute(
            "UPDATE ticket SET status = 'called', counter = 1 WHERE id = ?", (first["id"],)
        )
        conn.execute("UPDATE ticket SET status = 'no_show' WHERE status = 'waiting'")
    with ctx.db.read() as conn:
        found = problems(check(conn))
    assert any(p.startswith("called_twice") for p in found)
    assert any(p.startswith("busy_twice") for p in found)
    assert any(p.startswith("no_show:") for p in found)
