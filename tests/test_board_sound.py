"""Nobody can tell a board is silent (issue 16.4): boards report whether their last chime
and voice played, failed, or were blocked by the TV's autoplay policy; the supervisor's
device list shows it, and "Phát thử âm thanh" plays a test announcement on one board."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pygame  # noqa: E402
import pytest  # noqa: E402

from display.app import BoardApp, BoardOptions  # noqa: E402
from display.audio import PygamePlayer, RecordingPlayer  # noqa: E402
from server.clock import iso  # noqa: E402
from server.protocol import NS_DISPLAY  # noqa: E402
from server.store import accounts as account_store  # noqa: E402
from server.store import boards as board_store  # noqa: E402
from tests.board_fixtures import Hall, make_hall, wait_for  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.conftest import drain  # noqa: E402
from tests.staff_fixtures import signed_in  # noqa: E402


def device_id(ctx, name: str) -> int:
    with ctx.db.read() as conn:
        d = account_store.device_by_name(conn, name)
    assert d is not None
    return int(d["id"])


def sound_of(ctx, name: str) -> dict[str, Any] | None:
    with ctx.db.read() as conn:
        return board_store.sound_of(conn, device_id(ctx, name))


# --- the server: events, the test button, the device list ---------------------------------------


def test_sound_test_reaches_one_board_which_reports_back_to_the_supervisor(
    socketio, app, client, actors, ctx
) -> None:
    def connect(token: str):
        return socketio.test_client(
            app, namespace=NS_DISPLAY, auth={"token": token}, flask_test_client=client
        )

    board, other, boss = connect(actors.board_a), connect(actors.board), connect(actors.supervisor)
    board_id = device_id(ctx, "board-a")
    staff = actors.h(actors.supervisor)

    r = client.post(f"/api/v1/devices/{board_id}/sound-test", headers=staff)
    assert r.status_code == 200, r.get_json()
    test = r.get_json()["test"]
    assert test["text"] == "Đây là thông báo thử âm thanh của bảng hiển thị."
    assert test["audio_url"].startswith("/api/v1/audio/")
    events = drain(board, NS_DISPLAY)
    assert [name for name, _ in events] == ["snapshot", "sound_test"]
    assert events[1][1] == test
    assert [name for name, _ in drain(other, NS_DISPLAY)] == ["snapshot"]  # only that board
    assert client.get(test["audio_url"]).status_code == 200  # the voice is there to play

    # the board says the browser blocked it: stored, shown live to supervisors
    ack = board.emit(
        "sound_status",
        {"status": "blocked", "detail": "NotAllowedError", "announcement": f"test-{test['id']}"},
        namespace=NS_DISPLAY,
        callback=True,
    )
    assert ack == {"ok": True, "stored": True}
    live = [p for n, p in drain(boss, NS_DISPLAY) if n == "device_sound"]
    assert live == [
        {
            "device": board_id,
            "sound": {"status": "blocked", "detail": "NotAllowedError", "at": iso(ctx.now())},
        }
    ]
    assert [n for n, _ in drain(other, NS_DISPLAY)] == []  # boards never get it
    devices = client.get("/api/v1/hall", headers=staff).get_json()["devices"]
    shown = next(d for d in devices if d["id"] == board_id)
    assert shown["sound"]["status"] == "blocked"
    assert next(d for d in devices if d["kind"] == "kiosk")["sound"] is None

    # then a played report replaces it; the audit log has the test, who and which board
    assert board.emit(
        "sound_status", {"status": "played", "detail": ""}, namespace=NS_DISPLAY, callback=True
    ) == {"ok": True, "stored": True}
    assert sound_of(ctx, "board-a")["sound_status"] == "played"  # type: ignore[index]
    with ctx.db.read() as conn:
        audits = [dict(r) for r in conn.execute("SELECT * FROM audit WHERE action = 'sound_test'")]
    assert [(a["actor"], a["target"]) for a in audits] == [("user:boss", f"device:{board_id}")]


def test_sound_reports_and_tests_are_checked(socketio, app, client, actors, ctx) -> None:
    staff = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.supervisor}, flask_test_client=client
    )
    refused = staff.emit("sound_status", {"status": "played"}, namespace=NS_DISPLAY, callback=True)
    assert refused["error"]["code"] == "forbidden"  # a person is not a board
    board = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.board}, flask_test_client=client
    )
    bad = board.emit("sound_status", {"status": "loud"}, namespace=NS_DISPLAY, callback=True)
    assert bad["error"]["code"] == "bad_sound_status"
    assert sound_of(ctx, "board-all")["sound_status"] is None  # type: ignore[index]

    h = actors.h(actors.supervisor)
    kiosk = device_id(ctx, "kiosk-1")
    assert client.post(f"/api/v1/devices/{kiosk}/sound-test", headers=h).status_code == 404
    assert client.post("/api/v1/devices/99999/sound-test", headers=h).status_code == 404
    board.disconnect(namespace=NS_DISPLAY)
    r = client.post(f"/api/v1/devices/{device_id(ctx, 'board-all')}/sound-test", headers=h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "board_offline"
    staff_token = actors.h(actors.staff[1])
    r = client.post(f"/api/v1/devices/{device_id(ctx, 'board-a')}/sound-test", headers=staff_token)
    assert r.status_code == 403
    # from the supervisor's page (cookie session): the CSRF token is required
    browser, csrf = signed_in(app, "boss")
    r = browser.post(f"/api/v1/devices/{device_id(ctx, 'board-a')}/sound-test")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    page = browser.get("/supervisor").get_data(as_text=True)
    assert "Phát thử âm thanh" in page and "Bị trình duyệt chặn tự phát" in page


def test_a_board_flooding_sound_reports_stores_a_few_and_keeps_the_last(
    socketio, app, client, actors, ctx, caplog
) -> None:
    """A board token sending thousands of alternating reports once cost a write, a push
    to supervisors and a log line each; now a burst is stored, the rest dropped, and the
    newest dropped state is stored when the board's allowance refills."""

    def connect(token: str):
        return socketio.test_client(
            app, namespace=NS_DISPLAY, auth={"token": token}, flask_test_client=client
        )

    desk = app.extensions["motcua.sound"]
    now = [1000.0]
    desk.clock = lambda: now[0]  # the allowance's clock stands still during the flood
    desk.every_s = 0.02  # so the refill task checks often (it refills only as `now` moves)
    boss, board = connect(actors.supervisor), connect(actors.board_a)
    drain(boss, NS_DISPLAY)
    acks = [
        board.emit(
            "sound_status",
            {"status": "failed" if i % 2 else "played", "detail": f"r{i}"},
            namespace=NS_DISPLAY,
            callback=True,
        )
        for i in range(200)
    ]
    assert sum(a["stored"] for a in acks) == 3 and all(a["ok"] for a in acks)
    pushed = [p["sound"] for n, p in drain(boss, NS_DISPLAY) if n == "device_sound"]
    assert [s["detail"] for s in pushed] == ["r0", "r1", "r2"]
    assert sound_of(ctx, "board-a")["sound_detail"] == "r2"  # type: ignore[index]
    warnings = [r for r in caplog.records if r.name == "server.realtime.sound"]
    assert len(warnings) <= 2  # r1 cannot be heard, then one line for all the dropped ones
    # reconnecting does not refill the allowance: the allowance is the board's
    board.disconnect(namespace=NS_DISPLAY)
    board = connect(actors.board_a)
    ack = board.emit(
        "sound_status", {"status": "failed", "detail": "last"}, namespace=NS_DISPLAY, callback=True
    )
    assert ack == {"ok": True, "stored": False}
    assert sound_of(ctx, "board-a")["sound_detail"] == "r2"  # type: ignore[index]
    # the allowance refills: the board's last real state is stored and shown
    now[0] += 10
    wait_for(lambda: (sound_of(ctx, "board-a") or {}).get("sound_detail") == "last")
    assert sound_of(ctx, "board-a")["sound_status"] == "failed"  # type: ignore[index]
    pushed = wait_for(lambda: [p for n, p in drain(boss, NS_DISPLAY) if n == "device_sound"])
    assert [p["sound"]["detail"] for p in pushed] == ["last"]


