"""Same-day and half-day procedures (issue 16.17): a limit in working hours and a same-day
cut-off — chứng thực received before 15:00 is returned the same day (Decree 23/2015),
after it the next working day — set in the procedure catalog and used for due dates by
the API and by the import."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from server.cli import main
from server.dossiers.calendar import WorkCalendar
from tests.conftest import ROOT
from tests.dossier_fixtures import Keys, catalog, keys

__all__ = ["catalog", "keys"]

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()
CUT = time(15, 0)


def vn(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (vn(11, 23, 6, 59), vn(11, 23, 17)),  # before opening: that day
        (vn(11, 23, 9, 0), vn(11, 23, 17)),
        (vn(11, 23, 14, 59), vn(11, 23, 17)),  # before the cut-off: the same day
        (vn(11, 23, 15, 0), vn(11, 25, 17)),  # at the cut-off: next working day (24 is off)
        (vn(11, 23, 17, 30), vn(11, 25, 17)),  # after hours
        (vn(11, 21, 10, 0), vn(11, 23, 17)),  # Saturday: Monday
    ],
)
def test_a_same_day_cutoff(received: datetime, due: datetime):
    assert CAL.due_date(received, cutoff=CUT) == due


def test_hour_limits_with_and_without_a_cutoff():
    # Half a day (4 working hours) from 09:00: 09:00–11:30 is 2.5 h, 1.5 h more → 15:00.
    assert CAL.due_date(vn(11, 23, 9), hours=4) == vn(11, 23, 15)
    # From 14:00 without a cut-off the 4 hours spill into the next working day.
    assert CAL.due_date(vn(11, 23, 14), hours=4) == vn(11, 25, 8)
    # With a same-day cut-off the dossier is due by that day's close.
    assert CAL.due_date(vn(11, 23, 14), hours=4, cutoff=CUT) == vn(11, 23, 17)
    # A limit of whole days keeps its length; the cut-off only moves a late receipt.
    assert CAL.due_date(vn(11, 23, 16), days=2, cutoff=CUT) == vn(11, 27, 7)
    assert CAL.due_date(vn(11, 23, 14), days=2, cutoff=CUT) == vn(11, 26, 14)


def test_the_catalog_cutoff_gives_due_dates_by_api_and_import(
    client, keys, catalog, clock, tmp_path
):
    clock.set(vn(11, 26, 9))
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(catalog.data_dir)]
    procedures = tmp_path / "thu-tuc.csv"
    procedures.write_text(
        "department,procedure,procedure_name,limit_hours,cutoff\n"
        "STP,STP-CT,Chứng thực bản sao từ bản chính,,15h\n"
        "STP,STP-NUA,Thủ tục nửa ngày,4,\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, ["import-procedures", str(procedures), *args])
    assert r.exit_code == 0, r.output
    h = Keys.h(keys.stp)

    def due(code: str, procedure: str, received: str) -> str:
        body = {"procedure": procedure, "applicant": "An", "received_at": received}
        r = client.put(f"/api/v1/dossiers/{code}", json={**body, "status": "received"}, headers=h)
        assert r.status_code == 201, r.get_json()
        return r.get_json()["dossier"]["due_at"]

    # Wed 25 Nov 2026: before 15:00 → that day 17:00 (10:00 UTC); after → Thu 26.
    assert due("CT-1", "STP-CT", "25/11/2026 14:30") == "2026-11-25T10:00:00.000000+00:00"
    assert due("CT-2", "STP-CT", "25/11/2026 15:10") == "2026-11-26T10:00:00.000000+00:00"
    # Four working hours from 08:00 → 13:30 + 0.5 h.
    assert due("NUA-1", "STP-NUA", "25/11/2026 08:00") == "2026-11-25T07:00:00.000000+00:00"
    rows = tmp_path / "ho-so.csv"
    rows.write_text(
        "Mã hồ sơ,Mã thủ tục,Người nộp,Ngày tiếp nhận,Trạng thái\n"
        "CT-3,STP-CT,Bình,25/11/2026 14:30,Đã tiếp nhận\n"
        "CT-4,STP-CT,Chi,25/11/2026 15:10,Đã tiếp nhận\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, ["import-dossiers", str(rows), "--no-sms", *args])
    assert r.exit_code == 0, r.stderr
    for code, expected in (("CT-3", "2026-11-25T10:00"), ("CT-4", "2026-11-26T10:00")):
        detail = client.get(f"/api/v1/dossiers/{code}/detail", headers=h).get_json()
        assert detail["dossier"]["due_at"].startswith(expected)


def test_a_bad_cutoff_is_refused_naming_the_column(catalog, tmp_path):
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(catalog.data_dir)]
    f = tmp_path / "thu-tuc.csv"
    f.write_text(
        "department,procedure,procedure_name,cutoff\nSTP,STP-CT,Chứng thực,25:99\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, ["import-procedures", str(f), *args])
    assert r.exit_code == 1 and "'cutoff'" in r.output
