"""Administration: every form validates with a readable message and keeps what was
typed, every change is audited, and what the hall depends on follows at once."""

from __future__ import annotations

import pytest

from server import accounts, public_url, settings
from server.app import create_app
from server.protocol import NS_DISPLAY, NS_KIOSK
from server.store import accounts as account_store
from tests.staff_fixtures import fast_hashes, form, login, signed_in, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]


@pytest.fixture
def admin(app, actors):
    return signed_in(app, "root")


def _actions(ctx) -> list[str]:
    with ctx.db.connection() as conn:
        return [a["action"] for a in account_store.audit(conn)]


SERVICE = {
    "code": "TP",
    "name_vi": "Tư pháp – Quốc tịch",
    "name_en": "Nationality",
    "prefix": "9",
    "width": "3",
    "first_number": "1",
    "last_number": "500",
    "daily_cap": "",
    "position": "9",
    "active": "1",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "T P"}, "Mã lĩnh vực gồm chữ, số"),
        ({"name_vi": ""}, "Hãy nhập tên tiếng Việt"),
        ({"last_number": "1000"}, "không vừa 3 chữ số"),
        ({"first_number": "600"}, "Số cuối không được nhỏ hơn số đầu"),
        ({"width": "abc"}, "Số chữ số phải là số nguyên"),
        ({"prefix": "1"}, "trùng lĩnh vực DD"),
        ({"daily_cap": "0"}, "Số phiếu tối đa mỗi ngày phải từ 1"),
        ({"own_hours": "1", "day_mon": "1", "sessions": "7h-11h"}, "phải có dạng 07:00-11:30"),
        ({"own_hours": "1", "sessions": "07:00-11:30"}, "chọn ít nhất một ngày"),
    ],
)
def test_service_form_explains_what_is_wrong_and_keeps_the_input(admin, change, message):
    c, csrf = admin
    r = form(c, "/admin/services", csrf, **{**SERVICE, **change})
    assert r.status_code in (400, 409)
    body = text(r)
    assert message in body
    assert "Tư pháp – Quốc tịch" in body or change.get("name_vi") == ""


def test_new_service_reaches_kiosks_and_is_audited(admin, client, actors, ctx):
    c, csrf = admin
    data = {
        **SERVICE,
        "own_hours": "1",
        "day_mon": "1",
        "day_wed": "1",
        "sessions": "08:00-11:00, 13:00-16:00",
        "issue_before_min": "0",
    }
    r = form(c, "/admin/services", csrf, **data)
    assert r.status_code == 303
    assert "Đã lưu lĩnh vực TP" in text(c.get("/admin/services"))
    services = {s["code"]: s for s in client.get("/api/v1/services").get_json()["services"]}
    assert services["TP"]["name_vi"] == "Tư pháp – Quốc tịch" and services["TP"]["open"] is True
    assert services["TP"]["hours"]["sessions"] == [["08:00", "11:00"], ["13:00", "16:00"]]
    t = client.post("/api/v1/tickets", json={"service": "TP"}, headers=actors.h(actors.kiosk))
    assert t.get_json()["label"] == "9001"
    r = form(c, "/admin/services", csrf, **SERVICE)
    assert r.status_code == 409 and "đã có" in text(r)
    r = form(c, "/admin/services/TP", csrf, **{**SERVICE, "active": ""})
    assert r.status_code == 303
    codes = [s["code"] for s in client.get("/api/v1/services").get_json()["services"]]
    assert "TP" not in codes
    assert _actions(ctx)[:2] == ["service_updated", "service_created"]


def test_counters_are_edited_and_a_busy_one_cannot_be_switched_off(
    admin, client, actors, issue, ctx
):
    c, csrf = admin
    r = form(
        c,
        "/admin/counters",
        csrf,
        number="11",
        name="Quầy 11",
        zone="C",
        services="gt, ld",
        active="1",
    )
    assert r.status_code == 303
    counters = {x["number"]: x for x in client.get("/api/v1/counters").get_json()["counters"]}
    assert counters[11]["services"] == ["GT", "LD"] and counters[11]["zone"] == "C"
    r = form(
        c, "/admin/counters", csrf, number="12", name="Quầy 12", zone="C", services="ZZ", active="1"
    )
    assert r.status_code == 400 and "Không có lĩnh vực mã ZZ" in text(r)
    assert 'value="Quầy 12"' in text(r)  # what was typed is still there
    issue("DD")
    client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1]))
    r = form(c, "/admin/counters/1", csrf, name="Quầy 1", zone="A", services="DD", active="")
    assert r.status_code == 409 and "đang phục vụ công dân" in text(r)
    assert "counter_created" in _actions(ctx)


USER = {
    "username": "canbo9",
    "full_name": "Phạm Chín",
    "role": "staff",
    "counters": "9",
    "password": "password123",
    "password2": "password123",
}