# --- the pygame board: its audio layer reports ------------------------------------------------


@pytest.fixture
def hall(live_server) -> Hall:
    return make_hall(live_server)


@contextmanager
def run_board(hall: Hall, player) -> Iterator[BoardApp]:
    app = BoardApp(
        BoardOptions(hall.url, hall.board, windowed=True, size=(480, 270)), player=player
    )
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: app.client.state.connected)
        yield app
    finally:
        app.stop()
        thread.join(10)


def test_pygame_board_without_a_working_mixer_reports_failure(hall) -> None:
    def broken_mixer() -> None:
        raise pygame.error("ALSA: Couldn't open audio device")

    with run_board(hall, PygamePlayer(mixer_init=broken_mixer)) as board:
        ctx = hall.server.ctx
        # known at connection, before any call finds out
        wait_for(lambda: (sound_of(ctx, "board-test") or {}).get("sound_status") == "failed")
        hall.issue("DD")
        hall.call(1)
        wait_for(lambda: board.announcements.pending == 0 and board.state.main_call is not None)
        detail = sound_of(ctx, "board-test")["sound_detail"]  # type: ignore[index]
        assert "no audio device (ALSA: Couldn't open audio device)" in detail
        assert board.state.main_call is not None  # the call still shows


def test_pygame_board_plays_a_supervisors_test_sound_and_says_so(hall) -> None:
    player = RecordingPlayer()
    with run_board(hall, player):
        ctx = hall.server.ctx
        r = hall.http.post(
            f"{hall.url}/api/v1/devices/{device_id(ctx, 'board-test')}/sound-test",
            headers=hall.h(hall.supervisor),
        )
        assert r.status_code == 200, r.text
        wait_for(lambda: len(player.played) == 2)  # chime, then the test sentence
        assert player.played[1][:4] == b"RIFF"
        wait_for(lambda: (sound_of(ctx, "board-test") or {}).get("sound_status") == "played")


