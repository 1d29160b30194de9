"""The dossier HTTP API: departments' keys and scopes, idempotent events, clear errors,
the masked public lookup and its rate limit, and the link from a finished ticket."""

from __future__ import annotations

import json

from server.dossiers import apikeys
from server.store import dossier_keys as store
from tests.dossier_fixtures import CODE, Keys, catalog, keys

__all__ = ["catalog", "keys"]

BODY = {
    "procedure": "STP-LLTP",
    "applicant": "Nguyễn Văn An",
    "phone": "0912 345 678",
    "channel": "Trực tuyến",
    "status": "received",
}
URL = f"/api/v1/dossiers/{CODE}"


def test_a_department_key_creates_and_updates_its_dossier(client, keys):
    r = client.put(URL, json=BODY, headers=Keys.h(keys.stp))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["created"] and body["dossier"]["status"] == "received"
    assert body["dossier"]["channel"] == "online" and body["notifications"] == 1
    r = client.put(URL, json={**BODY, "phone": "0987654321"}, headers=Keys.h(keys.stp))
    assert r.status_code == 200 and not r.get_json()["created"]
    detail = client.get(URL + "/detail", headers=Keys.h(keys.stp)).get_json()["dossier"]
    assert detail["phone"] == "0987654321" and detail["applicant"] == "Nguyễn Văn An"
    assert detail["notifications"][0]["kind"] == "received"


def test_events_are_idempotent_and_errors_are_clear(client, keys):
    client.put(URL, json=BODY, headers=Keys.h(keys.stp))
    ev = {"status": "in_progress", "event_id": "lltp-2026-0042"}
    first = client.post(URL + "/events", json=ev, headers=Keys.h(keys.stp))
    again = client.post(URL + "/events", json=ev, headers=Keys.h(keys.stp))
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["duplicate"] is True and again.get_json()["events"] == []
    bad = client.post(URL + "/events", json={"status": "returned"}, headers=Keys.h(keys.stp))
    assert bad.status_code == 409
    assert bad.get_json()["error"]["code"] == "invalid_transition"
    unknown = client.post(URL + "/events", json={"status": "xong rồi"}, headers=Keys.h(keys.stp))
    assert unknown.status_code == 400 and unknown.get_json()["error"]["code"] == "unknown_status"
    delay = client.post(URL + "/events", json={"type": "delay"}, headers=Keys.h(keys.stp))
    assert delay.status_code == 400
    assert delay.get_json()["error"]["message"] == "Không thể ghi nhận trễ hạn khi chưa nêu lý do."
    no_date = client.post(
        URL + "/events", json={"type": "delay", "reason": "chờ xác minh"}, headers=Keys.h(keys.stp)
    )
    assert no_date.status_code == 400
    assert "ngày hẹn trả mới" in no_date.get_json()["error"]["message"]
    past = client.post(
        URL + "/events",
        json={"type": "delay", "reason": "chờ", "new_due_at": "2026-11-30T17:00:00+07:00"},
        headers=Keys.h(keys.stp),
    )
    assert past.status_code == 409 and past.get_json()["error"]["code"] == "delay_date"
    assert (
        client.post("/api/v1/dossiers/NOPE/events", json=ev, headers=Keys.h(keys.stp)).status_code
        == 404
    )
    junk = client.post(URL + "/events", data="not json", headers=Keys.h(keys.stp))
    assert junk.status_code == 400 and junk.get_json()["error"]["code"] == "bad_json"


def test_keys_are_limited_to_their_department_and_scopes(client, keys, ctx):
    client.put(URL, json=BODY, headers=Keys.h(keys.stp))
    other = client.post(URL + "/events", json={"status": "in_progress"}, headers=Keys.h(keys.sxd))
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "other_department"
    assert client.get(URL + "/detail", headers=Keys.h(keys.sxd)).status_code == 404
    read_only = client.post(
        URL + "/events", json={"status": "in_progress"}, headers=Keys.h(keys.stp_read)
    )
    assert read_only.status_code == 403
    assert client.get(URL + "/detail", headers=Keys.h(keys.stp_read)).status_code == 200
    watch = client.get("/api/v1/dossiers/watch?department=SXD", headers=Keys.h(keys.stp_read))
    assert watch.status_code == 200  # the key's own department wins over the query
    assert client.get("/api/v1/dossiers/watch", headers=Keys.h(keys.sxd)).get_json()["items"] == []
    sxd_csv = client.get("/api/v1/dossiers/export", headers=Keys.h(keys.sxd)).get_data(as_text=True)
    assert CODE not in sxd_csv
    stp_csv = client.get("/api/v1/dossiers/export", headers=Keys.h(keys.stp)).get_data(as_text=True)
    assert CODE in stp_csv and "Nguyễn Văn An" in stp_csv
    # a correction is for supervisors only, never for a department's software
    fix = client.post(
        URL + "/correction", json={"status": "resolved", "reason": "x"}, headers=Keys.h(keys.stp)
    )
    assert fix.status_code == 403
    with ctx.db.read() as conn:
        key_id = next(k["id"] for k in store.api_keys(conn) if k["scopes"] == ["dossiers:read"])
    apikeys.revoke_key(ctx.db, key_id, ctx.now())
    assert client.get(URL + "/detail", headers=Keys.h(keys.stp_read)).status_code == 401


