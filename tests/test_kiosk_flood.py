"""After a kiosk flood, a supervisor cancels in one action every ticket that kiosk
issued in a window and nobody has called yet — with a reason, audited, each ticket
through the state machine so its history, the queues and the reports stay right."""

from __future__ import annotations

from datetime import timedelta

from server import accounts
from server.clock import iso
from tests.conftest import TZ


def _take(client, token: str, service: str):
    r = client.post(
        "/api/v1/tickets", json={"service": service}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201
    return r.get_json()


def _waiting(client, code: str) -> int:
    services = client.get("/api/v1/services").get_json()["services"]
    return next(s for s in services if s["code"] == code)["waiting"]


def test_cancel_a_kiosks_flood_in_one_action(client, actors, ctx, clock):
    honest = _take(client, actors.kiosk, "HT")  # before the flood: kept
    clock.advance(minutes=10)
    start = clock.now()
    flood = [_take(client, actors.kiosk, "DD" if i % 2 else "CC") for i in range(40)]
    other = accounts.add_device(ctx.db, "kiosk-2", "kiosk", ctx.now())
    neighbour = _take(client, other, "DD")  # another kiosk, same minutes: kept
    boss = actors.h(actors.supervisor)
    # one of the flood's tickets was already called at counter 1: it is not "waiting"
    called = client.post("/api/v1/counters/1/next", headers=boss).get_json()["ticket"]
    assert called["id"] in {t["id"] for t in flood}
    clock.advance(minutes=1)
    with ctx.db.read() as conn:
        device = conn.execute("SELECT id FROM device WHERE name = 'kiosk-1'").fetchone()[0]
    body = {
        "since": (start - timedelta(seconds=1)).astimezone(TZ).isoformat(),
        "until": iso(clock.now()),
        "reason": "Máy kiosk 1 bị kẹt màn hình, in số liên tục",
    }
    url = f"/api/v1/devices/{device}/cancel-waiting"
    assert client.post(url, json=body, headers=actors.h(actors.staff[1])).status_code == 403
    assert client.post(url, json={**body, "reason": "  "}, headers=boss).status_code == 400
    too_long = {**body, "since": iso(clock.now() - timedelta(hours=25))}
    assert client.post(url, json=too_long, headers=boss).get_json()["error"]["code"] == "bad_window"
    assert client.post(url, json={**body, "since": "hôm qua"}, headers=boss).status_code == 400
    # windows at the calendar's ends overflow in UTC or the center's zone: a 400, not a 500
    for since, until in (
        ("0001-01-01T00:00:00+07:00", "0001-01-01T01:00:00+07:00"),
        ("9999-12-31T20:00:00-07:00", "9999-12-31T21:00:00-07:00"),
    ):
        ends = client.post(url, json={**body, "since": since, "until": until}, headers=boss)
        assert ends.status_code == 400 and ends.get_json()["error"]["code"] == "bad_window"
    assert (
        client.post("/api/v1/devices/9999/cancel-waiting", json=body, headers=boss).status_code
        == 404
    )

    r = client.post(url, json=body, headers=boss)
    assert r.status_code == 200
    out = r.get_json()
    assert out["device_name"] == "kiosk-1" and out["cancelled"] == 39 and not out["more"]
    assert called["label"] not in out["labels"]
    assert sorted(out["labels"]) == sorted(t["label"] for t in flood if t["id"] != called["id"])
    # what citizens and staff see: the queues hold only the honest tickets
    assert _waiting(client, "DD") == 1 and _waiting(client, "CC") == 0
    assert _waiting(client, "HT") == 1
    assert (
        client.get(f"/api/v1/tickets/{neighbour['token']}").get_json()["ticket"]["status"]
        == "waiting"
    )
    assert (
        client.get(f"/api/v1/tickets/{honest['token']}").get_json()["ticket"]["status"] == "waiting"
    )
    assert (
        client.get(f"/api/v1/tickets/{flood[0]['token']}").get_json()["ticket"]["status"]
        == "cancelled"
    )
    # each through the state machine: its history has the cancel, with who and why
    with ctx.db.read() as conn:
        ev = conn.execute(
            "SELECT action, from_status, to_status, actor, detail FROM ticket_event "
            "WHERE ticket_id = ? ORDER BY id DESC LIMIT 1",
            (flood[0]["id"],),
        ).fetchone()
        audit = conn.execute(
            "SELECT actor, target, detail FROM audit WHERE action = 'tickets_cancelled_flood'"
        ).fetchall()
    assert tuple(ev[:4]) == ("cancel", "waiting", "cancelled", "user:boss")
    assert "kẹt màn hình" in ev[4]
    assert len(audit) == 1 and audit[0][0] == "user:boss" and audit[0][1] == "device:kiosk-1"
    assert '"count": 39' in audit[0][2] and "kẹt màn hình" in audit[0][2]
    # the day's report counts them as cancelled
    day = clock.now().astimezone(TZ).date().isoformat()
    r = client.get(f"/api/v1/reports/queue?from={day}&to={day}", headers=boss)
    assert r.status_code == 200, r.get_json()
    totals = r.get_json()["totals"]
    assert totals["issued"] == 42 and totals["cancelled"] == 39
    # a second press finds nothing left to cancel
    again = client.post(url, json=body, headers=boss).get_json()
    assert again["cancelled"] == 0 and again["labels"] == []