# --- the web board with the TV's autoplay policy ----------------------------------------------------


@pytest.fixture(scope="module")
def strict_browser(browser):
    """Chromium as a TV runs it: sound only after someone touched the page (launched by
    the session's Playwright: one Playwright per process)."""
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    strict = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*args, "--autoplay-policy=document-user-activation-required"],
        headless=True,
    )
    yield strict
    strict.close()


@pytest.mark.browser
def test_web_board_blocked_by_autoplay_asks_for_a_touch_and_reports_it(
    hall, strict_browser, tmp_path: Path
) -> None:
    context = strict_browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    tv = context.new_page()
    errors: list[str] = []
    tv.on("pageerror", lambda e: errors.append(str(e)))
    try:
        tv.goto(f"{hall.url}/board/pair?token={hall.board}")
        ctx = hall.server.ctx
        # found before any call, and the supervisor knows.  (Polled on the server:
        # Playwright's own page queries count as a user's touch and would unblock it.)
        wait_for(lambda: (sound_of(ctx, "board-test") or {}).get("sound_status") == "blocked")
        button = tv.locator("#bd-sound")
        assert button.is_visible() and button.inner_text() == "Bấm để bật âm thanh"
        assert "NotAllowedError" in sound_of(ctx, "board-test")["sound_detail"]  # type: ignore[index]
        hall.issue("DD")
        call = hall.call(1)
        wait_for(lambda: call["label"] in tv.locator("#bd-current").inner_text())
        tv.screenshot(path=str(tmp_path / "blocked.png"))
        devices = hall.http.get(f"{hall.url}/api/v1/hall", headers=hall.h(hall.supervisor)).json()
        board = next(d for d in devices["devices"] if d["name"] == "board-test")
        assert board["sound"]["status"] == "blocked"
        # one touch: the waiting call plays, and the report says so
        button.click()
        wait_for(
            lambda: tv.evaluate(
                "window.motcuaBoard.audioLog.some(e => e.event === 'end' && e.url.endsWith('chime.wav'))"
            )
        )
        wait_for(lambda: (sound_of(ctx, "board-test") or {}).get("sound_status") == "played")
        # the supervisor's device list: the board's sound, and the test button that works
        desk = context.new_page()
        desk.goto(hall.url + "/login")
        desk.fill("input[name=username]", "boardboss")
        desk.fill("input[name=password]", "password123")
        desk.click("button[type=submit]")
        desk.goto(hall.url + "/supervisor")
        row = desk.locator("#devices li[data-device='board-test']")
        row.locator(".dsound").wait_for()
        assert row.locator(".dsound").inner_text().startswith("Âm thanh: Đã phát")
        row.locator(".dsound-test").click()
        wait_for(lambda: "Đã gửi lệnh phát thử âm thanh đến board-test." in desk.inner_text("#msg"))
        wait_for(
            lambda: tv.evaluate("window.motcuaBoard.announced.some(a => a.startsWith('test-'))")
        )
        desk.screenshot(path=str(tmp_path / "supervisor.png"))
    finally:
        context.close()
    assert errors == []
