"""Socket.IO contract: snapshot, calls in seq order, resync, zones, tracking, auth."""

from __future__ import annotations

import time

import pytest

from server.protocol import NS_COUNTER, NS_DISPLAY, NS_KIOSK, NS_TRACK
from tests.conftest import drain


def _board(socketio, app, client, token):
    return socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": token}, flask_test_client=client
    )


def _call(client, actors, counter=1):
    r = client.post(
        f"/api/v1/counters/{counter}/next",
        headers=actors.h(actors.staff.get(counter, actors.supervisor)),
    )
    assert r.status_code == 200, r.status_code
    return r.get_json()["call"]


def test_board_gets_snapshot_then_calls_in_order(socketio, app, client, actors, issue):
    issue("DD")
    board = _board(socketio, app, client, actors.board)
    events = drain(board, NS_DISPLAY)
    assert events[0][0] == "snapshot"
    snap = events[0][1]
    assert snap["seq"] == 0 and snap["calls"] == [] and snap["center"].startswith("Trung tâm")
    assert any(c["number"] == 1 for c in snap["counters"])
    for _ in range(4):
        issue("DD")
    for n in (1, 2, 1, 2):
        _call(client, actors, n)
    calls = [p for name, p in drain(board, NS_DISPLAY) if name == "call"]
    assert [c["seq"] for c in calls] == [1, 2, 3, 4]
    assert [c["prev_seq"] for c in calls] == [0, 1, 2, 3]
    assert [c["counter"] for c in calls] == [1, 2, 1, 2]
    assert calls[0]["label"] == "1001" and calls[0]["counter_name"] == "Quầy 1"
    assert (
        calls[0]["text"]
        == "Xin mời công dân có số thứ tự một nghìn không trăm linh một đến quầy số một"
    )


def test_resync_returns_exactly_the_missed_calls(socketio, app, client, actors, issue):
    for _ in range(8):
        issue("DD")
    board = _board(socketio, app, client, actors.board)
    _call(client, actors, 1)
    seen = [p["seq"] for n, p in drain(board, NS_DISPLAY) if n == "call"]
    assert seen == [1]
    board.disconnect(namespace=NS_DISPLAY)
    for _ in range(5):
        _call(client, actors, 1)
    board = _board(socketio, app, client, actors.board)
    drain(board, NS_DISPLAY)  # the fresh snapshot
    board.emit("resync", {"after": 1}, namespace=NS_DISPLAY)
    missed = [p for n, p in drain(board, NS_DISPLAY) if n == "call"]
    assert [c["seq"] for c in missed] == [2, 3, 4, 5, 6]
    assert [c["label"] for c in missed] == ["1002", "1003", "1004", "1005", "1006"]


def test_zone_board_sees_only_its_zone_with_zone_prev_seq(socketio, app, client, actors, issue):
    issue("DD")
    issue("KD")
    issue("DD")
    board_a = _board(socketio, app, client, actors.board_a)
    drain(board_a, NS_DISPLAY)
    _call(client, actors, 1)  # zone A
    r = client.post("/api/v1/counters/6/next", headers=actors.h(actors.supervisor))  # zone B
    assert r.status_code == 200
    _call(client, actors, 1)  # zone A
    calls = [p for n, p in drain(board_a, NS_DISPLAY) if n == "call"]
    assert [(c["seq"], c["prev_seq"]) for c in calls] == [(1, 0), (3, 1)]


def test_board_needs_a_display_token(socketio, app, client, actors):
    bad = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": "nope"}, flask_test_client=client
    )
    assert not bad.is_connected(NS_DISPLAY)
    kiosk = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.kiosk}, flask_test_client=client
    )
    assert not kiosk.is_connected(NS_DISPLAY)


def test_queue_counts_are_pushed_to_kiosks_and_counters(socketio, app, client, actors, issue):
    kiosk = socketio.test_client(
        app, namespace=NS_KIOSK, auth={"token": actors.kiosk}, flask_test_client=client
    )
    staff = socketio.test_client(
        app, namespace=NS_COUNTER, auth={"token": actors.staff[1]}, flask_test_client=client
    )
    assert staff.emit("join", {"counter": 1}, namespace=NS_COUNTER, callback=True)["ok"] is True
    assert staff.emit("join", {"counter": 2}, namespace=NS_COUNTER, callback=True)["ok"] is False
    drain(kiosk, NS_KIOSK)
    issue("DD")
    issue("DD")
    deadline = time.time() + 3
    queue_events: list = []
    while time.time() < deadline and not queue_events:
        time.sleep(0.1)
        queue_events = [p for n, p in drain(kiosk, NS_KIOSK) if n == "queue"]
    assert queue_events, "no queue event within 3 s"
    dd = next(s for s in queue_events[-1]["services"] if s["code"] == "DD")
    assert dd["waiting"] == 2


