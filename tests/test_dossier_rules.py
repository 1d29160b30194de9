"""The dossier rules issue 16 found missing: "Đã chuyển liên thông" is a status, a late
dossier needs a timely apology, and a repeated supplement request is a flag."""

from __future__ import annotations

from tests.dossier_fixtures import CODE, Keys, catalog, keys

__all__ = ["catalog", "keys"]

BODY = {"procedure": "STP-LLTP", "applicant": "Nguyễn Văn An", "phone": "0912345678"}
URL = f"/api/v1/dossiers/{CODE}"


def test_a_dossier_transferred_to_another_agency_is_a_status(client, keys, actors):
    h = Keys.h(keys.stp)
    assert client.put(URL, json={**BODY, "status": "received"}, headers=h).status_code == 201
    r = client.post(URL + "/events", json={"status": "Đã chuyển liên thông"}, headers=h)
    assert r.status_code == 201, r.get_json()
    public = client.get(URL).get_json()["dossier"]
    assert public["status"] == "transferred"
    assert public["status_label"] == "Đã chuyển liên thông"
    assert "liên thông" in public["summary"] and public["clock_paused"] is False
    # The partner agency's result comes back to the same dossier.
    r = client.post(URL + "/events", json={"status": "resolved"}, headers=h)
    assert r.status_code == 201, r.get_json()
    assert client.get(URL).get_json()["dossier"]["ready"] is True


def test_a_sync_may_carry_the_transfer_and_reports_count_it_open(client, keys, actors):
    h = Keys.h(keys.stp)
    r = client.put(URL, json={**BODY, "status": "Chuyển liên thông"}, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["dossier"]["status"] == "transferred"
    boss = actors.h(actors.supervisor)
    report = client.get(
        "/api/v1/reports/dossiers?from=2026-11-01&to=2026-11-30", headers=boss
    ).get_json()
    assert report["totals"]["received"] == 1 and report["totals"]["in_progress"] == 1
