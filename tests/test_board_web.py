"""The web hall board (/board) and the counter screens (/board/counter/<n>): pairing and
access with the Flask client, then a real browser receiving calls, playing their sound,
catching up after being offline, and a counter screen following its counter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server import accounts, logins
from server.store import accounts as account_store
from tests.board_fixtures import Hall, make_hall, wait_for

CHIME = "/api/v1/audio/chime.wav"


# --- access (no browser) -------------------------------------------------------------------


def test_board_needs_a_paired_display(client, ctx) -> None:
    r = client.get("/board")
    assert r.status_code == 403
    assert "chưa được ghép" in r.get_data(as_text=True)
    kiosk = accounts.add_device(ctx.db, "k", "kiosk", ctx.now())
    client.get(f"/kiosk/pair?token={kiosk}")
    assert client.get("/board").status_code == 403
    assert client.get("/board/counter/1").status_code == 403


def test_paired_display_gets_the_board_without_its_token_in_the_page(client, ctx) -> None:
    token = accounts.add_device(ctx.db, "tv", "display", ctx.now())
    r = client.get(f"/board/pair?token={token}")
    assert r.status_code == 303 and r.headers["Location"].endswith("/board")
    r = client.get("/board")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Xin mời số" in html and "Số vừa gọi" in html and "Bấm để bật âm thanh" in html
    assert token not in html
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script (CSP); data travels as JSON
    r = client.get("/board?lang=en")
    assert "Recently called" in r.get_data(as_text=True)


def test_a_display_with_a_counter_is_that_counters_screen(client, ctx) -> None:
    token = accounts.add_device(ctx.db, "above-5", "display", ctx.now(), counter=5)
    client.get(f"/board/pair?token={token}")
    r = client.get("/board")
    assert r.status_code == 303 and r.headers["Location"].endswith("/board/counter/5")
    html = client.get("/board/counter/5").get_data(as_text=True)
    assert "Quầy 5" in html and "Đang phục vụ số" in html
    r = client.get("/board/counter/99")
    assert r.status_code == 404
    assert "Không có quầy số 99" in r.get_data(as_text=True)


def test_staff_may_look_at_the_board(client, ctx) -> None:
    accounts.add_user(ctx.db, "watcher", "supervisor", "password123", ctx.now())
    with ctx.db.connection() as conn:
        user = account_store.user_by_name(conn, "watcher")
    assert user is not None
    sid = logins.start_session(ctx.db, user["id"], ctx.now())
    with client.session_transaction() as session:
        session["user_id"] = user["id"]
        session["sid"] = sid
    assert client.get("/board").status_code == 200
    assert client.get("/board/counter/2").status_code == 200


# --- in a browser ------------------------------------------------------------------------


@pytest.fixture
def hall(live_server) -> Hall:
    return make_hall(live_server)


@pytest.fixture
def tv(browser) -> Iterator:
    """A 1920×1080 smart-TV page that records every request it makes."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.requests.append(r.url))  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []


def open_board(page, hall: Hall, token: str | None = None) -> None:
    page.goto(f"{hall.url}/board/pair?token={token or hall.board}")
    wait_for(lambda: page.evaluate("!!(window.motcuaBoard && window.motcuaBoard.state.baseline)"))


def announced(page) -> list[str]:
    return page.evaluate("window.motcuaBoard.announced.slice()")


@pytest.mark.browser
def test_web_board_shows_a_call_and_plays_chime_then_voice(hall, tv, tmp_path) -> None:
    hall.issue("DD", 2)
    open_board(tv, hall)
    call = hall.call(1)
    current = tv.locator("#bd-current")
    wait_for(lambda: "1001" in current.inner_text() and "Quầy 1" in current.inner_text())
    assert "Đất đai" in current.inner_text()
    wait_for(lambda: hall.url + call["audio_url"] in tv.requests)
    assert hall.url + CHIME in tv.requests
    wait_for(
        lambda: (
            tv.evaluate("window.motcuaBoard.audioLog.filter(e => e.event === 'start').length") >= 2
        )
    )
    log = tv.evaluate("window.motcuaBoard.audioLog")
    assert [(e["event"], e["url"]) for e in log[:3]] == [
        ("start", hall.url + CHIME),
        ("end", hall.url + CHIME),
        ("start", hall.url + call["audio_url"]),
    ]
    assert announced(tv) == [f"call-{call['seq']}"]
    assert tv.locator("#bd-counters [data-counter='1']").inner_text().split("\n")[:2] == [
        "Quầy 1",
        "1001",
    ]
    # all eight services at once, each with its count (issue 16.10: no paging when they fit)
    assert tv.locator("#bd-services [data-service]").count() == 8
    wait_for(
        lambda: (
            tv.evaluate("window.motcuaBoard.state.services.find(s => s.code === 'DD').waiting") == 1
        )
    )
    assert tv.locator("#bd-offline").is_hidden()
    tv.screenshot(path=str(tmp_path / "board.png"))
    # The counts came inside the call; a summary numbered before them changes nothing,
    # one numbered after does (the server's queue event, fed to the page's own handler).
    shown = tv.evaluate("window.motcuaBoard.state.queueVersion")
    assert shown > 0
    feed = """([version, waiting]) => {
      const services = window.motcuaBoard.state.services.map(
        (s) => (s.code === 'DD' ? { ...s, waiting } : s));
      window.motcuaBoard.socket.listeners('queue')[0]({ services, version });
      return window.motcuaBoard.state.services.find((s) => s.code === 'DD').waiting;
    }"""
    assert tv.evaluate(feed, [shown - 1, 7]) == 1
    assert tv.evaluate(feed, [shown + 1, 7]) == 7


