"""The rating widget on the citizen's tracking page (/t/<token>): hidden while waiting,
three faces once the service is done, a reason when unsatisfied, one rating only."""

from __future__ import annotations

import pytest

from server.store import ratings as rating_store
from tests.ratings_fixtures import serve_next, take_ticket

pytestmark = pytest.mark.browser


def test_widget_on_the_tracking_page(live_server, page):
    kiosk = live_server.device("kiosk-1", "kiosk")
    staff = live_server.user("staff1", "staff", counters=[1])
    t = take_ticket(live_server, kiosk)
    page.goto(live_server.url + f"/t/{t['token']}")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-rating-widget]").is_hidden()  # not served yet

    tid = serve_next(live_server, staff)["id"]
    page.reload()
    page.wait_for_selector(".rw-face")
    assert page.locator(".rw-face span").all_inner_texts() == [
        "Rất hài lòng",
        "Hài lòng",
        "Không hài lòng",
    ]
    page.get_by_role("button", name="Không hài lòng").click()
    page.get_by_role("button", name="Thái độ phục vụ").click()
    page.fill(".rw-text", "Cán bộ trả lời cộc lốc")
    page.click(".rw-send")
    page.wait_for_selector(".rw-thanks")
    assert page.inner_text(".rw-thanks") == "Cảm ơn ông/bà đã đánh giá"
    page.screenshot(path="/tmp/motcua-shots/track_rated.png", full_page=True)

    with live_server.ctx.db.read() as conn:
        r = rating_store.rating_for_ticket(conn, tid)
    assert r is not None
    assert (r["level"], r["reason"], r["source"]) == ("unsatisfied", "attitude", "web")
    page.reload()
    page.wait_for_selector(".rw-thanks")
    assert page.inner_text(".rw-thanks") == "Ông/bà đã đánh giá lượt phục vụ này."
