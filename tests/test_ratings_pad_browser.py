"""The counter pad end to end in chromium: pair, a service finishes, the faces appear,
the citizen is unsatisfied and says why, thanks, back to idle."""

from __future__ import annotations

import pytest
import requests

from server.store import ratings as rating_store
from tests.ratings_fixtures import serve_next, take_ticket

pytestmark = pytest.mark.browser

SHOTS = "/tmp/motcua-shots"


def _serve_one(live_server, staff_token: str, kiosk: str) -> dict:
    t = take_ticket(live_server, kiosk)
    assert serve_next(live_server, staff_token)["label"] == t["label"]
    return t


def test_pad_rating_flow_unsatisfied_with_reason(live_server, page, tmp_path):
    import os

    os.makedirs(SHOTS, exist_ok=True)
    pad = live_server.device("pad-quay-1", "counter", counter=1)
    kiosk = live_server.device("kiosk-1", "kiosk")
    staff = live_server.user("staff1", "staff", counters=[1])

    page.goto(live_server.url + f"/pad/pair?token={pad}")
    assert page.url.endswith("/pad")
    page.wait_for_selector("#screen-idle:not([hidden])")
    assert "Quầy số 1" in page.inner_text(".pad-counter")
    assert "Xin kính chào" in page.inner_text("#screen-idle h1")
    page.wait_for_function("() => document.getElementById('pad-offline').hidden")

    t = _serve_one(live_server, staff, kiosk)
    page.wait_for_selector("#screen-faces:not([hidden])", timeout=5000)
    assert page.inner_text("#screen-faces h1") == "Đánh giá mức độ hài lòng"
    assert f"Số thứ tự {t['label']}" in page.inner_text("#pad-ticket")
    words = page.locator(".pad-face span").all_inner_texts()
    assert words == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    page.screenshot(path=f"{SHOTS}/pad_faces.png")

    page.get_by_role("button", name="Không hài lòng").click()
    page.wait_for_selector("#screen-reason:not([hidden])")
    assert page.is_disabled("#pad-send")  # a reason must be chosen first
    page.get_by_role("radio", name="Chờ lâu").click()
    page.fill("#pad-text", "Chờ hơi lâu ở quầy")
    page.screenshot(path=f"{SHOTS}/pad_reason.png")
    page.click("#pad-send")
    page.wait_for_selector("#screen-thanks:not([hidden])")
    assert page.inner_text("#screen-thanks h1") == "Cảm ơn ông/bà đã đánh giá"
    page.wait_for_selector("#screen-idle:not([hidden])", timeout=8000)

    with live_server.ctx.db.read() as conn:
        r = rating_store.rating_for_ticket(conn, t["id"])
    assert r is not None
    assert (r["level"], r["reason"], r["reason_text"], r["counter"], r["staff"], r["source"]) == (
        "unsatisfied",
        "long_wait",
        "Chờ hơi lâu ở quầy",
        1,
        "staff1",
        "pad",
    )


def test_pad_switches_to_english_and_rates_once(live_server, page):
    pad = live_server.device("pad-quay-1", "counter", counter=1)
    kiosk = live_server.device("kiosk-1", "kiosk")
    staff = live_server.user("staff1", "staff", counters=[1])
    page.goto(live_server.url + f"/pad/pair?token={pad}")
    page.wait_for_function("() => document.getElementById('pad-offline').hidden")
    page.click("#pad-lang")
    assert page.inner_text("#screen-idle h1") == "Welcome"
    t = _serve_one(live_server, staff, kiosk)
    page.wait_for_selector("#screen-faces:not([hidden])", timeout=5000)
    page.get_by_role("button", name="Very satisfied").click()
    page.wait_for_selector("#screen-thanks:not([hidden])")
    assert page.inner_text("#screen-thanks h1") == "Thank you for your rating"
    again = requests.post(
        live_server.url + "/api/v1/ratings",
        json={"ticket": t["token"], "level": "unsatisfied", "reason": "other"},
        timeout=5,
    )
    assert again.status_code == 409


def test_unpaired_screen_cannot_open_the_pad(live_server, page):
    resp = page.goto(live_server.url + "/pad")
    assert resp is not None and resp.status == 403
    assert "chưa được ghép" in page.content()
