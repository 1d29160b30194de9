"""Step 2 of taking a number from home: "your turn is near" (SMS once per ticket), the
supervisor's view (today per service, lapse rate, closing remote issuing for the day)
and tickets and waits by channel."""

from __future__ import annotations

from server import remote
from tests.remote_fixtures import confirm, outbox, take
from tests.staff_fixtures import signed_in, text

PHONE = "0912345678"


def _call(client, actors, counter: int = 1):
    return client.post(f"/api/v1/counters/{counter}/next", headers=actors.h(actors.staff[counter]))


def _near(ctx, phone=PHONE):
    return [r for r in outbox(ctx, phone) if r["kind"] == "remote_near"]


def test_your_turn_is_near_once(client, ctx, actors, issue):
    for _ in range(5):
        issue("DD")
    mine = take(client, confirm(client, ctx, PHONE), "DD").get_json()
    assert mine["people_ahead"] == 5 and _near(ctx) == []
    _call(client, actors)  # 4 ahead
    assert _near(ctx) == []
    _call(client, actors)  # 3 ahead: the SMS
    sms = _near(ctx)
    center = remote.sms.to_ascii(ctx.cfg.center_name)
    assert [s["text_ascii"] for s in sms] == [
        f"So 1006 tai {center}: con 3 nguoi truoc ong/ba. Moi ong/ba den quay 1, 2, 7."
    ]
    _call(client, actors)
    assert len(_near(ctx)) == 1  # once per ticket
    status = client.get(f"/api/v1/tickets/{mine['token']}").get_json()["ticket"]
    assert status["people_ahead"] == 2


def test_taken_near_the_front_is_told_at_once(client, ctx, issue):
    issue("DD")
    take(client, confirm(client, ctx, PHONE), "DD")
    assert len(_near(ctx)) == 1 and "con 1 nguoi" in _near(ctx)[0]["text_ascii"]


def test_supervisor_closes_remote_issuing_for_today(client, ctx, actors, app):
    boss = actors.h(actors.supervisor)
    r = client.post("/api/v1/remote/services/DD/close", headers=boss)
    assert r.status_code == 200
    dd = next(s for s in r.get_json()["services"] if s["code"] == "DD")
    assert dd["remote_open"] is False
    proof = confirm(client, ctx, PHONE)
    r = take(client, proof, "DD")
    assert r.status_code == 409 and r.get_json()["error"]["message"] == (
        "Hôm nay Trung tâm đã ngừng nhận số trực tuyến cho lĩnh vực này; xin lấy số tại máy lấy số."
    )
    assert "Hôm nay đã ngừng nhận số trực tuyến" in client.get("/lay-so").get_data(as_text=True)
    # the kiosk goes on issuing
    assert (
        client.post(
            "/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk)
        ).status_code
        == 201
    )
    assert client.post("/api/v1/remote/services/DD/open", headers=boss).status_code == 200
    assert take(client, proof, "DD").status_code == 201
    staff = client.post("/api/v1/remote/services/DD/close", headers=actors.h(actors.staff[1]))
    assert staff.status_code == 403
    with ctx.db.read() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY id")]
    assert actions[-2:] == ["remote_closed", "remote_reopened"]


def test_summary_lapse_rate_and_channels(client, ctx, actors, issue, app):
    mine = take(client, confirm(client, ctx, PHONE), "DD").get_json()
    other = take(client, confirm(client, ctx, "0987654321"), "DD").get_json()
    client.post(f"/api/v1/tickets/{other['id']}/check-in", headers=actors.h(actors.staff[1]))
    for _ in range(3):
        issue("DD")
    for _ in range(4):
        _call(client, actors)
    assert client.get(f"/api/v1/tickets/{mine['token']}").get_json()["ticket"]["status"] == (
        "lapsed"
    )
    r = client.get("/api/v1/remote/summary", headers=actors.h(actors.supervisor))
    dd = next(s for s in r.get_json()["services"] if s["code"] == "DD")
    assert (dd["taken"], dd["lapsed"], dd["called"], dd["lapse_rate"]) == (2, 1, 1, 0.5)
    r = client.get("/api/v1/reports/channels", headers=actors.h(actors.supervisor))
    rows = {c["channel"]: c for c in r.get_json()["channels"]}
    assert rows["remote"]["tickets"] == 2 and rows["remote"]["lapsed"] == 1
    assert rows["remote"]["lapse_rate"] == 0.5
    assert rows["kiosk"]["tickets"] == 3 and rows["kiosk"]["lapse_rate"] is None
    assert rows["kiosk"]["wait_mean_min"] == 0.0
    bad = client.get(
        "/api/v1/reports/channels?from=2026-13-01", headers=actors.h(actors.supervisor)
    )
    assert bad.status_code == 400
    # the supervisor's page, in Vietnamese
    from server import accounts

    accounts.add_user(ctx.db, "giamsat", "supervisor", "password123", ctx.now())
    browser, _ = signed_in(app, "giamsat", "password123")
    page = text(browser.get("/supervisor/remote"))
    assert "Lấy số trực tuyến hôm nay" in page
    assert "50,00%" in page and "Máy lấy số" in page and "Ngừng hôm nay" in page
