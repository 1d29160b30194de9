"""The reports page and the live dashboard in chromium: a supervisor logs in, picks a
range, sees figures, SVG charts and tables in Vietnamese, and the download links."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
import requests

from server import ratings
from tests.reports_fixtures import DAY, at, build_day, dossier_month, staff_accounts

pytestmark = pytest.mark.browser

SHOTS = "/tmp/motcua-shots"


def _login(page, live_server, username: str, next_path: str) -> None:
    page.goto(live_server.url + next_path)
    assert "/login" in page.url  # not logged in: sent to the login page
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + next_path + "*")


def _history(live_server):
    ctx = live_server.ctx
    staff_accounts(ctx.db, ctx.now())
    day = build_day(ctx.db, ctx.cfg)
    T = day.tickets
    for key, level, when, extra in (
        ("A", "very_satisfied", at(9, 21), {}),
        ("B", "satisfied", at(9, 33), {}),
        ("C", "unsatisfied", at(9, 41), {"reason": "unclear_guidance"}),
        ("D", "very_satisfied", at(9, 52), {}),
    ):
        ratings.rate(ctx.db, ctx.cfg, token=T[key]["token"], level=level, now=when, **extra)
    dossier_month(ctx.db, ctx.cfg)


def test_reports_page_with_charts_tables_and_downloads(live_server, page):
    os.makedirs(SHOTS, exist_ok=True)
    live_server.user("boss", "supervisor")
    _history(live_server)
    _login(page, live_server, "boss", "/reports")
    page.goto(live_server.url + "/reports?tab=queue&from=2026-11-25&to=2026-11-25")
    page.wait_for_selector(".rp-kpi")
    kpis = page.locator(".rp-kpi").all_inner_texts()
    assert any("7" in k and "Phiếu đã cấp" in k for k in kpis)
    assert any("16,6 phút" in k for k in kpis)  # mean wait, Vietnamese decimal comma
    captions = page.locator(".rp-chart figcaption").all_inner_texts()
    assert "Thời gian chờ trung bình theo giờ lấy số (phút)" in captions
    assert "Số phiếu theo lĩnh vực" in captions
    assert page.locator(".rp-chart svg rect.rp-bar").count() >= 3
    titles = page.locator(".rp-table-wrap h3").all_inner_texts()
    assert titles[:4] == ["Tổng hợp", "Theo lĩnh vực", "Theo quầy", "Theo cán bộ, công chức"]
    assert "Nguyễn Văn An" in page.inner_text("main")
    main = page.inner_text("main")
    assert "Nghỉ giải lao" in main and "16,6" in main
    assert not re.search(r"\bbreak\b|\bmeeting\b|\d{4}-\d{2}-\d{2}", main)
    page.screenshot(path=f"{SHOTS}/reports_queue.png", full_page=True)

    csv_href = page.get_attribute("#rp-csv", "href")
    assert csv_href is not None and "format=csv" in csv_href and "from=2026-11-25" in csv_href
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    r = requests.get(live_server.url + csv_href, cookies=cookies, timeout=10)
    assert r.status_code == 200 and "Phiếu cấp" in r.content.decode("utf-8-sig")

    page.click(".rp-tab[data-tab=satisfaction]")
    page.wait_for_selector("text=Tỷ lệ hài lòng theo ngày (%)")
    assert any("75,00%" in k for k in page.locator(".rp-kpi").all_inner_texts())
    main = page.inner_text("main")
    assert "Hướng dẫn chưa rõ" in main
    # Everything a person reads is Vietnamese: no reason codes, no ISO or UTC times.
    for raw in ("unclear_guidance", "very_satisfied", "2026-11-25", "+00:00", "T0"):
        assert raw not in main, raw
    assert "25/11/2026" in page.inner_text("#rp-status")
    page.screenshot(path=f"{SHOTS}/reports_satisfaction.png", full_page=True)

    page.fill("#rp-from", "2026-11-01")
    page.fill("#rp-to", "2026-11-30")
    page.click(".rp-tab[data-tab=dossiers]")
    page.wait_for_selector("text=Hồ sơ giải quyết trước hạn · đúng hạn · trễ hạn")
    page.click(".rp-show")
    page.wait_for_function(
        "() => document.getElementById('rp-status').textContent.includes('30/11/2026')"
    )
    text = page.inner_text("main")
    assert "Sở Tư pháp" in text and "Trễ hạn" in text
    assert "Tiếp nhận trực tiếp" in text and "direct" not in text and "2026-11" not in text
    page.screenshot(path=f"{SHOTS}/reports_dossiers.png", full_page=True)

    page.fill("#rp-from", "2026-11-30")
    page.fill("#rp-to", "2026-11-01")
    page.click(".rp-show")
    page.wait_for_selector(".rp-status.error")
    assert "sau ngày kết thúc" in page.inner_text("#rp-status")


def test_live_dashboard_refreshes_today(live_server, page):
    live_server.user("boss", "supervisor")
    _history(live_server)
    _login(page, live_server, "boss", "/reports/live")
    page.wait_for_selector(".rp-kpi")
    assert "Theo dõi trực tiếp hôm nay" in page.inner_text("h1")
    assert any("Đang chờ" in k and "1" in k for k in page.locator(".rp-kpi").all_inner_texts())
    assert "Tạm nghỉ (Họp)" in page.inner_text("main")
    # a new ticket shows up without reloading the page
    kiosk = live_server.device("kiosk-1", "kiosk")
    requests.post(
        live_server.url + "/api/v1/tickets",
        json={"service": "HT"},
        headers={"Authorization": f"Bearer {kiosk}"},
        timeout=5,
    )
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.rp-kpi'))"
        ".some((k) => k.textContent.includes('Đang chờ') && k.textContent.startsWith('2'))",
        timeout=12000,
    )
    page.screenshot(path=f"{SHOTS}/reports_live.png", full_page=True)


def test_staff_without_supervisor_role_is_refused(live_server, page):
    live_server.user("staff9", "staff", counters=[1])
    page.goto(live_server.url + "/login?next=/reports")
    page.fill("input[name=username]", "staff9")
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")
    resp = page.goto(live_server.url + "/reports")
    assert resp is not None and resp.status == 403
    assert "không có quyền xem báo cáo" in page.inner_text("main")


_ = DAY, timedelta  # (fixtures' calendar, for readers)
