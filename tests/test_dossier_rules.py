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


# --- agency codes (issue 15: one department claimed another's codes) -----------------
def test_a_department_cannot_claim_another_departments_agency_codes(client, tmp_path):
    """Through the real CLI and HTTP API: Sở Tư pháp registers its agency; Sở Xây dựng's
    key (no agency of its own) and a second key with its own agency cannot write a code
    under Sở Tư pháp's prefix; Sở Tư pháp can."""
    from click.testing import CliRunner

    from server.cli import main
    from tests.conftest import ROOT

    runner = CliRunner()
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(tmp_path / "data")]

    def key(*extra: str) -> str:
        r = runner.invoke(main, ["apikey", "add", *extra, *args])
        assert r.exit_code == 0, r.output
        return r.stdout.strip()

    stp = key("STP", "--name", "Sở Tư pháp", "--agency", "000.00.06.h56", "--agency", "H56.10")
    sxd_old = key("SXD", "--name", "Sở Xây dựng")
    sct = key("SCT", "--name", "Sở Công Thương", "--agency", "000.00.07.H56")
    taken = runner.invoke(main, ["apikey", "add", "SXD", "--agency", "000.00.06.H56", *args])
    assert taken.exit_code != 0 and "000.00.06.H56" in taken.output and "STP" in taken.output
    bad = runner.invoke(main, ["apikey", "add", "SXD", "--agency", "H56 -x", *args])
    assert bad.exit_code != 0 and "Mã cơ quan" in bad.output
    listed = runner.invoke(main, ["apikey", "list", *args]).stdout
    assert "000.00.06.H56,H56.10" in listed

    body = {"procedure": "P1", "procedure_name": "Thủ tục", "status": "received"}
    url = "/api/v1/dossiers/000.00.06.H56-231027-0361"
    for other in (sxd_old, sct):
        r = client.put(url, json=body, headers=Keys.h(other))
        assert r.status_code == 403, r.get_json()
        error = r.get_json()["error"]
        assert error["code"] == "other_agency" and "000.00.06.H56" in error["message"]
    assert client.get(url).status_code == 404  # nothing was saved
    # A registered department writes only its own agencies' codes …
    r = client.put("/api/v1/dossiers/000.00.99.H56-231027-0001", json=body, headers=Keys.h(sct))
    assert r.status_code == 403 and "000.00.07.H56" in r.get_json()["error"]["message"]
    # … an older key without agencies keeps working for unregistered prefixes and other
    # code formats, and the owner writes its code.
    ok = {**body, "procedure": "P2"}
    assert (
        client.put("/api/v1/dossiers/XD-2026-1", json=ok, headers=Keys.h(sxd_old)).status_code
        == 201
    )
    free = "/api/v1/dossiers/000.00.55.H56-231027-0002"
    assert client.put(free, json=ok, headers=Keys.h(sxd_old)).status_code == 201
    assert client.put(url, json=body, headers=Keys.h(stp)).status_code == 201
    assert client.put(url.lower(), json=body, headers=Keys.h(sxd_old)).status_code == 403
