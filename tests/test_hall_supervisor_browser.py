"""The supervisor's hall page in a real browser at 1366×768 (the usual office screen):
each service's state reads as a state and its action as a button with a verb; a kiosk
over its ticket limit raises a live alert, and one action cancels its flood; the top
bar keeps every menu item on one line and the center's name whole."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from server import config as config_mod
from tests.conftest import shipped_config

pytestmark = pytest.mark.browser

HALL_PNG = "/tmp/hall_supervisor_1366.png"
ADMIN_PNG = "/tmp/hall_admin_1366.png"
WAIT = 8000


@pytest.fixture
def cfg() -> config_mod.Config:
    return shipped_config()  # the kiosk limit as shipped: burst 5, then 1 per 4 s


def _sign_in(page, url, username):
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")


def _top_bar_fits(page) -> None:
    """Every menu item one line high, and the center's name not cut."""
    sizes = page.eval_on_selector_all(
        ".topbar .mainnav a, .topbar .me .who",
        """els => els.map(e => {
            const s = getComputedStyle(e);
            const line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.3;
            return {text: e.textContent.trim(), h: e.getBoundingClientRect().height,
                    pad: parseFloat(s.paddingTop) + parseFloat(s.paddingBottom), line,
                    lines: Math.round((e.getBoundingClientRect().height - parseFloat(s.paddingTop)
                                       - parseFloat(s.paddingBottom)) / line)};
        })""",
    )
    assert sizes and all(s["lines"] <= 1 for s in sizes), sizes
    brand = page.eval_on_selector(
        ".topbar .brand",
        "e => ({scroll: e.scrollWidth, client: e.clientWidth, text: e.textContent})",
    )
    assert brand["scroll"] <= brand["client"], brand  # nothing hidden behind an ellipsis
    bar = page.eval_on_selector(".topbar", "e => [e.scrollWidth, e.clientWidth]")
    assert bar[0] <= bar[1]  # nothing pushed off the right edge
    who = page.eval_on_selector(
        ".topbar .me .who", "e => ({scroll: e.scrollWidth, client: e.clientWidth})"
    )
    assert who["scroll"] <= who["client"], who  # the signed-in name and role whole


def test_top_bar_keeps_a_full_name_and_role_whole_at_1366(live_server, page):
    # the demo's supervisor read "Trần Thị Minh Hương · Giám s…" at 1366×768
    from server import accounts

    ctx = live_server.ctx
    accounts.add_user(
        ctx.db, "giamsat", "supervisor", "password123", ctx.now(), full_name="Trần Thị Minh Hương"
    )
    url = live_server.url
    _sign_in(page, url, "giamsat")
    page.wait_for_url(f"{url}/**")
    for path in ("/supervisor", "/supervisor/audit"):
        page.goto(url + path)
        expect(page.locator(".topbar .me .who")).to_contain_text("Trần Thị Minh Hương · Giám sát")
        _top_bar_fits(page)


def test_hall_page_alerts_cancels_a_flood_and_separates_state_from_action(live_server, page, cfg):
    url = live_server.url
    live_server.user("giamsat", "supervisor")
    from server import accounts

    accounts.add_user(live_server.ctx.db, "quantri", "admin", "password123", live_server.ctx.now())
    kiosk = {"Authorization": f"Bearer {live_server.device('kiosk-sanh', 'kiosk')}"}
    _sign_in(page, url, "quantri")
    page.wait_for_url(f"{url}/**")
    page.goto(url + "/supervisor")
    expect(page.locator("#conn")).to_have_class("conn on", timeout=WAIT)

    # the state is a status line; the action is a button labelled with the verb
    row = page.locator('#services tr[data-code="DD"]')
    expect(row.locator(".sstate")).to_have_text("Đang nhận số", timeout=WAIT)
    expect(row.locator("button")).to_have_text("Ngừng nhận số")
    assert row.locator(".sstate").evaluate("e => e.tagName") == "SPAN"
    row.locator("button").click()
    expect(row.locator("button")).to_have_text("Bấm lần nữa để ngừng")
    row.locator("button").click()
    expect(row.locator(".sstate")).to_have_text("Đã ngừng nhận số hôm nay", timeout=WAIT)
    expect(row.locator("button")).to_have_text("Mở lại nhận số")
    row.locator("button").click()
    expect(row.locator(".sstate")).to_have_text("Đang nhận số", timeout=WAIT)

    # a kiosk floods HT: past its allowance it is refused, and the page shows an alert
    codes = [
        requests.post(
            f"{url}/api/v1/tickets", json={"service": "HT"}, headers=kiosk, timeout=5
        ).status_code
        for _ in range(cfg.kiosk_burst + 3)
    ]
    assert codes.count(201) >= cfg.kiosk_burst and 429 in codes
    alert = page.locator("#alerts li")
    expect(alert).to_have_count(1, timeout=WAIT)
    expect(alert).to_contain_text("kiosk-sanh vượt giới hạn cấp số")
    expect(page.locator('#services tr[data-code="HT"] td.big')).to_have_text(
        str(codes.count(201)), timeout=WAIT
    )
    page.screenshot(path=HALL_PNG)
    _top_bar_fits(page)

    alert.locator("button.danger").click()
    expect(page.locator("#dlg-flood")).to_be_visible()
    expect(page.locator("#flood-device")).to_have_text("kiosk-sanh")
    page.locator("#dlg-flood button.danger").click()  # no reason: the form refuses
    expect(page.locator("#dlg-flood")).to_be_visible()
    page.fill("#flood-reason", "Máy lấy số bị kẹt màn hình")
    page.locator("#dlg-flood button.danger").click()
    expect(page.locator("#msg")).to_contain_text(
        f"Đã huỷ {codes.count(201)} số đang chờ của máy kiosk-sanh", timeout=WAIT
    )
    expect(page.locator('#services tr[data-code="HT"] td.big')).to_have_text("0", timeout=WAIT)
    expect(page.locator("#alerts li")).to_have_count(0)

    # the admin's pages have the same top bar
    page.goto(url + "/admin")
    page.screenshot(path=ADMIN_PNG)
    _top_bar_fits(page)