def test_staff_accounts_lifecycle(admin, app, ctx):
    c, csrf = admin
    r = form(c, "/admin/users", csrf, **{**USER, "username": "Bad Name"})
    assert r.status_code == 400 and "Tên đăng nhập chỉ gồm" in text(r)
    r = form(c, "/admin/users", csrf, **{**USER, "counters": "9, 99"})
    assert r.status_code == 400 and "Không có quầy số 99" in text(r)
    assert "password123" not in text(r)  # passwords are never echoed back
    r = form(c, "/admin/users", csrf, **{**USER, "password2": "password124"})
    assert r.status_code == 400 and "không khớp" in text(r)
    r = form(c, "/admin/users", csrf, **USER)
    assert r.status_code == 303
    staff, _ = signed_in(app, "canbo9")
    assert staff.get("/staff/9").status_code == 200 and staff.get("/staff/8").status_code == 403
    r = form(c, "/admin/users/canbo9", csrf, full_name="Phạm Chín", role="staff", counters="8, 9")
    assert r.status_code == 303
    assert staff.get("/staff/8").status_code == 200  # counters apply to the open session
    r = form(c, "/admin/users/canbo9/password", csrf, password="short", password2="short")
    assert r.status_code == 400 and "ít nhất 8 ký tự" in text(r)
    r = form(c, "/admin/users/canbo9/password", csrf, password="resetpass1", password2="resetpass1")
    assert r.status_code == 303
    assert staff.get("/staff/9").status_code == 302  # the old session is over
    assert login(app.test_client(), "canbo9", "resetpass1").status_code == 303
    r = form(c, "/admin/users/root", csrf, full_name="", role="staff", counters="")
    assert r.status_code == 409
    for action in ("user_created", "user_updated", "user_password_reset"):
        assert action in _actions(ctx)


def test_devices_token_shown_once_with_pairing_link_and_revoked_at_once(
    admin, app, ctx, socketio, monkeypatch
):
    # the pairing link is where the device reaches the server: the admin's address, with
    # "localhost" (the test client's) replaced by the LAN address
    monkeypatch.setattr(public_url, "lan_ipv4", lambda: "192.168.1.10")
    c, csrf = admin
    r = form(c, "/admin/devices", csrf, name="board-c", kind="display", zone="C")
    body = text(r)
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    token = body.split('id="device-token" class="token">')[1].split("<")[0]
    assert f"http://192.168.1.10/board/pair?token={token}" in body
    assert token not in text(c.get("/admin/devices"))  # shown once
    board = socketio.test_client(app, namespace=NS_DISPLAY, auth={"token": token})
    assert board.is_connected(NS_DISPLAY)
    r = form(c, "/admin/devices", csrf, name="pad-x", kind="counter")
    assert r.status_code == 400 and "Hãy nhập quầy" in text(r)
    r = form(c, "/admin/devices", csrf, name="kiosk-z", kind="kiosk", zone="A")
    assert r.status_code == 400 and "Khu vực chỉ dành cho bảng hiển thị" in text(r)
    r = form(c, "/admin/devices/board-c/rotate", csrf)
    new = text(r).split('id="device-token" class="token">')[1].split("<")[0]
    assert not board.is_connected(NS_DISPLAY)
    assert accounts.identify(ctx.db, token) is None and accounts.identify(ctx.db, new) is not None
    board = socketio.test_client(app, namespace=NS_DISPLAY, auth={"token": new})
    assert form(c, "/admin/devices/board-c/revoke", csrf).status_code == 303
    assert not board.is_connected(NS_DISPLAY)
    h = {"Authorization": f"Bearer {new}"}
    assert (
        app.test_client().post("/api/v1/tickets", json={"service": "DD"}, headers=h).status_code
        == 401
    )
    assert [a for a in _actions(ctx) if a.startswith("device_")] == [
        "device_revoked",
        "device_rotated",
        "device_created",
    ]


def test_priority_classes_apply_at_once_and_after_a_restart(
    admin, app, client, actors, ctx, cfg, clock, tmp_path
):
    c, csrf = admin
    r = c.post(
        "/admin/priorities",
        data={
            "csrf": csrf,
            "code": ["elderly", "normal"],
            "name_vi": ["Người cao tuổi", "Sai"],
            "name_en": ["Elderly", ""],
        },
    )
    assert r.status_code == 400 and "khác “normal”" in text(r)
    r = c.post(
        "/admin/priorities",
        data={
            "csrf": csrf,
            "code": ["elderly", "thuongbinh", ""],
            "name_vi": ["Người cao tuổi", "Thương binh", ""],
            "name_en": ["Elderly", "War invalid", ""],
        },
    )
    assert r.status_code == 303
    assert [p.code for p in ctx.cfg.priority_classes] == ["elderly", "thuongbinh"]
    kiosk = actors.h(actors.kiosk)
    r = client.post(
        "/api/v1/tickets", json={"service": "DD", "priority": "thuongbinh"}, headers=kiosk
    )
    assert r.status_code == 201
    r = client.post(
        "/api/v1/tickets", json={"service": "DD", "priority": "pregnant"}, headers=kiosk
    )
    assert r.status_code == 400
    again = create_app(cfg, tmp_path / "data", clock=clock, testing=True)
    assert [p.code for p in again.extensions["motcua"].cfg.priority_classes] == [
        "elderly",
        "thuongbinh",
    ]
    again.extensions["motcua"].db.close()
    assert "priority_classes_saved" in _actions(ctx)


