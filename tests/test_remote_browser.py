"""A citizen in a real browser (Debian chromium): take a number on the phone page
/lay-so, confirm the phone by the code the SMS outbox holds, follow the number, check
in at the kiosk by its USB scanner (the phone's QR typed as keys, then Enter), get
called."""

from __future__ import annotations

import pytest
import requests

from tests.remote_fixtures import last_code, outbox
from tests.test_kiosk_pages import agent, kiosk_token, open_kiosk, text, tickets_dir  # noqa: F401

pytestmark = pytest.mark.browser


def test_take_a_number_from_home_check_in_and_get_called(
    browser,
    live_server,
    kiosk_token,  # noqa: F811
    agent,  # noqa: F811
    tickets_dir,  # noqa: F811
):
    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.url + "/lay-so")
    assert text(page.locator("#title")) == "Lấy số trực tuyến"
    dd = page.locator(".ls-svc[data-code=DD]")
    assert "Đất đai" in text(dd) and "Không có người chờ" in text(dd)
    dd.click()
    assert text(page.locator("#chosen")) == "Lĩnh vực: Đất đai"
    page.fill("#phone", "0912345678")
    page.click("#send-code")
    page.wait_for_selector("#step-code:not([hidden])")
    assert "Mã xác thực (OTP) đã gửi đến số điện thoại 0912345678" in text(page.locator("#sent"))
    page.fill(
        "#code", "000000" if last_code(live_server.ctx, "0912345678") != "000000" else "111111"
    )
    page.click("#take")
    page.wait_for_selector("#msg:not([hidden])")
    assert text(page.locator("#msg")) == "Mã xác thực không đúng; ông/bà còn 4 lần thử."
    page.fill("#code", last_code(live_server.ctx, "0912345678"))
    page.click("#take")
    page.wait_for_url("**/t/*")
    assert text(page.locator("#number")) == "1001"
    assert text(page.locator("#status-main")) == "Ông/bà là người tiếp theo"
    assert "quét mã QR" in text(page.locator("#remote-note"))
    assert page.locator("#qr svg").is_visible()
    assert text(page.locator("#cancel")) == "Hủy số"
    # nobody ahead: "your turn is near" (with a beep and a vibration where the phone can)
    assert text(page.locator("#near")) == "Sắp đến lượt ông/bà — xin có mặt gần quầy."
    page.wait_for_selector("#live[data-up='1']")
    tracking_url = page.url
    sms = outbox(live_server.ctx, "0912345678")
    assert [s["kind"] for s in sms] == ["remote_otp", "remote_near"]
    assert sms[0]["text_ascii"].startswith("Ma xac thuc lay so tai ")

    # at the center: the kiosk's USB scanner types the phone's QR, then Enter
    kiosk = open_kiosk(browser, live_server, kiosk_token)
    assert "Quét mã QR trên điện thoại" in text(kiosk.locator("#scan-hint"))
    with kiosk.expect_response("**/api/v1/kiosk/check-in") as response:
        kiosk.keyboard.type(tracking_url, delay=5)
        kiosk.keyboard.press("Enter")
    assert response.value.status == 200
    kiosk.wait_for_selector("#screen-confirm:not([hidden])")
    assert text(kiosk.locator("#c-number")) == "1001"
    # printed by the kiosk's agent like any kiosk ticket
    kiosk.wait_for_selector("#c-print[data-state=printed]")
    job = response.value.json()["tickets"][0]["print"]["job_id"]
    assert (tickets_dir / f"{job}.bin").exists()
    # polled from here: the page's CSP (script-src 'self') refuses a predicate evaluated
    # in the page, which Playwright's wait_for_function does once it has to poll
    page.locator("#remote-note", has_text="Đã xác nhận").wait_for()
    assert not page.locator("#qr").is_visible()

    staff = live_server.user("staff1", "staff", counters=[1])
    r = requests.post(
        live_server.url + "/api/v1/counters/1/next",
        headers={"Authorization": f"Bearer {staff}"},
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["ticket"]["label"] == "1001"
    page.locator("#status-main", has_text="Đã đến lượt").wait_for()
    assert text(page.locator("#status-main")) == "Đã đến lượt ông/bà — mời đến quầy số 1"
    assert errors == [] and kiosk.errors == []  # type: ignore[attr-defined]
    phone.close()
