"""One kiosk cannot empty a service's numbers: it issues a burst, then one ticket every
few seconds (config `queue.kiosk_limit`, as shipped); beyond that it gets 429, and the
supervisors' hall page gets a live alert, also written in the audit log."""

from __future__ import annotations

import pytest

from server import config as config_mod
from server.config import ConfigError
from server.protocol import NS_DISPLAY
from tests.conftest import drain, shipped_config


@pytest.fixture
def cfg() -> config_mod.Config:
    return shipped_config()  # the limit as config.yaml ships it: burst 5, then 1 per 4 s


def _take(client, token: str, service: str = "DD"):
    return client.post(
        "/api/v1/tickets", json={"service": service}, headers={"Authorization": f"Bearer {token}"}
    )


def test_a_kiosk_gets_a_burst_then_one_ticket_every_few_seconds(client, actors, clock, cfg):
    assert (cfg.kiosk_burst, cfg.kiosk_every_s) == (5, 4.0)
    labels = [_take(client, actors.kiosk).get_json()["label"] for _ in range(5)]
    assert labels == ["1001", "1002", "1003", "1004", "1005"]
    r = _take(client, actors.kiosk)
    assert r.status_code == 429
    err = r.get_json()["error"]
    assert err["code"] == "kiosk_limited" and "ông/bà" in err["message"]
    assert r.headers["Retry-After"] == "5"  # 4 s to the next ticket, rounded up
    clock.advance(seconds=2)
    assert _take(client, actors.kiosk).status_code == 429
    clock.advance(seconds=2)
    r = _take(client, actors.kiosk)
    # no number was spent on the refusals: the next ticket follows on
    assert r.status_code == 201 and r.get_json()["label"] == "1006"
    assert _take(client, actors.kiosk).status_code == 429
    # other kiosks and staff at a counter are not held back by this one
    other = actors_device(client, actors)
    assert _take(client, other).status_code == 201
    assert _take(client, actors.staff[1]).status_code == 201
    services = client.get("/api/v1/services").get_json()["services"]
    assert next(s for s in services if s["code"] == "DD")["waiting"] == 8


def actors_device(client, actors) -> str:
    from server import accounts

    ctx = client.application.extensions["motcua"]
    return accounts.add_device(ctx.db, "kiosk-2", "kiosk", ctx.now())


def test_supervisors_get_a_live_alert_and_an_audit_entry(app, client, actors, socketio, clock, ctx):
    boss = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.supervisor}, flask_test_client=client
    )
    board = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.board}, flask_test_client=client
    )
    drain(boss, NS_DISPLAY), drain(board, NS_DISPLAY)
    for _ in range(12):  # 5 issued, 7 refused
        _take(client, actors.kiosk)
    alerts = [p for name, p in drain(boss, NS_DISPLAY) if name == "alert"]
    assert len(alerts) == 1  # one alert for the whole burst of refusals, not one each
    assert alerts[0]["kind"] == "kiosk_ticket_limit"
    assert alerts[0]["device_name"] == "kiosk-1" and alerts[0]["burst"] == 5
    assert isinstance(alerts[0]["device"], int)
    assert all(name != "alert" for name, _ in drain(board, NS_DISPLAY))  # boards never
    # a minute on, still flooding: a second alert
    clock.advance(seconds=61)
    for _ in range(20):
        _take(client, actors.kiosk)
    assert [n for n, _ in drain(boss, NS_DISPLAY)].count("alert") == 1
    r = client.get("/api/v1/alerts", headers=actors.h(actors.supervisor))
    assert [a["device_name"] for a in r.get_json()["alerts"]] == ["kiosk-1", "kiosk-1"]
    assert client.get("/api/v1/alerts", headers=actors.h(actors.staff[1])).status_code == 403
    with ctx.db.read() as conn:
        rows = conn.execute(
            "SELECT actor, target FROM audit WHERE action = 'kiosk_ticket_limit'"
        ).fetchall()
    assert [tuple(r) for r in rows] == [("device:kiosk-1", "device:kiosk-1")] * 2


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"burst": 0}, "queue.kiosk_limit.burst: must be between 1 and 1000000"),
        ({"every_s": -1}, "queue.kiosk_limit.every_s: must be between 0 (no limit) and 3600"),
        ({"every_s": "fast"}, "queue.kiosk_limit.every_s: expected a number"),
        ({"every_s": 7200}, "queue.kiosk_limit.every_s: must be between 0 (no limit) and 3600"),
    ],
)
def test_the_limit_is_validated_naming_the_key(section, message):
    import yaml

    from tests.conftest import ROOT

    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["queue"]["kiosk_limit"] = section
    with pytest.raises(ConfigError) as e:
        config_mod.parse(raw, env={})
    assert str(e.value).startswith(message)


def test_every_s_zero_turns_the_limit_off(client, actors, app, cfg):
    from dataclasses import replace

    app.extensions["motcua"].cfg = replace(cfg, kiosk_every_s=0.0)
    assert all(_take(client, actors.kiosk).status_code == 201 for _ in range(20))


def test_a_staff_member_gets_the_same_allowance_and_supervisors_are_told(
    app, client, actors, socketio, clock, ctx
):
    """A staff token once issued 300 tickets in 2 s: people issuing at a counter get the
    kiosks' allowance, counted per person, with their own message and alert."""
    boss = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.supervisor}, flask_test_client=client
    )
    drain(boss, NS_DISPLAY)
    codes = [_take(client, actors.staff[1]).status_code for _ in range(30)]
    assert codes == [201] * 5 + [429] * 25
    r = _take(client, actors.staff[1])
    err = r.get_json()["error"]
    assert err["code"] == "staff_limited"
    assert (
        err["message"] == "Tài khoản này vừa cấp nhiều số liên tiếp; hãy đợi vài giây rồi cấp tiếp."
    )
    assert r.headers["Retry-After"] == "5"
    # other people and the kiosk keep their own allowance
    assert _take(client, actors.staff[2]).status_code == 201
    assert _take(client, actors.kiosk).status_code == 201
    alerts = [p for name, p in drain(boss, NS_DISPLAY) if name == "alert"]
    assert len(alerts) == 1
    assert alerts[0]["kind"] == "staff_ticket_limit" and alerts[0]["user_name"] == "staff1"
    assert alerts[0]["device"] is None and alerts[0]["burst"] == 5
    listed = client.get("/api/v1/alerts", headers=actors.h(actors.supervisor)).get_json()
    assert [(a["kind"], a.get("user_name")) for a in listed["alerts"]] == [
        ("staff_ticket_limit", "staff1")
    ]
    clock.advance(seconds=4)
    assert _take(client, actors.staff[1]).status_code == 201
    services = client.get("/api/v1/services").get_json()["services"]
    assert next(s for s in services if s["code"] == "DD")["waiting"] == 8
