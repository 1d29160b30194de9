"""A call carries its counter's view: boards update the counter from the call itself, and
the `counter` event that follows a call reaches people's live views, not the boards."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from display.state import BoardState
from server.protocol import NS_COUNTER, NS_DISPLAY
from tests.conftest import drain

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def _listen(socketio, app, client, token):
    sio = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": token}, flask_test_client=client
    )
    drain(sio, NS_DISPLAY)  # the snapshot
    return sio


def _events(sio, name):
    return [p for n, p in drain(sio, NS_DISPLAY) if n == name]


def test_boards_get_the_counter_inside_the_call_and_no_counter_event(
    socketio, app, client, actors, issue
):
    issue("DD")
    board = _listen(socketio, app, client, actors.board)
    zone_board = _listen(socketio, app, client, actors.board_a)
    supervisor = _listen(socketio, app, client, actors.supervisor)
    staff = socketio.test_client(
        app, namespace=NS_COUNTER, auth={"token": actors.supervisor}, flask_test_client=client
    )
    r = client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1]))
    assert r.status_code == 200
    label = r.get_json()["call"]["label"]
    assert "counter_view" not in r.get_json()["call"]  # the HTTP answer is unchanged

    for sio in (board, zone_board):
        events = drain(sio, NS_DISPLAY)
        assert [n for n, _ in events if n in ("call", "counter")] == ["call"]
        view = next(p for n, p in events if n == "call")["counter_view"]
        assert view["number"] == 1 and view["state"] == "open"
        assert view["serving"]["label"] == label and view["serving"]["status"] == "called"
    # the supervisor's live view still gets the counter event, with the same view
    assert [p["counter"]["serving"]["label"] for p in _events(supervisor, "counter")] == [label]
    assert [p["counter"]["number"] for n, p in drain(staff, NS_COUNTER) if n == "counter"] == [1]


def test_counter_changes_without_a_call_still_reach_the_boards(
    socketio, app, client, actors, issue
):
    issue("DD")
    board = _listen(socketio, app, client, actors.board)
    staff = actors.h(actors.staff[1])
    call = client.post("/api/v1/counters/1/next", headers=staff).get_json()["call"]
    assert _events(board, "counter") == []
    r = client.post(f"/api/v1/tickets/{call['ticket_id']}/start", headers=staff)
    assert r.status_code == 200
    [started] = _events(board, "counter")
    assert started["counter"]["serving"]["status"] == "serving"
    r = client.post(f"/api/v1/tickets/{call['ticket_id']}/finish", headers=staff)
    assert r.status_code == 200
    [finished] = _events(board, "counter")
    assert finished["counter"]["serving"] is None
    r = client.post("/api/v1/counters/1/pause", json={"reason": "break"}, headers=staff)
    assert r.status_code == 200
    [paused] = _events(board, "counter")
    assert paused["counter"]["state"] == "paused"


def test_server_calls_alone_keep_the_pygame_boards_counters_right(
    socketio, app, client, actors, issue, ctx
):
    for _ in range(2):
        issue("DD")
    sio = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.board}, flask_test_client=client
    )
    staff = actors.h(actors.staff[1])
    first = client.post("/api/v1/counters/1/next", headers=staff).get_json()["call"]
    second = client.post("/api/v1/counters/1/next", headers=staff).get_json()["call"]
    state = BoardState()
    for name, payload in drain(sio, NS_DISPLAY):
        assert isinstance(payload, dict) and name != "counter"
        if name == "snapshot":
            state.apply_snapshot(payload, ctx.now())
        elif name == "call":
            state.apply_call(payload, ctx.now())
    [one] = [c for c in state.counters if c.number == 1]
    assert one.serving is not None and one.serving.label == second["label"] != first["label"]
    assert state.current_call is not None and state.current_call.label == second["label"]


def _call(seq: int, view: object) -> dict[str, object]:
    return {
        "seq": seq,
        "prev_seq": seq - 1,
        "label": f"10{seq:02d}",
        "counter": 3,
        "counter_name": "Quầy 3",
        "service": "DD",
        "at": NOW.isoformat(),
        "counter_view": view,
    }


def _view(label: str, state: str = "open") -> dict[str, object]:
    return {
        "number": 3,
        "name": "Quầy 3",
        "zone": None,
        "services": ["DD"],
        "state": state,
        "pause_reason": None,
        "serving": {"label": label, "status": "called"},
    }


def test_board_model_takes_the_counter_from_the_call() -> None:
    state = BoardState()
    state.apply_snapshot({"seq": 0, "calls": [], "counters": [_view("1000")]}, NOW)
    outcome = state.apply_call(_call(1, _view("1001")), NOW)
    assert [c.label for c in outcome.applied] == ["1001"]
    [three] = state.counters
    assert three.serving is not None and three.serving.label == "1001"
    # a call that waits behind a gap still brings the counter up to date
    state.apply_call(_call(3, _view("1003")), NOW)
    assert state.counters[0].serving is not None and state.counters[0].serving.label == "1003"
    assert state.current_call is not None and state.current_call.label == "1001"


def test_a_bad_counter_in_a_call_loses_the_tile_update_not_the_call() -> None:
    state = BoardState()
    state.apply_snapshot({"seq": 0, "calls": [], "counters": [_view("1000")]}, NOW)
    assert [c.label for c in state.apply_call(_call(1, {"number": "x"}), NOW).applied] == ["1001"]
    assert [c.label for c in state.apply_call(_call(2, ["nonsense"]), NOW).applied] == ["1002"]
    assert [c.label for c in state.apply_call(_call(3, None), NOW).applied] == ["1003"]
    assert state.counters[0].serving is not None and state.counters[0].serving.label == "1000"
