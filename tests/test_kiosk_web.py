"""The kiosk and tracking pages as HTML: pairing, the data the kiosk script starts from,
the tracking page's content and its friendly 404 and 429, and the catalog texts both
scripts use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.i18n import bundle
from server.ratelimit import RateLimiter
from tests.kiosk_fixtures import KioskActors, make_actors

STATIC = Path(__file__).resolve().parent.parent / "server" / "web" / "static" / "js"


@pytest.fixture
def kactors(ctx) -> KioskActors:
    return make_actors(ctx)


def _data(html: str, element_id: str) -> dict:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert match, f"no #{element_id} data in the page"
    return json.loads(match.group(1))


def test_the_kiosk_page_needs_a_paired_kiosk(client, kactors):
    r = client.get("/kiosk")
    assert r.status_code == 403 and "chưa được ghép" in r.get_data(as_text=True)
    client.get(f"/board/pair?token={kactors.board}")
    assert client.get("/kiosk").status_code == 403  # a board is not a kiosk
    r = client.get(f"/kiosk/pair?token={kactors.kiosk}")
    assert r.status_code == 303 and r.headers["Location"].endswith("/kiosk")
    assert client.get("/kiosk").status_code == 200


def test_the_kiosk_page_carries_what_its_script_needs(client, kactors):
    client.get(f"/kiosk/pair?token={kactors.kiosk}")
    r = client.get("/kiosk")
    html = r.get_data(as_text=True)
    assert kactors.kiosk not in html
    assert "<script>" not in html and "style=" not in html  # CSP: no inline code
    data = _data(html, "kiosk-data")
    assert [p["code"] for p in data["priorities"]] == [
        "elderly",
        "disabled",
        "pregnant",
        "small_child",
        "veteran",
    ]
    assert data["priorities"][0] == {"code": "elderly", "vi": "Người cao tuổi", "en": "Elderly"}
    assert [s["code"] for s in data["services"]][:2] == ["DD", "HT"]
    assert data["services"][0]["open"] is True and data["services"][0]["waiting"] == 0
    assert data["hours"]["sessions"] == [["07:00", "11:30"], ["13:30", "17:00"]]
    assert data["texts"]["vi"]["kiosk.title"] == "Lấy số thứ tự"
    assert data["texts"]["en"]["kiosk.title"] == "Take a number"
    assert data["utc_offset_min"] == 420 and data["server_now"].startswith("2026-11-25T02:00")
    assert data["center"]["vi"].startswith("Trung tâm")


@pytest.mark.parametrize(("script", "prefix"), [("kiosk.js", "kiosk."), ("track.js", "track.")])
def test_every_text_a_script_asks_for_exists_in_both_languages(script, prefix):
    source = (STATIC / script).read_text(encoding="utf-8")
    keys = set(re.findall(r'\btr\("([a-z_]+)"', source))
    keys |= {f"{k}_none" for k in re.findall(r'counted\("([a-z_]+)"', source)}
    keys |= {f"{k}_one" for k in re.findall(r'counted\("([a-z_]+)"', source)}
    keys |= set(re.findall(r'counted\("([a-z_]+)"', source))
    assert len(keys) > 10
    vi, en = bundle(prefix, "vi"), bundle(prefix, "en")
    for key in keys:
        assert prefix + key in vi, f"{prefix}{key} missing"
        assert en[prefix + key], f"{prefix}{key} has no English"


def test_the_tracking_page_shows_the_ticket_and_no_personal_data(client, kactors):
    r = client.post(
        "/api/v1/tickets",
        json={"service": "HT", "phone": "0912345678", "priority": "pregnant"},
        headers=kactors.h(kactors.kiosk),
    )
    body = r.get_json()
    page = client.get(f"/t/{body['token']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert ">2001<" in html and "Hộ tịch – Tư pháp" in html and "Theo dõi lượt của ông/bà" in html
    assert "0912345678" not in html and "phone" not in html
    data = _data(html, "track-data")
    assert data["ticket"]["status"] == "waiting" and data["ticket"]["people_ahead"] == 0
    assert data["priorities"]["pregnant"]["vi"] == "Phụ nữ mang thai"
    assert data["today"] == "2026-11-25"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


@pytest.mark.parametrize("token", ["not-a-real-ticket-token", "x", "abc%20def", "a" * 80])
def test_an_unknown_ticket_gets_a_friendly_vietnamese_404(client, token):
    r = client.get(f"/t/{token}")
    html = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "Không tìm thấy phiếu" in html and "quét lại mã QR" in html
    assert "Ticket not found" in html


def test_the_tracking_page_is_rate_limited(client, ctx):
    ctx.limits["public"] = RateLimiter(limit=3, per_seconds=60)
    for _ in range(3):
        assert client.get("/t/not-a-real-ticket-token").status_code == 404
    r = client.get("/t/not-a-real-ticket-token")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "Vui lòng chờ một phút" in r.get_data(as_text=True)
