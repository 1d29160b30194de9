"""The supervisor's hall: the live overview, reassigning services, closing a service for
the day — each audited and pushed live — and the audit log page with its filters."""

from __future__ import annotations

import time

import pytest

from server.protocol import NS_COUNTER, NS_KIOSK
from server.store import accounts as account_store
from tests.conftest import drain
from tests.staff_fixtures import fast_hashes, signed_in, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]


def _audit(ctx, action):
    with ctx.db.connection() as conn:
        return account_store.audit(conn, action=action)


def test_hall_overview_shows_who_serves_pauses_queues_and_devices(
    client, actors, issue, ctx, socketio, app
):
    issue("DD")
    issue("HT")
    ctx.clock.advance(minutes=5)
    client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1]))
    client.post(
        "/api/v1/counters/4/pause", json={"reason": "meeting"}, headers=actors.h(actors.staff[4])
    )
    ctx.clock.advance(minutes=12)
    board = socketio.test_client(app, namespace="/display", auth={"token": actors.board})
    assert board.is_connected("/display")
    body = client.get("/api/v1/hall", headers=actors.h(actors.supervisor)).get_json()
    counters = {c["number"]: c for c in body["counters"]}
    assert counters[1]["serving"]["label"] == "1001" and counters[1]["staff"] == "staff1"
    assert counters[4]["state"] == "paused" and counters[4]["pause_reason"] == "meeting"
    assert counters[4]["state_minutes"] == 12 and counters[4]["staff"] == "staff4"
    services = {s["code"]: s for s in body["services"]}
    assert services["HT"]["waiting"] == 1 and services["HT"]["longest_wait_min"] == 17
    assert services["DD"]["waiting"] == 0 and services["DD"]["longest_wait_min"] is None
    devices = {d["name"]: d for d in body["devices"]}
    assert devices["board-all"]["online"] is True and devices["board-all"]["connected"] is True
    assert devices["kiosk-1"]["online"] is False
    assert "phone" not in str(body)


def test_reassigning_services_is_audited_and_pushed(client, actors, socketio, app, ctx):
    console = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": actors.staff[1]})
    drain(console, NS_COUNTER)
    boss = actors.h(actors.supervisor)
    r = client.post("/api/v1/counters/1/services", json={"services": ["dd", "CC"]}, headers=boss)
    assert r.status_code == 200 and r.get_json()["counter"]["services"] == ["DD", "CC"]
    pushed = [p["counter"] for n, p in drain(console, NS_COUNTER) if n == "counter"]
    assert pushed and pushed[-1]["number"] == 1 and pushed[-1]["services"] == ["DD", "CC"]
    entry = _audit(ctx, "counter_services")[0]
    assert entry["actor"] == "user:boss" and entry["target"] == "counter:1"
    assert '"from": ["DD"]' in entry["detail"] and entry["ip"] == "127.0.0.1"
    r = client.post("/api/v1/counters/1/services", json={"services": ["NOPE"]}, headers=boss)
    assert r.status_code == 400 and "NOPE" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/counters/1/services", json={"services": "DD"}, headers=boss)
    assert r.status_code == 400
    assert (
        client.post("/api/v1/counters/77/services", json={"services": []}, headers=boss).status_code
        == 404
    )


def test_closing_a_service_for_the_day_stops_kiosks_until_reopened(
    client, actors, socketio, app, ctx
):
    kiosk = socketio.test_client(app, namespace=NS_KIOSK, auth={"token": actors.kiosk})
    drain(kiosk, NS_KIOSK)
    boss = actors.h(actors.supervisor)
    assert client.post("/api/v1/services/DD/close", headers=boss).status_code == 200
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk))
    assert r.status_code == 409 and r.get_json()["error"]["details"]["reason"] == "closed_today"
    deadline = time.time() + 3
    seen = []
    while time.time() < deadline and not seen:
        time.sleep(0.05)
        seen = [p for n, p in drain(kiosk, NS_KIOSK) if n == "queue"]
    dd = next(s for s in seen[-1]["services"] if s["code"] == "DD")
    assert dd["open"] is False and dd["closed_reason"] == "closed_today"
    hall = client.get("/api/v1/hall", headers=boss).get_json()
    assert next(s for s in hall["services"] if s["code"] == "DD")["closed_today"] is True
    assert client.post("/api/v1/services/DD/open", headers=boss).status_code == 200
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk))
    assert r.status_code == 201
    assert [e["target"] for e in _audit(ctx, "service_closed")] == ["service:DD"]
    assert [e["target"] for e in _audit(ctx, "service_reopened")] == ["service:DD"]
    assert client.post("/api/v1/services/NOPE/close", headers=boss).status_code == 404


def test_supervisor_page_is_a_live_shell(app, actors):
    c, _ = signed_in(app, "boss")
    body = text(c.get("/supervisor"))
    assert "Các quầy" in body and "Hàng chờ theo lĩnh vực" in body and "Thiết bị" in body
    assert "/static/js/supervisor.js" in body and "<script>" not in body


def test_audit_log_filters_by_actor_action_and_date(app, actors, client, ctx):
    boss = actors.h(actors.supervisor)
    client.post("/api/v1/services/DD/close", headers=boss)
    ctx.clock.advance(days=1)
    client.post("/api/v1/services/DD/open", headers=boss)
    c, _ = signed_in(app, "boss")  # itself an audited login, today

    def rows(query: str = "") -> str:  # the table, not the filter lists
        return text(c.get("/supervisor/audit" + query)).split("<tbody>")[1]

    page = rows()
    assert "Ngừng nhận số lĩnh vực" in page and "Mở lại lĩnh vực" in page and "Đăng nhập" in page
    only = rows("?action=service_closed")
    assert "Ngừng nhận số lĩnh vực" in only and "Mở lại lĩnh vực" not in only
    day = rows("?date=2026-11-25")
    assert "Ngừng nhận số lĩnh vực" in day and "Mở lại lĩnh vực" not in day
    by_actor = rows("?actor=user:nobody")
    assert "Không có mục nào khớp bộ lọc" in by_actor
    bad = text(c.get("/supervisor/audit?date=25/11"))
    assert "không hợp lệ" in bad
    staff, _ = signed_in(app, "staff1")
    assert staff.get("/supervisor/audit").status_code == 403
