"""Dates a department sends are bounded where they enter (issue 15.1, 15.2): a due date
in year 9999 or a status in year 0001 is a clear 400 naming the field, by API and by
import, and dossiers already stored with such dates do not stall the watch."""

from __future__ import annotations

from datetime import datetime

from click.testing import CliRunner

from server.cli import main
from server.dossiers.stats import watch
from tests.conftest import ROOT, TZ
from tests.dossier_fixtures import CODE, Keys, catalog, dossier, keys, put

__all__ = ["catalog", "keys"]

URL = f"/api/v1/dossiers/{CODE}"
BODY = {"procedure": "STP-LLTP", "applicant": "Nguyễn Văn An", "status": "received"}


def _refused(r, field: str) -> str:
    assert r.status_code == 400, r.get_json()
    message = r.get_json()["error"]["message"]
    assert f"'{field}'" in message and "ngoài khoảng cho phép" in message
    return message


def test_a_far_off_due_date_is_refused_naming_the_field(client, keys):
    r = client.put(URL, json={**BODY, "due_at": "9999-12-30"}, headers=Keys.h(keys.stp))
    message = _refused(r, "due_at")
    assert "30/12/9999" in message and "01/01/2000" in message
    assert client.get(URL + "/detail", headers=Keys.h(keys.stp)).status_code == 404


def test_ancient_and_far_times_are_refused_everywhere(client, keys):
    h = Keys.h(keys.stp)
    ancient = client.put(URL, json={**BODY, "status_at": "0001-01-01T08:00:00+07:00"}, headers=h)
    assert "01/01/0001" in _refused(ancient, "status_at")
    _refused(
        client.put(URL, json={**BODY, "status_at": "0001-01-01T08:00:00+07:00"}, headers=h),
        "status_at",
    )
    _refused(
        client.put(URL, json={**BODY, "received_at": "31/12/1999 08:00"}, headers=h), "received_at"
    )
    assert client.put(URL, json=BODY, headers=h).status_code == 201
    _refused(
        client.post(URL + "/events", json={"status": "in_progress", "at": "0001-01-01"}, headers=h),
        "at",
    )
    far = {"type": "delay", "reason": "chờ xác minh", "new_due_at": "01/01/3000"}
    _refused(client.post(URL + "/events", json=far, headers=h), "new_due_at")
    # A plausible far date (ten years ahead) is still accepted.
    ok = client.put(URL[:-1] + "2", json={**BODY, "due_at": "2035-06-29"}, headers=h)
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["dossier"]["due_at"].startswith("2035-06-29T10:00")


def test_a_time_whose_local_date_overflows_is_refused_not_a_500(client, keys):
    """9999-12-31T23:00-07:00 is year 10000 in the center's zone, 0001-01-01T00:00+14:00
    year 0 in it: each is out of range like any far date (was an OverflowError, HTTP 500)."""
    h = Keys.h(keys.stp)
    late = client.put(URL, json={**BODY, "status_at": "9999-12-31T23:00:00-07:00"}, headers=h)
    assert "31/12/9999" in _refused(late, "status_at")
    early = client.put(URL, json={**BODY, "due_at": "0001-01-01T00:00:00+14:00"}, headers=h)
    assert "01/01/0001" in _refused(early, "due_at")
    assert client.put(URL, json=BODY, headers=h).status_code == 201
    event = {"status": "in_progress", "at": "9999-12-31T23:59:00-12:00"}
    _refused(client.post(URL + "/events", json=event, headers=h), "at")


def test_an_import_row_with_a_year_9999_date_is_rejected_with_the_same_words(catalog, tmp_path):
    f = tmp_path / "ho-so.csv"
    f.write_text(
        "Mã hồ sơ,Mã thủ tục,Người nộp,Ngày tiếp nhận,Trạng thái,Hạn xử lý\n"
        "H1,STP-LLTP,An,20/11/2026 08:30,Đã tiếp nhận,30/12/9999\n"
        "H2,STP-LLTP,Bình,20/11/2026 08:30,Đã tiếp nhận,\n",
        encoding="utf-8",
    )
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(catalog.data_dir)]
    r = CliRunner().invoke(main, ["import-dossiers", str(f), "--policy", "skip-bad", *args])
    assert r.exit_code == 1
    assert "line 2 (H1)" in r.stderr and "ngoài khoảng cho phép" in r.stderr


def test_the_watch_answers_for_dossiers_stored_with_ancient_dates(catalog, clock):
    # Rows written before the bound existed: status in year 0001 (issue 15.2).
    for code in ("OLD-1", "OLD-2", "OLD-3"):
        put(catalog, code)
    with catalog.db.write() as conn:
        conn.execute(
            "UPDATE dossier SET status_at = '0001-01-01T00:00:00+00:00' WHERE code LIKE 'OLD-%'"
        )
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=TZ))
    items = {i["code"]: i for i in watch(catalog.db, catalog.cfg, catalog.now())["items"]}
    assert set(items) == {"OLD-1", "OLD-2", "OLD-3"}
    assert all(i["reasons"][-1] == "stale" for i in items.values())
    # Two thousand years of working days, counted without walking them.
    assert 500_000 < items["OLD-1"]["idle_working_days"] < 560_000
    assert dossier(catalog, "OLD-1")["status_at"].startswith("0001-")


def test_an_export_from_year_1_or_to_year_9999_is_a_400(client, keys):
    """The export's from/to days at the calendar's ends overflowed moving to UTC (500)."""
    for query in ("from=0001-01-01", "to=9999-12-31", "from=0001-01-01&to=9999-12-31"):
        r = client.get(f"/api/v1/dossiers/export?{query}", headers=Keys.h(keys.stp))
        assert r.status_code == 400, (query, r.status_code)
        assert r.get_json()["error"]["code"] == "bad_query"
    ok = client.get(
        "/api/v1/dossiers/export?from=2026-01-01&to=2026-12-31", headers=Keys.h(keys.stp)
    )
    assert ok.status_code == 200
