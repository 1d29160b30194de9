"""The browser harness itself: a live server, Debian chromium, a Vietnamese page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_home_page_renders_vietnamese(live_server, page, tmp_path):
    page.goto(live_server.url + "/")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("Trung tâm Phục vụ hành chính công")
    page.screenshot(path=str(tmp_path / "home.png"))
    assert (tmp_path / "home.png").stat().st_size > 5000


def test_pairing_redirects_without_token_and_rejects_bad_tokens(live_server, page):
    token = live_server.device("kiosk-x", "kiosk")
    resp = page.goto(live_server.url + "/kiosk/pair?token=wrong")
    assert resp is not None and resp.status == 403
    assert "không hợp lệ" in page.content()
    page.goto(live_server.url + f"/kiosk/pair?token={token}")
    assert "token=" not in page.url
