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


# --- SMS volume and free text (issue 15: 30 "supplement" SMS with a link in 0.3 s) -----
def _sms_app(cfg, tmp_path, clock, **sms):
    from dataclasses import replace

    from server.app import create_app

    section = {**cfg.extra.get("sms", {}), "worker": False, **sms}
    app = create_app(
        replace(cfg, extra={**cfg.extra, "sms": section}),
        tmp_path / "sms",
        clock=clock,
        testing=True,
    )
    return app


def _queued(ctx) -> list[dict]:
    with ctx.db.read() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM notification ORDER BY id")]


def test_a_supplement_with_a_link_or_too_long_is_refused_where_it_is_typed(client, keys):
    h = Keys.h(keys.stp)
    client.put(URL, json={**BODY, "status": "received"}, headers=h)
    for missing in (
        "Bản sao CCCD, nộp tại http://evil.example/pay",
        "Bản sao CCCD — xem bit.ly/abc",
        "Nộp lại tại www.evil.vn",
    ):
        r = client.post(
            URL + "/events", json={"status": "supplement_requested", "missing": missing}, headers=h
        )
        assert r.status_code == 400, missing
        error = r.get_json()["error"]
        assert error["code"] == "link_not_allowed" and "đường dẫn" in error["message"]
    reason = client.post(
        URL + "/events",
        json={"type": "delay", "reason": "x" * 301, "new_due_at": "2026-12-30"},
        headers=h,
    )
    assert reason.status_code == 400 and reason.get_json()["error"]["code"] == "text_too_long"
    assert "301" in reason.get_json()["error"]["message"]
    stop = client.post(
        URL + "/events", json={"status": "stopped", "reason": "xem evil.com ngay"}, headers=h
    )
    assert stop.status_code == 400 and stop.get_json()["error"]["code"] == "link_not_allowed"
    # The configured portal may be linked; abbreviations with a dot are not links.
    ok = client.post(
        URL + "/events",
        json={
            "status": "supplement_requested",
            "missing": "Bản sao sổ hộ khẩu TP.HCM, v.v. (mẫu tại https://dichvucong.gov.vn/p/1)",
        },
        headers=h,
    )
    assert ok.status_code == 201, ok.get_json()
    assert client.get(URL).get_json()["dossier"]["status"] == "supplement_requested"


def test_thirty_supplement_sms_to_one_number_stop_at_the_daily_limit(cfg, clock, tmp_path):
    """The number's daily share goes out; past it the dossiers are still saved (a status
    is worth more than its SMS) and the answer says which SMS were held and why."""
    from server.dossiers import apikeys
    from tests.dossier_fixtures import setup_catalog

    app = _sms_app(cfg, tmp_path, clock)
    ctx, client = app.extensions["motcua"], app.test_client()
    setup_catalog(ctx.db, ctx.now())
    h = Keys.h(apikeys.add_key(ctx.db, "STP", ctx.now())[1])
    answers = []
    for i in range(30):
        code = f"000.00.06.H56-261125-{i + 1:04d}"
        body = {**BODY, "status": "supplement_requested", "missing": "Bản sao CCCD"}
        answers.append(client.put(f"/api/v1/dossiers/{code}", json=body, headers=h))
    assert {r.status_code for r in answers} == {201}
    assert [r.get_json()["sms_held"] for r in answers[:5]] == [[]] * 5
    held = answers[5].get_json()["sms_held"]
    assert len(held) == 1 and "hôm nay" in held[0]
    assert all(r.get_json()["sms_held"] for r in answers[5:])
    statuses = [n["status"] for n in _queued(ctx)]
    assert statuses == ["queued"] * 5 + ["failed"] * 25
    assert client.get("/api/v1/dossiers/000.00.06.H56-261125-0030").status_code == 200
    app.extensions["motcua"].close()


