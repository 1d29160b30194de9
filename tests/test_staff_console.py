"""The counter console: who may open which counter, the queue and history it reads,
dossier codes kept on finish, and two consoles of one counter staying in step."""

from __future__ import annotations

import json
import time

import pytest

from server.protocol import NS_COUNTER
from server.store import tickets as ticket_store
from tests.conftest import drain
from tests.staff_fixtures import PASSWORD, fast_hashes, signed_in, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]


@pytest.fixture
def staff1(app, actors):
    return signed_in(app, "staff1", PASSWORD)


def test_picker_lists_only_my_counters_and_opens_the_only_one(app, actors):
    client, _ = signed_in(app, "staff1")
    r = client.get("/staff")
    assert r.status_code == 302 and r.headers["Location"].endswith("/staff/1")
    boss, _ = signed_in(app, "boss")
    body = text(boss.get("/staff"))
    assert body.count('class="pick state-') == 10 and "Quầy 10" in body


def test_console_page_for_my_counter_only(app, actors):
    client, _ = signed_in(app, "staff1")
    r = client.get("/staff/1")
    body = text(r)
    assert r.status_code == 200
    for word in (
        "Gọi số tiếp",
        "Gọi lại",
        "Gọi số…",
        "Bắt đầu",
        "Hoàn thành",
        "Vắng mặt",
        "Chuyển quầy",
        "Tạm nghỉ",
        "Nghỉ giải lao",
        "Họp",
        "Hỗ trợ quầy khác",
        "Sự cố kỹ thuật",
    ):
        assert word in body, word
    assert '<script src="/static/js/staff.js"></script>' in body
    assert "<script>" not in body  # CSP: no inline script
    r = client.get("/staff/2")
    assert r.status_code == 403 and "không được phân công ở quầy số 2" in text(r)
    assert client.get("/staff/99").status_code == 404


def test_queue_endpoint_lists_callable_tickets_without_phones(client, actors, issue, ctx):
    first = issue("DD")
    r = client.post(
        "/api/v1/tickets",
        json={"service": "XD", "phone": "0912345678"},
        headers=actors.h(actors.kiosk),
    )
    assert r.status_code == 201
    elderly = issue("DD", "elderly")
    issue("HT")  # not a service of counter 2
    ctx.clock.advance(minutes=7)
    r = client.get("/api/v1/counters/2/queue", headers=actors.h(actors.staff[2]))
    body = r.get_json()
    assert r.status_code == 200
    assert [w["label"] for w in body["waiting"]] == [elderly["label"], first["label"], "5001"]
    assert body["waiting"][0]["priority_name"] == "Người cao tuổi"
    assert body["waiting"][1]["waited_min"] == 7
    assert {s["code"]: s["waiting"] for s in body["services"]} == {"DD": 2, "XD": 1}
    assert body["services"][0]["longest_wait_min"] == 7
    assert body["waiting_total"] == 3 and body["recall_limit"] == 3
    assert "0912345678" not in json.dumps(body) and "token" not in json.dumps(body)
    assert (
        client.get("/api/v1/counters/2/queue", headers=actors.h(actors.staff[1])).status_code == 403
    )


def test_recalls_left_follow_the_config_limit(client, actors, issue):
    issue("DD")
    staff = actors.h(actors.staff[1])
    client.post("/api/v1/counters/1/next", headers=staff)
    client.post("/api/v1/counters/1/recall", headers=staff)
    body = client.get("/api/v1/counters/1/queue", headers=staff).get_json()
    assert body["counter"]["serving"]["recall_count"] == 1 and body["recalls_left"] == 2


def test_finish_keeps_dossier_codes_on_the_event_and_in_history(client, actors, issue, ctx):
    t = issue("DD")
    staff = actors.h(actors.staff[1])
    client.post("/api/v1/counters/1/next", headers=staff)
    r = client.post(
        f"/api/v1/tickets/{t['id']}/finish",
        json={"dossiers": [" 000.00.06.h56-231027-0361 ", "000.00.06.H56-231027-0361", "KD-77"]},
        headers=staff,
    )
    assert r.status_code == 200 and r.get_json()["ticket"]["status"] == "done"
    with ctx.db.connection() as conn:
        finish = [e for e in ticket_store.events(conn, t["id"]) if e["action"] == "finish"][0]
    assert json.loads(finish["detail"]) == {"dossiers": ["000.00.06.H56-231027-0361", "KD-77"]}
    history = client.get("/api/v1/counters/1/history", headers=staff).get_json()["history"]
    assert history[0]["label"] == t["label"] and history[0]["action"] == "finish"
    assert history[0]["dossiers"] == ["000.00.06.H56-231027-0361", "KD-77"]


