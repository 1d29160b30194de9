"""Taking a number from home: the phone's code, the limits, the one fair queue (passed
over until check-in, lapsing after the grace calls), check-in at the counter and at the
kiosk, the portal's API key."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from server import remote
from server.config import ConfigError
from server.dossiers import apikeys
from server.remote_config import settings
from tests.remote_fixtures import CCCD, CCCD_QR, confirm, last_code, outbox, take

PHONE = "0912345678"


def _call(client, actors, counter: int = 1):
    return client.post(f"/api/v1/counters/{counter}/next", headers=actors.h(actors.staff[counter]))


def test_phone_takes_a_number_that_waits_for_check_in(client, ctx, actors):
    r = client.post("/api/v1/remote/code", json={"phone": "+84 912 345 678"})
    assert r.status_code == 202
    sms = outbox(ctx, PHONE)
    assert len(sms) == 1
    center = ctx.cfg.center_name
    code = last_code(ctx, PHONE)
    assert sms[0]["text_ascii"] == (
        f"Ma xac thuc lay so tai {remote.sms.to_ascii(center)}: {code}. Khong chia se ma nay."
    )
    assert sms[0]["text_ascii"].isascii() and sms[0]["status"] == "queued"
    with ctx.db.read() as conn:  # the code is stored hashed
        stored = conn.execute("SELECT code_hash FROM remote_otp").fetchone()[0]
    assert code not in stored
    proof = client.post("/api/v1/remote/verify", json={"phone": PHONE, "code": code})
    assert proof.status_code == 200
    r = take(client, proof.get_json()["proof"], "DD")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["channel"] == "remote" and body["checked_in"] is False
    assert body["label"] == "1001" and body["people_ahead"] == 0
    status = client.get(f"/api/v1/tickets/{body['token']}").get_json()["ticket"]
    assert status["status"] == "waiting" and status["remote"] is True
    assert status["checked_in"] is False
    # waiting alone and not checked in: a call finds nobody to call
    assert _call(client, actors).status_code == 204


def test_limits_per_service_and_per_person(client, ctx):
    proof = confirm(client, ctx, PHONE)
    assert take(client, proof, "DD").status_code == 201
    r = take(client, proof, "DD")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "limit_service"
    assert r.get_json()["error"]["message"] == "Ông/bà đã lấy đủ 1 số cho lĩnh vực này hôm nay."
    assert take(client, proof, "HT").status_code == 201
    r = take(client, proof, "CC")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "limit_person"
    assert r.get_json()["error"]["message"] == (
        "Mỗi người chỉ được lấy tối đa 2 số trực tuyến trong một ngày."
    )


def test_the_cccd_counts_across_phones(client, ctx):
    a = confirm(client, ctx, "0912000001")
    b = confirm(client, ctx, "0912000002")
    assert take(client, a, "DD", cccd=CCCD).status_code == 201
    r = take(client, b, "DD", cccd=CCCD)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "limit_service"
    with ctx.db.read() as conn:  # only its keyed hash is kept
        rows = [dict(r) for r in conn.execute("SELECT * FROM remote_ticket")]
    assert rows and all(CCCD not in str(v) for r in rows for v in r.values())
    assert rows[0]["cccd_hash"] and len(rows[0]["cccd_hash"]) == 64


def test_the_code_cannot_be_brute_forced(client, ctx):
    assert client.post("/api/v1/remote/code", json={"phone": PHONE}).status_code == 202
    code = last_code(ctx, PHONE)
    wrong = [f"{(int(code) + i) % 10**6:06d}" for i in range(1, 6)]
    answers = [
        client.post("/api/v1/remote/verify", json={"phone": PHONE, "code": w}) for w in wrong
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    assert answers[0].get_json()["error"]["message"] == (
        "Mã xác thực không đúng; ông/bà còn 4 lần thử."
    )
    assert answers[-1].get_json()["error"]["code"] == "code_locked"
    # the right code no longer works: the code is gone after its tries
    r = client.post("/api/v1/remote/verify", json={"phone": PHONE, "code": code})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "code_expired"
    # new codes: at most otp_per_phone (3) per window for one phone
    codes = [client.post("/api/v1/remote/code", json={"phone": PHONE}) for _ in range(3)]
    assert [c.status_code for c in codes] == [202, 202, 429]
    # every try of every code counted: 10 codes a window is 50 guesses of 1,000,000
    s = settings(ctx.cfg)
    assert s.otp_per_phone * s.otp_attempts / 10**6 < 1e-4


def test_codes_are_limited_per_address(client, ctx):
    answers = [
        client.post("/api/v1/remote/code", json={"phone": f"09120000{i:02d}"}) for i in range(11)
    ]
    assert [a.status_code for a in answers].count(202) == 10
    assert answers[-1].status_code == 429


def test_an_expired_code_is_refused(client, ctx, clock):
    client.post("/api/v1/remote/code", json={"phone": PHONE})
    code = last_code(ctx, PHONE)
    clock.advance(seconds=301)
    r = client.post("/api/v1/remote/verify", json={"phone": PHONE, "code": code})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "code_expired"


def test_not_checked_in_is_passed_over_then_lapses_with_an_sms(client, ctx, actors, issue):
    proof = confirm(client, ctx, PHONE)
    mine = take(client, proof, "DD").get_json()
    walk_ins = [issue("DD")["label"] for _ in range(4)]
    called = [_call(client, actors).get_json()["ticket"]["label"] for _ in range(3)]
    assert called == walk_ins[:3]
    status = client.get(f"/api/v1/tickets/{mine['token']}").get_json()["ticket"]
    assert status["status"] == "lapsed"
    sms = outbox(ctx, PHONE)[-1]
    assert sms["kind"] == "remote_lapsed"
    assert sms["text_ascii"] == (
        f"So 1001 tai {remote.sms.to_ascii(ctx.cfg.center_name)}: so cua ong/ba da het hieu luc"
        " do khong co mat khi duoc goi."
    )
    with ctx.db.read() as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM ticket_event WHERE ticket_id = ? ORDER BY id", (mine["id"],)
            )
        ]
    assert actions == ["issue", "pass", "pass", "lapse"]
    r = client.post(f"/api/v1/tickets/{mine['id']}/check-in", headers=actors.h(actors.staff[1]))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "lapsed"


def test_a_checked_in_ticket_keeps_its_place(client, ctx, actors, issue):
    proof = confirm(client, ctx, PHONE)
    mine = take(client, proof, "DD").get_json()
    first = issue("DD")
    issue("DD")
    assert _call(client, actors).get_json()["ticket"]["label"] == first["label"]  # pass 1
    r = client.post(f"/api/v1/tickets/{mine['id']}/check-in", headers=actors.h(actors.staff[1]))
    assert r.status_code == 200
    assert r.get_json()["ticket"]["checked_in"] is True
    assert _call(client, actors).get_json()["ticket"]["label"] == mine["label"]
    # call by number refuses a remote ticket not checked in
    other = take(client, confirm(client, ctx, "0987654321"), "DD").get_json()
    r = client.post(
        "/api/v1/counters/1/call", json={"label": other["label"]}, headers=actors.h(actors.staff[1])
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_checked_in"


def test_priority_still_goes_first(client, ctx, actors, issue):
    proof = confirm(client, ctx, PHONE)
    mine = take(client, proof, "DD").get_json()
    client.post(f"/api/v1/tickets/{mine['id']}/check-in", headers=actors.h(actors.staff[1]))
    elderly = issue("DD", "elderly")
    assert _call(client, actors).get_json()["ticket"]["label"] == elderly["label"]
    assert _call(client, actors).get_json()["ticket"]["label"] == mine["label"]


def test_cancel_by_the_holder(client, ctx, actors):
    proof = confirm(client, ctx, PHONE)
    mine = take(client, proof, "DD").get_json()
    r = client.post(f"/api/v1/remote/tickets/{mine['token']}/cancel")
    assert r.status_code == 200 and r.get_json()["ticket"]["status"] == "cancelled"
    assert client.post(f"/api/v1/remote/tickets/{mine['token']}/cancel").status_code == 409
    # a cancelled number does not count: the service may be taken again
    assert take(client, proof, "DD").status_code == 201


def test_kiosk_checks_in_by_cccd_qr_and_prints(client, ctx, actors):
    _, secret = apikeys.add_key(ctx.db, "CONG", ctx.now(), scopes=["remote"], name="Cổng DVC")
    h = actors.h(secret)
    r = client.post(
        "/api/v1/portal/tickets", json={"service": "DD", "phone": PHONE, "cccd": CCCD}, headers=h
    )
    assert r.status_code == 201, r.get_json()
    r2 = client.post(
        "/api/v1/portal/tickets", json={"service": "HT", "phone": PHONE, "cccd": CCCD}, headers=h
    )
    assert r2.status_code == 201
    r = client.post(
        "/api/v1/kiosk/check-in", json={"scan": CCCD_QR}, headers=actors.h(actors.kiosk)
    )
    assert r.status_code == 200, r.get_json()
    printed = r.get_json()["tickets"]
    assert [t["label"] for t in printed] == ["1001", "2001"]
    assert all(t["print"]["status"] == "queued" and t["print"]["job_id"] for t in printed)
    assert all(t["tracking_url"].endswith(t["token"]) for t in printed)
    token = printed[0]["token"]
    status = client.get(f"/api/v1/portal/tickets/{token}", headers=h).get_json()["ticket"]
    assert status["checked_in"] is True
    # scanned again: nothing left to check in
    again = client.post(
        "/api/v1/kiosk/check-in", json={"scan": CCCD_QR}, headers=actors.h(actors.kiosk)
    )
    assert again.status_code == 404
    assert again.get_json()["error"]["message"] == (
        "Không có số lấy trực tuyến hôm nay cho thẻ Căn cước này."
    )
    assert _call(client, actors).get_json()["ticket"]["label"] == "1001"


def test_kiosk_checks_in_by_the_ticket_qr(client, ctx, actors):
    mine = take(client, confirm(client, ctx, PHONE), "DD").get_json()
    r = client.post(
        "/api/v1/kiosk/check-in",
        json={"scan": mine["tracking_url"] + "\n"},
        headers=actors.h(actors.kiosk),
    )
    assert r.status_code == 200 and r.get_json()["tickets"][0]["label"] == mine["label"]
    r = client.post(
        "/api/v1/kiosk/check-in", json={"scan": "xin chao"}, headers=actors.h(actors.kiosk)
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_scan"


def test_portal_needs_the_remote_scope(client, ctx):
    _, secret = apikeys.add_key(ctx.db, "STP", ctx.now(), name="Sở Tư pháp")
    r = client.post(
        "/api/v1/portal/tickets",
        json={"service": "DD", "phone": PHONE},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert r.status_code == 403
    assert (
        client.post("/api/v1/portal/tickets", json={"service": "DD", "phone": PHONE}).status_code
        == 401
    )


def test_limits_hold_under_concurrency(ctx):
    results: list[str] = []
    barrier = threading.Barrier(12)

    def one(service: str) -> None:
        barrier.wait()
        try:
            remote.take(
                ctx.db,
                ctx.cfg,
                service=service,
                phone=PHONE,
                cccd_hash=None,
                source="t",
                now=ctx.now(),
            )
            results.append("ok")
        except remote.Conflict as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=one, args=(s,)) for s in ["DD", "HT", "CC", "KD"] * 3]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count("ok") == 2
    with ctx.db.read() as conn:
        rows = conn.execute("SELECT service FROM remote_ticket").fetchall()
    assert len(rows) == 2 and len({r[0] for r in rows}) == 2


def test_config_keys_are_checked(cfg):
    bad = replace(cfg, extra={**cfg.extra, "remote": {"grace_calls": 0}})
    with pytest.raises(ConfigError, match=r"remote\.grace_calls"):
        settings(bad)
    bad = replace(cfg, extra={**cfg.extra, "remote": {"per_day": 2}})
    with pytest.raises(ConfigError, match=r"remote\.per_day: unknown key"):
        settings(bad)


def test_closed_hours_say_so(client, ctx, clock):
    clock.advance(hours=11)  # 20:00
    proof = confirm(client, ctx, PHONE)
    page = client.get("/lay-so")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Lấy số trực tuyến" in html and "Tạm ngừng nhận số." in html
    r = take(client, proof, "DD")
    assert r.status_code == 409
    assert r.get_json()["error"]["message"] == "Tạm ngừng nhận số cho lĩnh vực này."
