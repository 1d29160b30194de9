"""A slip of the hand must not move a citizen: the transfer dialog opens with nothing
chosen (C then Enter transfers nobody) and asks once more before moving the ticket;
"Vắng mặt" (V) asks too, and Enter there means "no, go back"."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WAIT = 8000


def _status(url: str, token: str) -> dict:
    return requests.get(f"{url}/api/v1/tickets/{token}", timeout=5).json()["ticket"]


def test_transfer_and_no_show_need_an_explicit_choice_and_confirmation(live_server, page):
    url = live_server.url
    live_server.user("canbo1", "staff", counters=(1,))
    kiosk = {"Authorization": f"Bearer {live_server.device('kiosk-1', 'kiosk')}"}
    tickets = [
        requests.post(
            f"{url}/api/v1/tickets", json={"service": "DD"}, headers=kiosk, timeout=5
        ).json()
        for _ in range(2)
    ]
    page.goto(url + "/login")
    page.fill("input[name=username]", "canbo1")
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/staff/1")
    expect(page.locator("#conn")).to_have_class("conn on", timeout=WAIT)

    def key(letter: str, button: str) -> None:
        expect(page.locator(f'.act[data-act="{button}"]')).to_be_enabled(timeout=WAIT)
        page.keyboard.press(letter)

    key("n", "next")
    expect(page.locator("#t-label")).to_have_text("1001", timeout=WAIT)

    # C, then Enter: the dialog has no preselected target, so nothing moves
    key("c", "transfer")
    dialog = page.locator("#dlg-transfer")
    expect(dialog).to_be_visible()
    assert page.locator("#transfer-service").input_value() == ""
    assert page.locator("#transfer-counter").input_value() == ""
    expect(page.locator("#transfer-ok")).to_be_disabled()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    assert _status(url, tickets[0]["token"])["status"] == "called"
    # choosing a target is one step; the move needs a second, explicit one
    page.select_option("#transfer-service", "HT")
    expect(page.locator("#transfer-summary")).to_have_text(
        "Chuyển số 1001 sang lĩnh vực Hộ tịch – Tư pháp."
    )
    page.locator("#transfer-ok").click()
    expect(page.locator("#transfer-ok")).to_have_text("Xác nhận chuyển")
    expect(dialog).to_be_visible()
    assert _status(url, tickets[0]["token"])["status"] == "called"
    page.keyboard.press("Escape")  # changed my mind
    expect(dialog).to_be_hidden()
    assert _status(url, tickets[0]["token"])["status"] == "called"
    # reopened: nothing chosen again
    key("c", "transfer")
    assert page.locator("#transfer-service").input_value() == ""
    expect(page.locator("#transfer-ok")).to_have_text("Chuyển…")
    page.select_option("#transfer-counter", "7")
    page.locator("#transfer-ok").click()
    expect(page.locator("#transfer-summary")).to_contain_text(
        "Chắc chắn chuyển số 1001 sang Quầy 7"
    )
    page.locator("#transfer-ok").click()
    expect(page.locator("#msg")).to_have_text("Đã chuyển số 1001.", timeout=WAIT)
    moved = _status(url, tickets[0]["token"])
    assert moved["status"] == "waiting"

    # V asks; Enter (the focused "no") keeps the citizen
    key("n", "next")
    expect(page.locator("#t-label")).to_have_text("1002", timeout=WAIT)
    key("v", "no_show")
    expect(page.locator("#dlg-noshow")).to_be_visible()
    expect(page.locator("#noshow-label")).to_have_text("1002")
    page.keyboard.press("Enter")
    expect(page.locator("#dlg-noshow")).to_be_hidden()
    assert _status(url, tickets[1]["token"])["status"] == "called"
    expect(page.locator("#t-label")).to_have_text("1002")
    page.locator("#btn-noshow").click()
    page.locator("#noshow-ok").click()
    expect(page.locator("#msg")).to_have_text("Đã đánh dấu vắng mặt số 1002.", timeout=WAIT)
    assert _status(url, tickets[1]["token"])["status"] == "no_show"
