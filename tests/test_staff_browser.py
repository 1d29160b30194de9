"""The console and the hall view in a real browser: sign in, follow the queue while a
kiosk issues tickets, call, finish with a scanned dossier code, pause with a reason —
and a supervisor in another browser sees the pause, all without reloading."""

from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import expect

from server.store import accounts as account_store
from server.store import tickets as ticket_store

pytestmark = pytest.mark.browser

CONSOLE_PNG = "/tmp/staff_console.png"
SUPERVISOR_PNG = "/tmp/supervisor.png"
DOSSIER = "000.00.06.H56-261125-0042"
WAIT = 8000  # ms: generous for a loaded CI machine; passes as soon as the text shows


def key(page, letter, button):
    """Press a shortcut once its button is enabled (an action in flight ignores keys)."""
    expect(page.locator(f'.act[data-act="{button}"]')).to_be_enabled(timeout=WAIT)
    page.keyboard.press(letter)


def _sign_in(page, url, username):
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")


def test_counter_console_and_supervisor_live(live_server, page, browser):
    url = live_server.url
    live_server.user("canbo1", "staff", counters=(1,))
    live_server.user("giamsat", "supervisor")
    kiosk = {"Authorization": f"Bearer {live_server.device('kiosk-1', 'kiosk')}"}

    def issue(service="DD"):
        r = requests.post(
            f"{url}/api/v1/tickets", json={"service": service}, headers=kiosk, timeout=5
        )
        assert r.status_code == 201
        return r.json()

    loads = []
    page.on("load", lambda p: loads.append(p.url))
    _sign_in(page, url, "canbo1")
    page.wait_for_url(f"{url}/staff/1")
    expect(page.locator("#conn")).to_have_class("conn on", timeout=WAIT)
    expect(page.locator("#q-empty")).to_be_visible()
    page_loads = len(loads)

    # tickets issued at the kiosk appear without reloading
    issue()
    issue()
    expect(page.locator("#q-total")).to_have_text("2 người đang chờ", timeout=WAIT)
    expect(page.locator("#q-list tr")).to_have_count(2)

    key(page, "n", "next")  # Gọi số tiếp
    expect(page.locator("#t-label")).to_have_text("1001", timeout=WAIT)
    expect(page.locator("#t-recalls")).to_have_text("Còn 3 lần gọi lại")
    expect(page.locator("#q-total")).to_have_text("1 người đang chờ", timeout=WAIT)
    issue()
    expect(page.locator("#q-total")).to_have_text("2 người đang chờ", timeout=WAIT)

    key(page, "l", "recall")  # Gọi lại: one recall used
    expect(page.locator("#t-recalls")).to_have_text("Còn 2 lần gọi lại", timeout=WAIT)

    # Hoàn thành with a scanned dossier code (a scanner types the code and Enter)
    key(page, "h", "finish")
    expect(page.locator("#dlg-finish")).to_be_visible()
    page.keyboard.type(DOSSIER.lower())
    page.keyboard.press("Enter")
    expect(page.locator("#dossier-list li")).to_have_count(1)
    page.keyboard.press("Enter")  # empty field: finish
    expect(page.locator("#history li").first).to_contain_text(f"Hồ sơ: {DOSSIER}", timeout=WAIT)
    expect(page.locator("#t-label")).to_have_text("")
    with live_server.ctx.db.connection() as conn:
        events = ticket_store.events(conn, 1)
    finish = next(e for e in events if e["action"] == "finish")
    assert json.loads(finish["detail"]) == {"dossiers": [DOSSIER]}

    # a readable Vietnamese error from the API
    key(page, "s", "call")
    page.keyboard.type("9999")
    page.keyboard.press("Enter")
    expect(page.locator("#msg")).to_contain_text("Không có số 9999 hôm nay", timeout=WAIT)

    # serve the next one, then look at the screen
    page.get_by_role("button", name="Gọi số tiếp").click()
    expect(page.locator("#t-label")).to_have_text("1002", timeout=WAIT)
    key(page, "b", "start")  # Bắt đầu
    expect(page.locator("#t-status")).to_have_text("Đang phục vụ", timeout=WAIT)
    page.wait_for_timeout(1100)  # let the elapsed clock tick once
    page.screenshot(path=CONSOLE_PNG)

    # the supervisor, in another browser, watches the hall
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    boss = context.new_page()
    _sign_in(boss, url, "giamsat")
    boss.wait_for_url(f"{url}/supervisor")
    card = boss.locator('.ccard[data-counter="1"]')
    expect(card).to_contain_text("1002", timeout=WAIT)
    expect(boss.locator("#conn")).to_have_class("conn on", timeout=WAIT)

    key(page, "h", "finish")
    page.keyboard.press("Enter")
    expect(page.locator("#t-label")).to_have_text("", timeout=WAIT)
    key(page, "t", "pause")  # Tạm nghỉ → reason
    expect(page.locator("#dlg-pause")).to_be_visible()
    page.get_by_role("button", name="Họp").click()
    expect(page.locator("#state")).to_contain_text("Tạm nghỉ · Họp", timeout=WAIT)
    expect(page.locator("#btn-pause")).to_contain_text("Tiếp tục")
    expect(page.locator("#btn-next")).to_be_disabled()

    expect(card).to_contain_text("Tạm nghỉ", timeout=WAIT)
    expect(card).to_contain_text("Họp")
    expect(card).to_have_class("ccard k-paused")
    boss.screenshot(path=SUPERVISOR_PNG)

    key(page, "t", "pause")  # Tiếp tục
    expect(page.locator("#state")).to_have_text("Đang mở", timeout=WAIT)
    expect(card).not_to_have_class("ccard k-paused", timeout=WAIT)
    assert len(loads) == page_loads, "the console reloaded"

    # the supervisor closes a service for the day (two clicks) and reassigns a counter
    row = boss.locator('#services tr[data-code="TKQ"]')
    row.get_by_role("button").click()
    expect(row.get_by_role("button")).to_have_text("Bấm lần nữa để ngừng")
    row.get_by_role("button").click()
    expect(row.locator(".sstate")).to_have_text("Đã ngừng nhận số hôm nay", timeout=WAIT)
    assert (
        requests.post(
            f"{url}/api/v1/tickets", json={"service": "TKQ"}, headers=kiosk, timeout=5
        ).status_code
        == 409
    )
    boss.get_by_role("button", name="Đổi lĩnh vực của Quầy 9").click()
    boss.locator('#svc-order input[value="GT"]').uncheck()
    boss.get_by_role("button", name="Lưu").click()
    expect(boss.locator('.ccard[data-counter="9"] .csvc')).to_have_text("LD", timeout=WAIT)
    context.close()


def test_revoked_session_shows_a_clear_message(live_server, page):
    url = live_server.url
    live_server.user("canbo1", "staff", counters=(1,))
    _sign_in(page, url, "canbo1")
    page.wait_for_url(f"{url}/staff/1")
    expect(page.locator("#conn")).to_have_class("conn on", timeout=WAIT)
    ctx = live_server.ctx
    with ctx.db.write() as conn:
        u = account_store.user_by_name(conn, "canbo1")
        account_store.update_user(conn, u["id"], active=0)
    ctx.realtime.disconnect_identity("user", u["id"])
    expect(page.locator("#msg")).to_contain_text("Phiên đăng nhập đã kết thúc", timeout=WAIT)
    expect(page.locator("#btn-next")).to_be_disabled()