def test_tracking_page_hears_its_turn(socketio, app, client, actors, issue):
    issue("DD")
    mine = issue("DD")
    tracker = socketio.test_client(app, namespace=NS_TRACK, flask_test_client=client)
    ack = tracker.emit("follow", {"token": mine["token"]}, namespace=NS_TRACK, callback=True)
    assert ack == {"ok": True}
    first = [p for n, p in drain(tracker, NS_TRACK) if n == "ticket"]
    assert first[-1]["ticket"]["people_ahead"] == 1
    _call(client, actors, 1)
    deadline = time.time() + 3
    updates: list = []
    while time.time() < deadline and not any(u["ticket"]["people_ahead"] == 0 for u in updates):
        time.sleep(0.1)
        updates += [p for n, p in drain(tracker, NS_TRACK) if n == "ticket"]
    assert any(u["ticket"]["people_ahead"] == 0 for u in updates)
    _call(client, actors, 1)
    updates = [p for n, p in drain(tracker, NS_TRACK) if n == "ticket"]
    assert updates[-1]["ticket"]["status"] == "called"
    assert (
        updates[-1]["ticket"]["counter"] == 1 and updates[-1]["ticket"]["counter_name"] == "Quầy 1"
    )


def test_a_gap_too_long_to_replay_gets_a_whole_snapshot(
    socketio, app, client, actors, issue, monkeypatch
):
    """Past RESYNC_MAX missed calls the board gets the state itself, queues included:
    a snapshot without them would blank its waiting counts until the queues moved."""
    import server.realtime.sockets

    monkeypatch.setattr(server.realtime.sockets, "RESYNC_MAX", 3)
    for _ in range(8):
        issue("DD")
    for _ in range(5):
        _call(client, actors, 1)
    board = _board(socketio, app, client, actors.board)
    drain(board, NS_DISPLAY)
    board.emit("resync", {"after": 0}, namespace=NS_DISPLAY)
    events = drain(board, NS_DISPLAY)
    assert [n for n, _ in events] == ["snapshot"]
    snap = events[0][1]
    assert snap["seq"] == 5 and max(snap["calls"], key=lambda c: c["seq"])["label"] == "1005"
    assert next(s for s in snap["services"] if s["code"] == "DD")["waiting"] == 3
    assert snap["queue_version"] > 0


@pytest.mark.parametrize("payload", [None, {}, {"after": "x"}, {"after": -1}])
def test_bad_resync_gets_an_error_not_a_crash(socketio, app, client, actors, payload):
    board = _board(socketio, app, client, actors.board)
    drain(board, NS_DISPLAY)
    board.emit("resync", payload, namespace=NS_DISPLAY)
    events = drain(board, NS_DISPLAY)
    assert events and events[0][0] == "error"
    assert board.is_connected(NS_DISPLAY)


def test_revoking_a_device_drops_its_open_connection(socketio, app, client, actors, ctx):
    from server import accounts

    board = _board(socketio, app, client, actors.board)
    assert board.is_connected(NS_DISPLAY)
    accounts.revoke_device(ctx.db, "board-all", ctx.now())
    d = ctx.realtime.identities
    ident = next(who for who in d.values() if who.name == "board-all")
    assert ctx.realtime.disconnect_identity("device", ident.id) == 1
    assert not board.is_connected(NS_DISPLAY)


def test_a_board_connecting_and_leaving_moves_its_last_seen(
    socketio, app, client, actors, ctx, clock
):
    """The supervisor's device list shows since when a board is gone: its last_seen is
    written when it connects and again when it leaves (kiosks also send heartbeats)."""
    from server.store import accounts as account_store

    def last_seen() -> str | None:
        with ctx.db.read() as conn:
            return next(d for d in account_store.devices(conn) if d["name"] == "board-all")[
                "last_seen"
            ]

    assert last_seen() is None
    board = _board(socketio, app, client, actors.board)
    connected = last_seen()
    assert connected is not None
    clock.advance(minutes=7)
    board.disconnect(namespace=NS_DISPLAY)
    left = last_seen()
    assert left is not None and left > connected