@pytest.mark.browser
def test_web_board_catches_up_after_being_offline(hall, tv) -> None:
    hall.issue("DD", 6)
    open_board(tv, hall)
    first = hall.call(1)
    wait_for(lambda: announced(tv) == [f"call-{first['seq']}"])
    tv.evaluate("window.motcuaBoard.socket.disconnect()")
    tv.wait_for_selector("#bd-offline", state="visible")
    stale = [hall.call(n) for n in (1, 2)]
    hall.advance_clock(minutes=2)
    fresh = [hall.call(n) for n in (1, 2)]
    tv.evaluate("window.motcuaBoard.socket.connect()")
    tv.wait_for_selector("#bd-offline", state="hidden")
    wait_for(lambda: tv.evaluate("window.motcuaBoard.state.lastSeq") == fresh[-1]["seq"])
    labels = tv.locator("#bd-recent .bd-recent-label").all_inner_texts()
    assert labels == [c["label"] for c in reversed([first, *stale, fresh[0]])]
    assert fresh[-1]["label"] in tv.locator("#bd-current").inner_text()
    # the two calls older than a minute are shown, not voiced
    assert announced(tv) == [f"call-{c['seq']}" for c in (first, *fresh)]


@pytest.mark.browser
def test_web_board_asks_for_the_sound_when_autoplay_is_blocked(hall, tv) -> None:
    tv.add_init_script(
        """
        const realPlay = HTMLMediaElement.prototype.play;
        window.autoplayAllowed = false;
        HTMLMediaElement.prototype.play = function () {
          if (!window.autoplayAllowed) {
            return Promise.reject(new DOMException("blocked", "NotAllowedError"));
          }
          return realPlay.call(this);
        };
        """
    )
    hall.issue("HT", 1)
    open_board(tv, hall)
    call = hall.call(3)
    button = tv.locator("#bd-sound")
    button.wait_for(state="visible")
    assert button.inner_text() == "Bấm để bật âm thanh"
    tv.evaluate("window.autoplayAllowed = true")
    button.click()
    assert button.is_hidden()
    wait_for(
        lambda: tv.evaluate(
            "window.motcuaBoard.audioLog.some(e => e.event === 'end' && e.url.endsWith('chime.wav'))"
        )
    )
    assert announced(tv) == [f"call-{call['seq']}"]


@pytest.mark.browser
def test_counter_screen_follows_its_counter(hall, tv) -> None:
    token = hall.server.device("above-2", "display", counter=2)
    hall.issue("DD", 1)
    tv.goto(f"{hall.url}/board/pair?token={token}")
    assert tv.url.endswith("/board/counter/2")
    tv.wait_for_selector("#bd-offline", state="hidden")
    assert "Quầy 2" in tv.locator("#cs-name").inner_text()
    assert tv.locator("#cs-label").inner_text() == "Chưa gọi số"
    call = hall.call(2)
    wait_for(lambda: tv.locator("#cs-label").inner_text() == call["label"])
    assert tv.locator("#cs-caption").inner_text() == "Xin mời số"
    assert "Đất đai" in tv.locator("#cs-services").inner_text()
    hall.ticket(call["ticket_id"], "start")
    wait_for(lambda: tv.locator("#cs-caption").inner_text() == "Đang phục vụ số")
    assert tv.locator("#cs-label").inner_text() == call["label"]
    hall.ticket(call["ticket_id"], "finish")
    wait_for(lambda: tv.locator("#cs-label").inner_text() == "Chưa gọi số")
    hall.pause(2, "meeting")
    wait_for(lambda: tv.locator("#cs-label").inner_text() == "Tạm nghỉ")
    assert tv.locator("#cs-status").inner_text() == "Họp"
