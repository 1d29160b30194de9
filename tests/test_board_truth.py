"""The board shows what is true now (issue 16.3): a call that ended in a no-show, whose
ticket was finished, or whose counter paused, no longer invites anyone from the main
area — live, after a reload (snapshot), and on the pygame board rendered to PNG."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pygame  # noqa: E402

from display import plan as colors  # noqa: E402
from display.panels import PAGE_S  # noqa: E402
from display.render import CURRENT_RECT, plan_board, save_png  # noqa: E402
from display.state import BoardState  # noqa: E402
from server.protocol import NS_DISPLAY  # noqa: E402
from tests.conftest import TZ, drain  # noqa: E402
from tests.test_board_render import mismatch  # noqa: E402


class Board:
    """A real /display client feeding a pygame BoardState, as display/client.py does."""

    def __init__(self, socketio, app, client, token: str, now) -> None:
        self.sio = socketio.test_client(
            app, namespace=NS_DISPLAY, auth={"token": token}, flask_test_client=client
        )
        self.state = BoardState()
        self.state.connected = True
        self.now = now.astimezone(TZ)
        self.events: list[tuple[str, Any]] = []
        self.pump()

    def pump(self) -> list[str]:
        got = drain(self.sio, NS_DISPLAY)
        self.events += got
        for name, payload in got:
            assert isinstance(payload, dict)
            if name == "snapshot":
                self.state.apply_snapshot(payload, self.now)
            elif name == "call":
                self.state.apply_call(payload, self.now)
            elif name == "counter":
                self.state.apply_counter(payload)
            elif name == "queue":
                self.state.apply_queue(payload)
            elif name == "call_state":
                self.state.apply_call_state(payload)
        return [name for name, _ in got]

    def texts(self) -> list[str]:
        """Every string drawn over a whole rotation of the paged columns."""
        return [
            i.text
            for page in range(4)
            for i in plan_board(self.state, self.later + timedelta(seconds=PAGE_S * page)).texts
        ]

    @property
    def later(self):
        return self.now + timedelta(seconds=30)  # past the flash

    def main_area(self) -> list[str]:
        x, y, w, h = CURRENT_RECT
        return [
            i.text
            for i in plan_board(self.state, self.later).texts
            if x <= i.x < x + w and y <= i.y < y + h
        ]

    def row_mark(self, label: str) -> tuple[Any, Any]:
        """The recent-list row of ``label``: (its label item, the mark beside it)."""
        plan = plan_board(self.state, self.later)
        row = next(i for i in plan.texts if i.text == label and i.y > CURRENT_RECT[1] + 300)
        recent = plan.regions["recent"]
        marks = [
            i
            for i in plan.texts
            if abs(i.y - row.y) < 30 and row.x + 300 < i.x < recent[0] + recent[2]
        ]
        return row, (marks[0] if marks else None)


def post(client, actors, path: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"/api/v1{path}", json=body or None, headers=actors.h(actors.supervisor))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_no_show_then_pause_clears_the_main_call_live_and_after_a_reload(
    socketio, app, client, actors, issue, ctx, tmp_path: Path
) -> None:
    first, second = issue("DD"), issue("DD")
    board = Board(socketio, app, client, actors.board_a, ctx.now())
    called = post(client, actors, "/counters/1/next")
    board.pump()
    assert board.main_area()[2:] == [first["label"], "→", "Quầy 1", "Đất đai"]

    post(client, actors, f"/tickets/{called['ticket']['id']}/no-show")
    names = board.pump()
    assert names.index("call_state") < names.index("counter")
    state_event = next(p for n, p in board.events if n == "call_state")
    assert state_event == {
        "seq": called["call"]["seq"],
        "ticket_id": called["ticket"]["id"],
        "label": first["label"],
        "counter": 1,
        "zone": "A",
        "state": "no_show",
    }
    post(client, actors, "/counters/1/pause", reason="break")
    board.pump()

    # The main area no longer invites 1001 to counter 1; the list says it was absent.
    assert first["label"] not in board.main_area()
    assert board.main_area() == ["Xin ông/bà vui lòng chờ số tiếp theo"]
    label, mark = board.row_mark(first["label"])
    assert mark is not None and mark.text == "Vắng mặt" and mark.color == colors.ORANGE
    assert label.color == colors.DIM
    path = save_png(board.state, board.later, tmp_path / "after-no-show.png")
    surface = pygame.Surface((1920, 1080))
    surface.blit(pygame.image.load(str(path)), (0, 0))  # the PNG as written, 32-bit
    assert mismatch(surface, mark, "Vắng mặt", colors.TILE_ENDED) < 0.01
    # the main panel's pixels: only the waiting message, no yellow number left in it
    panel = surface.subsurface(pygame.Rect(CURRENT_RECT))
    yellow = pygame.mask.from_threshold(panel, colors.YELLOW, (30, 30, 30, 255))
    assert yellow.count() == 0
    tile_texts = board.texts()
    assert "Tạm nghỉ" in tile_texts and "Nghỉ giải lao" in tile_texts

    # A reload (a new board, a new snapshot) shows the same truth.
    snap = client.get("/api/v1/calls?after=0").get_json()["calls"]
    assert [c["state"] for c in snap] == ["no_show"]
    again = Board(socketio, app, client, actors.board_a, ctx.now())
    snapshot = next(p for n, p in again.events if n == "snapshot")
    assert [(c["label"], c["state"]) for c in snapshot["calls"]] == [(first["label"], "no_show")]
    assert next(c for c in snapshot["counters"] if c["number"] == 1)["state"] == "paused"
    assert again.main_area() == board.main_area()
    assert again.row_mark(first["label"])[1].text == "Vắng mặt"  # type: ignore[union-attr]

    # The next call elsewhere takes the main area, flashing and fresh.
    post(client, actors, "/counters/2/next")
    board.pump()
    assert board.main_area()[2:4] == [second["label"], "→"]


def test_a_finished_ticket_and_a_counter_that_moved_on_end_their_calls(
    socketio, app, client, actors, issue, ctx, tmp_path: Path
) -> None:
    a, b, c = issue("HT"), issue("HT"), issue("HT")
    board = Board(socketio, app, client, actors.board, ctx.now())
    first = post(client, actors, "/counters/3/next")
    post(client, actors, "/counters/4/next")
    board.pump()
    assert board.main_area()[2:5] == [b["label"], "→", "Quầy 4"]
    # counter 3's citizen came and was served: still its call, not the main one
    post(client, actors, f"/tickets/{first['ticket']['id']}/start")
    board.pump()
    assert board.row_mark(a["label"])[1] is None  # still active: no mark
    post(client, actors, f"/tickets/{first['ticket']['id']}/finish")
    board.pump()
    assert board.row_mark(a["label"])[1].text == "Đã xong"  # type: ignore[union-attr]
    # "call next" at counter 4 finishes 2002 without a ticket event of its own
    post(client, actors, "/counters/4/next")
    board.pump()
    assert board.main_area()[2:5] == [c["label"], "→", "Quầy 4"]
    assert board.row_mark(b["label"])[1].text == "Đã xong"  # type: ignore[union-attr]
    # the queue emptied and the last ticket finished: nobody is invited any more
    r = client.post("/api/v1/counters/4/next", headers=actors.h(actors.supervisor))
    assert r.status_code == 204  # finishes 2003; nobody waits any more
    board.pump()
    assert board.main_area() == ["Xin ông/bà vui lòng chờ số tiếp theo"]
    assert board.row_mark(c["label"])[1].text == "Đã xong"  # type: ignore[union-attr]
    save_png(board.state, board.later, tmp_path / "after-finish.png")
    snapshot = client.get("/api/v1/calls?after=0").get_json()["calls"]
    assert [x["state"] for x in snapshot] == ["done", "done", "done"]


def test_a_transferred_ticket_is_marked_and_a_resync_brings_the_counters_first(
    socketio, app, client, actors, issue, ctx
) -> None:
    issue("DD")
    board = Board(socketio, app, client, actors.board_a, ctx.now())
    called = post(client, actors, "/counters/1/next")
    board.pump()
    post(client, actors, f"/tickets/{called['ticket']['id']}/transfer", service="XD")
    board.pump()
    assert board.row_mark(called["ticket"]["label"])[1].text == "Đã chuyển"  # type: ignore[union-attr]
    # a board that missed the call asks again: the counter's view comes before the call
    replay = Board(socketio, app, client, actors.board_a, ctx.now())
    replay.sio.emit("resync", {"after": 0}, namespace=NS_DISPLAY)
    names = replay.pump()
    assert names == ["counter", "call"]
    replayed = next(p for n, p in replay.events if n == "call")
    assert replayed["state"] == "transferred"
