"""The supervisor's audit log lists what staff did at counters — calls, recalls,
no-shows, transfers, pauses with their reason — beside logins, service stops,
corrections and kiosk floods: who, when, what, on what, why, in Vietnamese, filtered,
a bounded page at a time with nothing skipped or repeated between pages."""

from __future__ import annotations

import re

import pytest

from server import tickets
from tests.staff_fixtures import fast_hashes, signed_in, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]


def _rows(page: str) -> list[str]:
    """The table's rows as plain text, one string each."""
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows]


def test_staff_actions_at_counters_are_in_the_log(app, client, actors, ctx, issue, clock):
    staff1, boss = actors.h(actors.staff[1]), actors.h(actors.supervisor)
    a, b, waiting = issue("DD"), issue("DD"), issue("DD")
    assert client.post("/api/v1/counters/1/next", headers=staff1).status_code == 200
    assert client.post("/api/v1/counters/1/recall", headers=staff1).status_code == 200
    assert client.post(f"/api/v1/tickets/{a['id']}/no-show", headers=staff1).status_code == 200
    clock.advance(minutes=1)
    assert client.post("/api/v1/counters/1/next", headers=staff1).status_code == 200
    r = client.post(f"/api/v1/tickets/{b['id']}/transfer", json={"service": "HT"}, headers=staff1)
    assert r.status_code == 200
    clock.advance(minutes=1)
    r = client.post("/api/v1/counters/1/pause", json={"reason": "meeting"}, headers=staff1)
    assert r.status_code == 200
    clock.advance(minutes=1)
    assert client.post("/api/v1/counters/1/resume", headers=staff1).status_code == 200
    assert client.post("/api/v1/services/XD/close", headers=boss).status_code == 200
    assert client.post(f"/api/v1/tickets/{waiting['id']}/cancel", headers=boss).status_code == 200

    clock.advance(seconds=1)
    page, _ = signed_in(app, "boss")
    rows = _rows(text(page.get("/supervisor/audit")))
    joined = "\n".join(rows)
    for expected in (
        "staff1 Gọi số Số 1001 · Quầy 1",
        "staff1 Gọi lại Số 1001 · Quầy 1 Lần gọi lại : 1",
        "staff1 Đánh dấu vắng mặt Số 1001 · Quầy 1",
        "staff1 Chuyển quầy / lĩnh vực Số 1002 · Quầy 1 Chuyển đến : Lĩnh vực Hộ tịch – Tư pháp",
        "staff1 Quầy tạm nghỉ Quầy 1 Lý do : Họp",
        "staff1 Quầy tiếp tục làm việc Quầy 1",
        "boss Ngừng nhận số lĩnh vực Lĩnh vực XD",
        "boss Huỷ số thứ tự Số 1003",
        "boss Đăng nhập",
    ):
        assert any(expected in r for r in rows), (expected, joined)
    # newest first: the login came last
    assert "Đăng nhập" in rows[0]
    # nothing a person reads is a code
    for code in ("no_show", "queue.", "counter.", "meeting", "service:", "user:"):
        assert code not in joined, code

    # filters: one action, one person, one day
    only = _rows(text(page.get("/supervisor/audit?action=queue.no_show")))
    assert len(only) == 1 and "Đánh dấu vắng mặt" in only[0]
    paused = _rows(text(page.get("/supervisor/audit?action=counter.paused")))
    assert len(paused) == 1 and "Lý do : Họp" in paused[0]
    mine = _rows(text(page.get("/supervisor/audit?actor=staff1")))
    assert len(mine) == 7 and all(r.split(" ", 2)[2].startswith("staff1") for r in mine)
    assert _rows(text(page.get("/supervisor/audit?date=2026-11-24")))[0].startswith(
        "Không có mục nào"
    )
    # a day at the calendar's ends (its bounds overflow in UTC) is no day, not a 500
    for day in ("0001-01-01", "9999-12-31"):
        odd = page.get(f"/supervisor/audit?date={day}")
        assert odd.status_code == 200 and f"Ngày “{day}” không hợp lệ" in text(odd)
    filters = text(page.get("/supervisor/audit"))
    assert '<option value="queue.call"' in filters and ">Gọi số</option>" in filters


def test_pages_are_bounded_and_cover_every_entry_once(app, ctx, actors, clock):
    db, cfg = ctx.db, ctx.cfg
    for _ in range(70):
        tickets.issue(db, cfg, service="DD", now=clock.now())
    for _ in range(70):  # 70 calls (each "call next" also finishes the previous one)
        tickets.call_next(db, cfg, 1, "staff1", clock.now())
        clock.advance(seconds=1)
    page, _ = signed_in(app, "boss")
    seen: list[str] = []
    url = "/supervisor/audit?action=queue.call&per=25"
    for _ in range(10):
        html = text(page.get(url))
        rows = _rows(html)
        assert len(rows) <= 25
        seen += [re.search(r"Số (\d+)", r).group(1) for r in rows]
        found = re.search(r'href="(/supervisor/audit\?[^"]*after=[^"]+)"', html)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    assert len(seen) == 70 and len(set(seen)) == 70
    assert seen[0] == "1070" and seen[-1] == "1001"
    # a page size that is not offered falls back to the default page
    rows = _rows(text(page.get("/supervisor/audit?action=queue.call&per=100000")))
    assert len(rows) == 50
    assert page.get("/supervisor/audit?after=garbage|x|1").status_code == 200
