"""The kiosk page and the tracking page in a real browser (Debian chromium) against a live
server with a real kiosk agent printing to a folder: take a number by touch, follow it
on a phone until "your turn", the priority path, printer faults, a revoked kiosk, and
both screen orientations without scrolling."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from kiosk.agent import KioskAgent
from kiosk.journal import PrintedJournal
from kiosk.printers import PAPER_OUT_FLAG, FilePrinter
from server import accounts
from server.clock import business_day
from server.store import catalog
from server.store import tickets as ticket_store

pytestmark = pytest.mark.browser

#: Screenshots for people to look at (not compared): /tmp/motcua-kiosk-shots.
SHOTS = Path(tempfile.gettempdir()) / "motcua-kiosk-shots"
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}


@pytest.fixture
def kiosk_token(live_server) -> str:
    return live_server.device("kiosk-1", "kiosk")


@pytest.fixture
def tickets_dir(tmp_path) -> Path:
    out = tmp_path / "tickets"
    out.mkdir()
    return out


@pytest.fixture
def agent(live_server, kiosk_token, tickets_dir, tmp_path) -> Iterator[KioskAgent]:
    a = KioskAgent(
        live_server.url,
        kiosk_token,
        FilePrinter(tickets_dir, 80),
        heartbeat_s=0.5,
        journal=PrintedJournal(tmp_path / "printed.log"),
    )
    a.start()
    assert a.client.wait_connected(8)  # type: ignore[attr-defined]
    yield a
    a.stop()


def open_kiosk(browser, live_server, token: str, viewport=PORTRAIT, fake_clock: bool = False):
    context = browser.new_context(viewport=viewport, locale="vi-VN", has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    if fake_clock:
        page.clock.install()
    page.goto(f"{live_server.url}/kiosk/pair?token={token}")
    assert page.url == live_server.url + "/kiosk"
    page.wait_for_selector(".k-tile")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def tile(page, code: str):
    return page.locator(f".k-tile[data-code={code}]")


def text(locator) -> str:
    return locator.inner_text().replace("\xa0", " ").replace("\u2060", "")


def take(page, code: str) -> dict[str, Any]:
    with page.expect_response("**/api/v1/tickets") as response:
        tile(page, code).tap()
    assert response.value.status == 201
    page.wait_for_selector("#screen-confirm:not([hidden])")
    return response.value.json()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"kiosk_{name}.png"))


def test_take_a_number_and_follow_it_until_your_turn(
    browser, live_server, kiosk_token, agent, tickets_dir
):
    page = open_kiosk(browser, live_server, kiosk_token)
    assert text(page.locator("#title")) == "Lấy số thứ tự"
    dd = tile(page, "DD")
    assert "Đất đai" in text(dd) and "Đang chờ: 0 người" in text(dd)
    assert "Thời gian chờ dự kiến: dưới 1 phút" in text(dd)

    body = take(page, "DD")
    assert text(page.locator("#c-number")) == "1001" == body["label"]
    assert text(page.locator("#c-service")) == "Đất đai"
    assert text(page.locator("#c-ahead")) == "Ông/bà là người tiếp theo"
    page.wait_for_selector("#c-print[data-state=printed]")
    assert text(page.locator("#c-print-msg")) == "Mời nhận phiếu ở khe bên dưới"
    assert (tickets_dir / f"{body['print']['job_id']}.bin").exists()
    assert (tickets_dir / f"{body['print']['job_id']}.png").exists()
    shot(page, "confirm_portrait")
    assert page.errors == []  # type: ignore[attr-defined]

    # the citizen scans the QR code: the tracking page on a phone
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    track = phone.new_page()
    # the link follows the port the kiosk reached (its host: this machine's LAN address)
    link = urlsplit(body["tracking_url"])
    assert link.port == urlsplit(live_server.url).port
    track.goto(live_server.url + link.path)
    assert text(track.locator("#number")) == "1001"
    assert text(track.locator("#service")) == "Đất đai"
    assert text(track.locator("#status-main")) == "Ông/bà là người tiếp theo"
    assert "0912" not in track.content()
    track.wait_for_selector("#live[data-up='1']")

    staff = live_server.user("staff1", "staff", counters=[1])
    r = requests.post(
        live_server.url + "/api/v1/counters/1/next",
        headers={"Authorization": f"Bearer {staff}"},
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["ticket"]["label"] == "1001"
    track.wait_for_selector("#status[data-status=called]", timeout=5000)
    assert text(track.locator("#status-main")) == "Đã đến lượt ông/bà — mời đến quầy số 1"
    track.screenshot(path=str(SHOTS / "track_called.png"))
    phone.close()

    # the kiosk returns to the start by itself (the test presses "Xong" instead of waiting)
    page.wait_for_timeout(900)
    page.locator("#c-done").tap()
    page.wait_for_selector("#screen-start:not([hidden])")
    page.context.close()


def test_priority_path(browser, live_server, kiosk_token, agent):
    page = open_kiosk(browser, live_server, kiosk_token, LANDSCAPE)
    page.locator("#priority-btn").tap()
    classes = page.locator(".k-class")
    assert classes.all_inner_texts() == [
        "Người cao tuổi",
        "Người khuyết tật",
        "Phụ nữ mang thai",
        "Người có con nhỏ dưới 36 tháng",
        "Người có công với cách mạng",
    ]
    shot(page, "priority_landscape")
    page.locator(".k-class[data-code=elderly]").tap()
    assert text(page.locator("#title")) == "Ưu tiên: Người cao tuổi"
    body = take(page, "HT")
    assert body["priority"] == "elderly"
    assert text(page.locator("#c-priority")) == "Ưu tiên: Người cao tuổi"
    with live_server.ctx.db.connection() as conn:
        assert ticket_store.ticket(conn, body["id"])["priority"] == "elderly"
    page.wait_for_timeout(900)  # "Xong" ignores taps for a moment (double taps)
    page.locator("#c-done").tap()
    assert text(page.locator("#title")) == "Lấy số thứ tự", "priority ends with the ticket"
    page.context.close()


def test_paper_out_shows_the_number_to_note(browser, live_server, kiosk_token, agent, tickets_dir):
    (tickets_dir / PAPER_OUT_FLAG).touch()
    page = open_kiosk(browser, live_server, kiosk_token)
    page.wait_for_selector("#banner:not([hidden])", timeout=8000)
    assert "Máy in tạm thời không in được phiếu" in text(page.locator("#banner"))
    body = take(page, "CC")
    page.wait_for_selector("#c-print[data-state=fault]")
    assert text(page.locator("#c-print-msg")) == "Máy in hết giấy — vui lòng ghi lại số của ông/bà"
    assert "vẫn giữ nguyên lượt" in text(page.locator("#c-print-keep"))
    number = page.locator("#c-number")
    assert text(number) == body["label"] == "3001"
    assert number.bounding_box()["height"] > 250  # large enough to photograph
    assert not list(tickets_dir.glob("*.bin"))
    shot(page, "paper_out_portrait")
    with live_server.ctx.db.connection() as conn:  # the ticket exists and keeps its place
        assert ticket_store.ticket(conn, body["id"])["status"] == "waiting"
    page.context.close()


def test_a_double_tap_issues_one_ticket(browser, live_server, kiosk_token, agent):
    page = open_kiosk(browser, live_server, kiosk_token)
    tile(page, "LD").dblclick()
    page.wait_for_selector("#screen-confirm:not([hidden])")
    page.wait_for_timeout(300)
    assert page.locator("#screen-confirm").is_visible()
    assert text(page.locator("#c-number")) == "7001"
    day = business_day(live_server.ctx.now(), live_server.ctx.cfg.tz).isoformat()
    with live_server.ctx.db.connection() as conn:
        assert ticket_store.issued_count(conn, "LD", day) == 1
    page.context.close()


def test_english_and_the_return_to_vietnamese(browser, live_server, kiosk_token, agent):
    page = open_kiosk(browser, live_server, kiosk_token, fake_clock=True)
    page.locator("#lang").tap()
    assert text(page.locator("#title")) == "Take a number"
    assert "Land" in text(tile(page, "DD"))
    assert page.evaluate("document.documentElement.lang") == "en"
    take(page, "DD")
    assert text(page.locator("#c-your")) == "Your number"
    page.wait_for_selector("#c-print[data-state=printed]")
    assert text(page.locator("#c-print-msg")) == "Please take your ticket below"
    page.clock.fast_forward("00:11")  # the confirmation goes back by itself after 10 s
    page.wait_for_selector("#screen-start:not([hidden])")
    assert text(page.locator("#title")) == "Lấy số thứ tự"
    page.locator("#lang").tap()
    page.clock.fast_forward("00:45")  # idle: back to Vietnamese
    assert text(page.locator("#title")) == "Lấy số thứ tự"
    page.context.close()


def test_closed_services_and_reached_caps_are_greyed(browser, live_server, kiosk_token):
    ctx = live_server.ctx
    day = business_day(ctx.now(), ctx.cfg.tz).isoformat()
    with ctx.db.write() as conn:
        catalog.set_service_closed(conn, "XD", day)
        svc = catalog.service(conn, "KD")
        catalog.upsert_service(conn, {**svc, "daily_cap": 1})
    page = open_kiosk(browser, live_server, kiosk_token, LANDSCAPE)
    xd = tile(page, "XD")
    assert "closed" in xd.get_attribute("class")
    assert "Tạm ngừng nhận số" in text(xd)
    assert "Giờ nhận hồ sơ: sáng 7:00–11:30, chiều 13:30–17:00" in text(xd)
    take(page, "KD")  # the only number of the day
    page.wait_for_timeout(900)  # "Xong" ignores taps for a moment (double taps)
    page.locator("#c-done").tap()
    kd = tile(page, "KD")
    page.wait_for_selector(".k-tile.closed[data-code=KD]")
    assert "Hết số hôm nay" in text(kd)
    shot(page, "closed_landscape")
    xd.tap()  # a closed tile does nothing
    page.wait_for_timeout(300)
    assert page.locator("#screen-start").is_visible()
    with ctx.db.connection() as conn:
        assert ticket_store.issued_count(conn, "XD", day) == 0
    page.context.close()


def test_without_agent_the_number_is_shown_and_a_revoked_kiosk_stops(
    browser, live_server, kiosk_token
):
    page = open_kiosk(browser, live_server, kiosk_token)
    take(page, "DD")  # no agent runs: the page says so at once
    assert text(page.locator("#c-print-msg")) == (
        "Máy in đang gặp sự cố — vui lòng ghi lại số của ông/bà"
    )
    page.wait_for_timeout(900)
    page.locator("#c-done").tap()

    accounts.revoke_device(live_server.ctx.db, "kiosk-1", live_server.ctx.now())
    tile(page, "DD").tap()
    page.wait_for_selector("#screen-revoked:not([hidden])")
    assert text(page.locator("#r-title")) == "Máy lấy số tạm ngừng hoạt động"
    assert "liên hệ cán bộ" in text(page.locator("#r-body"))
    shot(page, "revoked_portrait")
    page.reload()
    assert "chưa được ghép" in page.content()  # the pairing is gone too
    page.context.close()


def _settled(page, selector: str) -> None:
    """Let the page finish re-laying its grid after a resize (slow on a loaded machine):
    wait until no target's text overflows, then measure (the asserts say what is wrong)."""
    import contextlib

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            """sel => { const els = [...document.querySelectorAll(sel)];
                return els.length > 0 && els.every(e => e.scrollHeight <= e.clientHeight + 1); }""",
            arg=selector,
            timeout=5000,
        )