def test_one_key_texting_many_numbers_stops_at_its_hourly_limit(cfg, clock, tmp_path):
    from server.dossiers import apikeys
    from tests.dossier_fixtures import setup_catalog

    app = _sms_app(cfg, tmp_path, clock, limits={"per_sender_hour": 3, "per_number_day": 5})
    ctx, client = app.extensions["motcua"], app.test_client()
    setup_catalog(ctx.db, ctx.now())
    h = Keys.h(apikeys.add_key(ctx.db, "STP", ctx.now())[1])
    other = Keys.h(apikeys.add_key(ctx.db, "STP", ctx.now())[1])

    def sent(key, code: str, phone: str) -> bool:
        body = {**BODY, "phone": phone, "status": "received"}
        r = client.put(f"/api/v1/dossiers/{code}", json=body, headers=key)
        assert r.status_code == 201, r.get_json()
        return not r.get_json()["sms_held"]

    assert [sent(h, f"000.00.06.H56-261125-{i:04d}", f"09123456{i:02d}") for i in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert [n["status"] for n in _queued(ctx)] == ["queued"] * 3 + ["failed"] * 2
    # Another key of the same department has its own count; an hour later the first
    # key may send again.
    assert sent(other, "X-1", "0987000001")
    clock.advance(hours=1)
    assert sent(h, "X-2", "0987000002")
    app.extensions["motcua"].close()


def test_the_sms_policy_is_validated_naming_the_key(cfg):
    from dataclasses import replace

    import pytest

    from server.config import ConfigError
    from server.notify.config import parse_sms

    for section, key in (
        ({"limits": {"per_number_day": 0}}, "sms.limits.per_number_day"),
        ({"limits": {"per_hour": 3}}, "sms.limits.per_hour"),
        ({"free_text": {"max_length": 5000}}, "sms.free_text.max_length"),
        ({"free_text": {"links": "yes"}}, "sms.free_text.links"),
        ({"free_text": {"allowed_hosts": ["http://x.vn/"]}}, "sms.free_text.allowed_hosts[0]"),
        ({"limits": [1]}, "sms.limits"),
    ):
        with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
            parse_sms(replace(cfg, extra={"sms": section}))


# --- late without an apology, repeated supplements (issue 16.18, 16.19) ----------------
def _at(day: int, hour: int = 9, month: int = 11):
    from datetime import datetime

    from tests.conftest import TZ

    return datetime(2026, month, day, hour, 0, tzinfo=TZ)


def _setup_flags(catalog, clock):
    """Five dossiers of Sở Tư pháp (10 working days), received early in November."""
    from tests.dossier_fixtures import event, put

    clock.set(_at(2))
    for code in ("TIMELY", "LATE-SORRY", "SILENT", "REPEAT", "OPEN"):
        put(catalog, code, status="received")
    assert put(catalog, "SILENT").dossier["due_at"][:10] == "2026-11-16"
    clock.set(_at(12))  # before the due date: a timely apology with a new date
    event(catalog, "TIMELY", type="delay", reason="chờ xác minh", new_due_at="2026-11-27")
    event(catalog, "REPEAT", status="supplement_requested", missing="Bản sao CCCD")
    event(catalog, "REPEAT", status="in_progress")
    clock.set(_at(20))  # after it: this apology is late
    event(catalog, "LATE-SORRY", type="delay", reason="chờ ý kiến", new_due_at="2026-11-30")
    event(catalog, "REPEAT", status="supplement_requested", missing="Bản chính giấy khai sinh")
    clock.set(_at(25))
    for code in ("TIMELY", "LATE-SORRY", "SILENT"):
        event(catalog, code, status="resolved")


def test_late_dossiers_without_a_timely_apology_are_flagged_and_counted(
    client, catalog, clock, actors
):
    _setup_flags(catalog, clock)
    boss = actors.h(actors.supervisor)
    report = client.get(
        "/api/v1/reports/dossiers?from=2026-11-01&to=2026-11-30", headers=boss
    ).get_json()
    totals = report["totals"]
    assert totals["late"] == 3  # all three finished after 16 Nov …
    assert totals["late_no_apology"] == 2  # … but one had apologised in time
    assert totals["repeat_supplement"] == 1
    deps = {d["department"]: d for d in report["by_department"]}
    assert deps["STP"]["late_no_apology"] == 2
    csv = client.get(
        "/api/v1/reports/dossiers?from=2026-11-01&to=2026-11-30&format=csv", headers=boss
    ).get_data(as_text=True)
    assert "Trễ hạn không xin lỗi đúng hạn" in csv and "Yêu cầu bổ sung từ 2 lần" in csv

    watch = client.get("/api/v1/dossiers/watch", headers=boss).get_json()
    reasons = {i["code"]: i["reasons"] for i in watch["items"]}
    assert "no_apology" in reasons["SILENT"]  # result ready late, never apologised
    assert "late_apology" in reasons["LATE-SORRY"]
    assert "TIMELY" not in reasons
    assert "repeat_supplement" in reasons["REPEAT"]
    assert "no_apology" in reasons["OPEN"] and "overdue" in reasons["OPEN"]


def test_an_apology_must_give_a_date_after_today(client, catalog, clock, keys):
    from tests.dossier_fixtures import put

    clock.set(_at(2))
    put(catalog, status="received")  # due 16 Nov
    clock.set(_at(25))
    h = Keys.h(keys.stp)
    for new_due in ("2026-11-20", "2026-11-25", "2026-11-25T16:00:00+07:00"):
        r = client.post(
            URL + "/events",
            # backdated to before the due date: still, the new date is not after today
            json={"type": "delay", "reason": "chờ", "new_due_at": new_due, "at": "2026-11-10"},
            headers=h,
        )
        assert r.status_code == 400, (new_due, r.get_json())
        error = r.get_json()["error"]
        assert error["code"] == "delay_date_past"
        assert error["message"].startswith("Ngày hẹn trả mới") and "25/11/2026" in error["message"]
    ok = client.post(
        URL + "/events",
        json={"type": "delay", "reason": "chờ", "new_due_at": "2026-11-26"},
        headers=h,
    )
    assert ok.status_code == 201, ok.get_json()


def test_an_import_over_the_number_limit_records_its_sms_as_failed(catalog):
    """A batch is not refused for its SMS: the rows are saved, the messages over the
    limit are kept as failed with the reason (the supervisor sees them on the dossier)."""
    from server.dossiers import service
    from server.dossiers.inputs import dossier_fields, event_input
    from server.dossiers.state import Tx
    from tests.dossier_fixtures import outbox

    end = service.day_end(catalog.cfg)
    with catalog.db.write() as conn:
        tx = Tx(conn, catalog.cfg, catalog.now(), "STP#1", "import")
        for i in range(7):
            body = {**BODY, "status": "received"}
            tz = catalog.cfg.tz
            service.apply_put(
                tx, f"IMP-{i}", dossier_fields(body, tz, end), event_input(body, tz, end), "STP"
            )
    sent = outbox(catalog)
    assert [n["status"] for n in sent] == ["queued"] * 5 + ["failed"] * 2
    assert "hôm nay" in sent[-1]["error"]


def test_the_watch_page_names_the_new_flags_in_vietnamese(app, catalog, clock, actors):
    from tests.staff_fixtures import signed_in, text

    _setup_flags(catalog, clock)
    browser, _ = signed_in(app, "boss")
    page = text(browser.get("/dossiers"))
    assert "Trễ hạn, chưa xin lỗi đúng hạn" in page
    assert "Xin lỗi sau ngày hẹn" in page and "Yêu cầu bổ sung nhiều lần" in page
    import re

    tags = re.findall(r'<span class="dz-tag [^"]*">([^<]*)</span>', page)
    assert tags and not [t for t in tags if "_" in t or t.isascii()], tags