def test_days_off_close_the_kiosks_and_make_up_days_open_them(admin, client, actors, ctx):
    c, csrf = admin
    kiosk = actors.h(actors.kiosk)
    r = form(c, "/admin/days", csrf, holidays="25/11/2026", workdays="2026-11-25")
    assert r.status_code == 400 and "vừa là ngày nghỉ vừa là ngày làm bù" in text(r)
    r = form(c, "/admin/days", csrf, holidays="31/02/2026", workdays="")
    assert r.status_code == 400 and "“31/02/2026” không phải ngày hợp lệ" in text(r)
    assert (
        form(c, "/admin/days", csrf, holidays="25/11/2026\n2026-12-31", workdays="").status_code
        == 303
    )
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=kiosk)
    assert r.status_code == 409 and r.get_json()["error"]["details"]["reason"] == "closed_day"
    ctx.clock.advance(days=3)  # Saturday 28 November
    assert client.post("/api/v1/tickets", json={"service": "DD"}, headers=kiosk).status_code == 409
    assert form(c, "/admin/days", csrf, holidays="", workdays="28/11/2026").status_code == 303
    assert client.post("/api/v1/tickets", json={"service": "DD"}, headers=kiosk).status_code == 201
    assert "28/11/2026" in text(c.get("/admin/days"))


def test_sms_templates_are_checked_and_kept_for_the_dossier_area(admin, ctx):
    c, csrf = admin
    r = form(c, "/admin/templates", csrf, text_late="Xin lỗi, hồ sơ {code} bị trễ.")
    assert r.status_code == 400 and "Xin lỗi, hồ sơ {code} bị trễ." in text(r)
    r = form(
        c,
        "/admin/templates",
        csrf,
        text_ready="Ho so {code} da xong, moi den {place}.",
        text_late="",
    )
    assert r.status_code == 303
    assert settings.sms_templates(ctx.cfg) == {"ready": "Ho so {code} da xong, moi den {place}."}
    assert "templates_saved" in _actions(ctx)


def test_admin_pages_are_for_admins_only(app, actors):
    boss, _ = signed_in(app, "boss")
    assert boss.get("/admin/users").status_code == 403
    assert "không có quyền" in text(boss.get("/admin"))


def test_devices_page_says_a_kiosk_printer_state_in_vietnamese(admin, app, actors, socketio):
    # the kiosk agent reports its printer as a code ("online", "paper_out"); the admin's
    # device list showed the code itself ("online") where everything else is Vietnamese
    c, _ = admin
    agent = socketio.test_client(
        app, namespace=NS_KIOSK, auth={"token": actors.kiosk, "agent": True}
    )
    assert agent.emit("heartbeat", {"printer": "online"}, namespace=NS_KIOSK, callback=True)
    row = text(c.get("/admin/devices")).split('data-device="kiosk-1"')[1].split("</tr>")[0]
    assert "Máy in sẵn sàng" in row and "online" not in row
    agent.emit("heartbeat", {"printer": "paper_out", "detail": ""}, namespace=NS_KIOSK)
    row = text(c.get("/admin/devices")).split('data-device="kiosk-1"')[1].split("</tr>")[0]
    assert "Máy in hết giấy" in row and "paper_out" not in row
    board = text(c.get("/admin/devices")).split('data-device="board-all"')[1].split("</tr>")[0]
    assert "Đang dùng" in board
    agent.disconnect(namespace=NS_KIOSK)


def test_devices_page_adds_a_counter_screen(admin, app, client):
    # the banner and the CLI make a counter's screen with `--kind display --counter N`;
    # the admin page refused the same ("Chỉ thiết bị đánh giá gắn với một quầy")
    c, csrf = admin
    assert "màn hình quầy" in text(c.get("/admin/devices"))
    r = form(c, "/admin/devices", csrf, name="screen-2", kind="display", counter="2")
    assert r.status_code == 201
    token = text(r).split('id="device-token" class="token">')[1].split("<")[0]
    row = text(c.get("/admin/devices")).split('data-device="screen-2"')[1].split("</tr>")[0]
    assert "Bảng hiển thị" in row and "quầy 2" in row
    screen = app.test_client()
    assert screen.get(f"/board/pair?token={token}").status_code in (302, 303)
    r = screen.get("/board")
    assert r.status_code == 303 and r.headers["Location"].endswith("/board/counter/2")
    r = form(c, "/admin/devices", csrf, name="screen-x", kind="display", zone="A", counter="2")
    assert r.status_code == 400 and "không cả hai" in text(r)
    r = form(c, "/admin/devices", csrf, name="kiosk-q", kind="kiosk", counter="2")
    assert r.status_code == 400 and "màn hình quầy gắn với một quầy" in text(r)