def test_fits_portrait_and_landscape_screens_without_scrolling(
    browser, live_server, kiosk_token, agent
):
    page = open_kiosk(browser, live_server, kiosk_token, PORTRAIT)
    for name, viewport in (("portrait", PORTRAIT), ("landscape", LANDSCAPE)):
        page.set_viewport_size(viewport)  # the page re-lays its grid on resize
        for screen in ("start", "priority"):
            if screen == "priority":
                page.locator("#priority-btn").tap()
            _settled(page, ".k-tile" if screen == "start" else ".k-class")
            scroll, inner = page.evaluate("[document.scrollingElement.scrollHeight, innerHeight]")
            assert scroll <= inner, f"{screen} scrolls at {name}"
            targets = page.evaluate(
                """sel => [...document.querySelectorAll(sel)].map(e => {
                    const r = e.getBoundingClientRect();
                    return {top: r.top, bottom: r.bottom, width: r.width, height: r.height,
                            clipped: e.scrollHeight > e.clientHeight + 1};
                })""",
                ".k-tile" if screen == "start" else ".k-class",
            )
            assert len(targets) == (8 if screen == "start" else 5)
            for i, box in enumerate(targets):
                assert box["top"] >= 0 and box["bottom"] <= viewport["height"]
                assert box["height"] >= 120 and box["width"] >= 300  # big touch targets
                assert not box["clipped"], f"text clipped in {screen} target {i} at {name}"
            shot(page, f"{screen}_{name}")
        page.locator("#priority-back").tap()
        take(page, "GT")
        scroll, inner = page.evaluate("[document.scrollingElement.scrollHeight, innerHeight]")
        assert scroll <= inner
        shot(page, f"confirm_{name}")
        page.wait_for_timeout(900)
        page.locator("#c-done").tap()
    assert page.evaluate("document.fonts.check('bold 40px \"DejaVu Sans\"', 'Đặng Thị Ỹ')")
    family = page.evaluate("getComputedStyle(document.querySelector('.k-tile-name')).fontFamily")
    assert family.startswith('"DejaVu Sans"')
    page.context.close()


def test_a_kiosk_over_its_ticket_limit_asks_the_citizen_to_wait(browser, live_server, kiosk_token):
    from dataclasses import replace

    ctx = live_server.ctx
    ctx.cfg = replace(ctx.cfg, kiosk_burst=1, kiosk_every_s=60.0)
    page = open_kiosk(browser, live_server, kiosk_token, LANDSCAPE)
    take(page, "HT")
    page.wait_for_timeout(900)  # "Xong" ignores taps for a moment (double taps)
    page.locator("#c-done").tap()
    with page.expect_response("**/api/v1/tickets") as response:
        tile(page, "HT").tap()
    assert response.value.status == 429
    page.wait_for_selector("#toast:not([hidden])")
    assert "đợi vài giây rồi chạm lại" in text(page.locator("#toast"))
    assert page.locator("#screen-start").is_visible()
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