@pytest.mark.parametrize(
    ("dossiers", "code"),
    [("KD-1", "bad_field"), ([""], "invalid_dossier_code"), (["x"] * 21, "too_many_dossiers")],
)
def test_finish_rejects_bad_dossier_lists_and_keeps_the_ticket(
    client, actors, issue, dossiers, code
):
    t = issue("DD")
    staff = actors.h(actors.staff[1])
    client.post("/api/v1/counters/1/next", headers=staff)
    r = client.post(f"/api/v1/tickets/{t['id']}/finish", json={"dossiers": dossiers}, headers=staff)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code
    q = client.get("/api/v1/counters/1/queue", headers=staff).get_json()
    assert q["counter"]["serving"]["id"] == t["id"]  # nothing lost


def test_history_shows_no_show_and_transfer(client, actors, issue):
    a, b = issue("DD"), issue("DD")
    staff = actors.h(actors.staff[1])
    client.post("/api/v1/counters/1/next", headers=staff)
    client.post(f"/api/v1/tickets/{a['id']}/no-show", headers=staff)
    client.post("/api/v1/counters/1/next", headers=staff)
    client.post(f"/api/v1/tickets/{b['id']}/transfer", json={"counter": 7}, headers=staff)
    body = client.get("/api/v1/counters/1/history", headers=staff).get_json()
    assert body["today"] == {"finish": 0, "no_show": 1, "transfer": 1, "avg_min": None}
    history = body["history"]
    assert [(h["label"], h["action"]) for h in history] == [
        (b["label"], "transfer"),
        (a["label"], "no_show"),
    ]
    assert history[0]["to_counter"] == 7


def test_two_consoles_of_one_counter_both_hear_each_change(app, actors, issue, socketio):
    one, csrf = signed_in(app, "staff1")
    two, _ = signed_in(app, "staff1")
    socks = [
        socketio.test_client(app, namespace=NS_COUNTER, flask_test_client=c) for c in (one, two)
    ]
    for s in socks:
        assert s.emit("join", {"counter": 1}, namespace=NS_COUNTER, callback=True)["ok"]
        drain(s, NS_COUNTER)
    issue("DD")
    r = one.post("/api/v1/counters/1/next", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    for s in socks:
        views = [p["counter"] for n, p in drain(s, NS_COUNTER) if n == "counter"]
        mine = [v for v in views if v["number"] == 1]
        assert mine and mine[-1]["serving"]["label"] == "1001"
    r = one.post(
        "/api/v1/counters/1/pause", json={"reason": "break"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 409  # a citizen is at the counter
    tid = one.get("/api/v1/counters/1/queue").get_json()["counter"]["serving"]["id"]
    assert (
        one.post(f"/api/v1/tickets/{tid}/finish", headers={"X-CSRF-Token": csrf}).status_code == 200
    )
    r = one.post(
        "/api/v1/counters/1/pause", json={"reason": "break"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 200
    views = [p["counter"] for n, p in drain(socks[1], NS_COUNTER) if n == "counter"]
    assert views[-1]["state"] == "paused" and views[-1]["pause_reason"] == "break"


def test_a_console_read_makes_the_next_queue_flush_emit(app, client, actors, issue, ctx, socketio):
    """Two changes inside one flush window can leave the summary equal to the last one
    sent; a console that read the queue in between must still hear about it."""
    console = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": actors.staff[1]})
    issue("DD")
    deadline = time.time() + 3
    while time.time() < deadline and not any(n == "queue" for n, _ in drain(console, NS_COUNTER)):
        time.sleep(0.05)
    client.get("/api/v1/counters/1/queue", headers=actors.h(actors.staff[1]))
    ctx.realtime.queue_changed("DD")  # "changed", yet the summary is as last sent
    ctx.realtime.flush()
    events = [p for n, p in drain(console, NS_COUNTER) if n == "queue"]
    assert events and next(s for s in events[-1]["services"] if s["code"] == "DD")["waiting"] == 1