def test_many_boards_get_every_call_in_order_and_each_counters_last_view_while_counters_race(
    socketio, app, actors, ctx
):
    """More boards than a fan-out's first wave, five counters calling, finishing, pausing
    and resuming at once from their own threads: every board gets every call once, in
    seq order with the prev_seq chain intact, and what it holds last for each counter
    is that counter's final state (no view overtaken by an older one)."""
    import threading

    from server import hall

    rounds, serves = 6, {1: "DD", 2: "DD", 3: "HT", 4: "HT", 5: "HT"}  # as in config.yaml
    counters = list(serves)
    kiosk = app.test_client()
    for service in serves.values():
        for _ in range(rounds):
            r = kiosk.post(
                "/api/v1/tickets", json={"service": service}, headers=actors.h(actors.kiosk)
            )
            assert r.status_code == 201
    boards = [_board(socketio, app, app.test_client(), actors.board) for _ in range(20)]
    errors: list[str] = []

    def desk(n: int) -> None:
        http, h = app.test_client(), actors.h(actors.staff[n])
        for _ in range(rounds):
            r = http.post(f"/api/v1/counters/{n}/next", headers=h)
            if r.status_code != 200:
                errors.append(f"next {n}: {r.status_code}")
                return
            steps = [
                (f"/api/v1/tickets/{r.get_json()['ticket']['id']}/finish", {}),
                (f"/api/v1/counters/{n}/pause", {"reason": "break"}),
                (f"/api/v1/counters/{n}/resume", {}),
            ]
            for path, body in steps:
                r = http.post(path, json=body, headers=h)
                if r.status_code != 200:
                    errors.append(f"{path}: {r.status_code}")

    threads = [threading.Thread(target=desk, args=(n,)) for n in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with ctx.db.read() as conn:
        final = {n: hall.one_counter(conn, n) for n in counters}
    total = rounds * len(counters)
    for board in boards:
        last: dict[int, object] = {}
        calls = []
        for name, payload in drain(board, NS_DISPLAY):
            if name == "call":
                calls.append(payload)
                last[payload["counter"]] = payload["counter_view"]
            elif name == "counter":
                last[payload["counter"]["number"]] = payload["counter"]
        assert [c["seq"] for c in calls] == list(range(1, total + 1))
        assert [c["prev_seq"] for c in calls] == list(range(0, total))
        assert last == final


def test_a_call_carries_the_queues_and_the_flush_skips_the_boards_that_got_them(
    socketio, app, client, actors, issue, ctx
):
    """After a call, the boards that got it already hold the waiting counts (the call's
    `queue`): the flush sends them nothing, while a board of another zone and the
    kiosks still get the counts, numbered after the call's."""
    issue("KD")
    issue("DD")
    board_all = _board(socketio, app, client, actors.board)
    board_a = _board(socketio, app, client, actors.board_a)
    kiosk = socketio.test_client(
        app, namespace=NS_KIOSK, auth={"token": actors.kiosk}, flask_test_client=client
    )
    snapshot = drain(board_all, NS_DISPLAY)[0][1]
    assert isinstance(snapshot["queue_version"], int)
    ctx.realtime.flush()
    drain(board_a, NS_DISPLAY), drain(kiosk, NS_KIOSK), drain(board_all, NS_DISPLAY)

    r = client.post("/api/v1/counters/6/next", headers=actors.h(actors.supervisor))  # zone B
    assert r.status_code == 200
    ctx.realtime.flush()
    seen_all = drain(board_all, NS_DISPLAY)
    call = next(p for n, p in seen_all if n == "call")
    assert call["queue"]["version"] > snapshot["queue_version"]
    kd = next(s for s in call["queue"]["services"] if s["code"] == "KD")
    assert kd["waiting"] == 0
    assert [n for n, _ in seen_all if n == "queue"] == []
    seen_a = drain(board_a, NS_DISPLAY)
    assert [n for n, _ in seen_a] == ["queue"]  # not its zone's call; the counts, though
    assert seen_a[0][1]["version"] > call["queue"]["version"]
    assert seen_a[0][1]["services"] == call["queue"]["services"]
    assert [n for n, _ in drain(kiosk, NS_KIOSK)].count("queue") == 1