def test_the_public_lookup_is_masked(client, keys):
    client.put(URL, json=BODY, headers=Keys.h(keys.stp))
    client.post(
        URL + "/events",
        json={
            "status": "supplement_requested",
            "missing": "Bản sao CCCD",
            "note": "Gọi 0912345678",
        },
        headers=Keys.h(keys.stp),
    )
    r = client.get(f"/api/v1/dossiers/{CODE.lower()}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    d = r.get_json()["dossier"]
    assert d["applicant"] == "Nguyễn V** A*"
    assert d["status_label"] == "Yêu cầu bổ sung hồ sơ" and d["missing"] == "Bản sao CCCD"
    assert d["clock_paused"] is True and d["due_text"] == "09/12/2026"
    assert [e["status"] for e in d["timeline"]] == ["received", "supplement_requested"]
    raw = r.get_data(as_text=True)
    for secret in ("Nguyễn Văn An", "Văn", "0912345678", "345678", "678", "apikey", "STP#"):
        assert secret not in raw, secret
    en = client.get(f"/api/v1/dossiers/{CODE}?lang=en").get_json()["dossier"]
    assert en["status_label"] == "Supplement requested"


def test_unknown_and_invalid_codes_get_helpful_errors(client):
    r = client.get("/api/v1/dossiers/000.00.06.H56-261125-9999")
    assert r.status_code == 404
    err = r.get_json()["error"]
    assert err["code"] == "unknown_dossier" and "Không tìm thấy hồ sơ" in err["message"]
    assert err["details"]["looks_like_onestop"] is True
    assert (
        client.get("/api/v1/dossiers/abc?lang=en")
        .get_json()["error"]["message"]
        .startswith("No dossier has the code “ABC”")
    )
    long = client.get("/api/v1/dossiers/" + "9" * 80)
    assert long.status_code == 400 and "quá dài" in long.get_json()["error"]["message"]


def test_a_brute_force_scan_is_rate_limited_quickly(client, ctx):
    limit = ctx.limits["lookup"].limit
    codes = [f"000.00.06.H56-261125-{n:04d}" for n in range(limit + 5)]
    statuses = [client.get(f"/api/v1/dossiers/{c}").status_code for c in codes]
    assert statuses[:limit] == [404] * limit
    assert set(statuses[limit:]) == {429}
    limited = client.get(f"/api/v1/dossiers/{CODE}")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # another client (address) is not affected
    other = client.get(f"/api/v1/dossiers/{CODE}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 404


def test_the_second_factor_hides_everything_without_the_right_digits(client, keys, ctx):
    client.put(URL, json=BODY, headers=Keys.h(keys.stp))
    ctx.cfg.extra["dossiers"] = {"lookup": {"phone_digits": 4}}
    from dataclasses import replace

    ctx.cfg = replace(ctx.cfg)  # a new Config object, so the settings are read again
    need = client.get(URL)
    assert need.status_code == 400 and need.get_json()["error"]["code"] == "phone_digits_required"
    wrong = client.get(URL + "?phone=1111")
    assert wrong.status_code == 404
    right = client.get(URL + "?phone=5678")
    assert right.status_code == 200 and "0912345678" not in right.get_data(as_text=True)


def test_a_supervisor_corrects_a_status_through_the_api(client, keys, actors, clock):
    client.put(URL, json=BODY, headers=Keys.h(keys.stp))
    clock.advance(hours=2)
    r = client.post(
        URL + "/correction",
        json={"status": "Đã có kết quả", "reason": "Bấm nhầm", "at": "25/11/2026 09:30"},
        headers=actors.h(actors.supervisor),
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["dossier"]["timeliness"] == "early"
    no_reason = client.post(
        URL + "/correction", json={"status": "received"}, headers=actors.h(actors.supervisor)
    )
    assert no_reason.status_code == 400
    staff = client.post(
        URL + "/correction",
        json={"status": "received", "reason": "x"},
        headers=actors.h(actors.staff[1]),
    )
    assert staff.status_code == 403


def test_finishing_a_ticket_links_the_dossiers_received(client, keys, actors, issue):
    client.put(URL, json=BODY, headers=Keys.h(keys.stp))
    issue("HT")
    called = client.post("/api/v1/counters/3/next", headers=actors.h(actors.staff[3])).get_json()
    ticket_id = called["ticket"]["id"]
    r = client.post(
        f"/api/v1/tickets/{ticket_id}/finish",
        json={"dossiers": [CODE.lower(), "STP-NEW-1"]},
        headers=actors.h(actors.staff[3]),
    )
    assert r.status_code == 200, r.get_json()
    detail = client.get(URL + "/detail", headers=Keys.h(keys.stp)).get_json()["dossier"]
    assert detail["ticket_id"] == ticket_id and detail["linked_tickets"] == [ticket_id]
    later = client.put("/api/v1/dossiers/STP-NEW-1", json=BODY, headers=Keys.h(keys.stp)).get_json()
    assert later["dossier"]["ticket_id"] == ticket_id


def test_cli_apikey_add_prints_only_the_key(tmp_path):
    from click.testing import CliRunner

    from server.cli import main
    from tests.conftest import ROOT

    runner = CliRunner()
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(tmp_path)]
    r = runner.invoke(main, ["apikey", "add", "STP", "--name", "Sở Tư pháp", *args])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert len(key) >= 40 and "\n" not in key
    missing = runner.invoke(main, ["apikey", "add", "XYZ", *args])
    assert missing.exit_code != 0 and "--name" in missing.output
    listed = runner.invoke(main, ["apikey", "list", *args])
    assert "STP" in listed.stdout and key not in listed.stdout
    assert json.dumps(key)  # a plain token, safe to paste into a config
