"""Issue 16, item 20: files from the provincial system carry "Ngày có kết quả" (result
ready) and "Ngày trả kết quả" (returned).  Both are imported and kept, and they — not
the moment of the import — decide early / on time / late in the dossier report."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from server.dossiers.importer import run_import
from tests.conftest import TZ
from tests.dossier_fixtures import Keys, catalog, dossier, events, keys
from tests.test_dossier_import import to_cp1258

__all__ = ["catalog", "keys"]

HEADER = [
    "Mã hồ sơ",
    "Mã thủ tục",
    "Người nộp",
    "Ngày tiếp nhận",
    "Ngày hẹn trả",
    "Trạng thái",
    "Ngày có kết quả",
    "Ngày trả kết quả",
]
#: due 10/11/2026 (end of that day); received 02/11; the import runs on 25/11.
ROWS = [
    ["{p}-1", "STP-LLTP", "Nguyễn Văn Sớm", "02/11/2026 08:30", "10/11/2026", "Đã xử lý xong",
     "05/11/2026", ""],
    ["{p}-2", "STP-LLTP", "Trần Thị Đúng", "02/11/2026 08:30", "10/11/2026", "Đã trả kết quả",
     "10/11/2026 15:00", "11/11/2026 09:15"],
    ["{p}-3", "STP-LLTP", "Lê Văn Trễ", "02/11/2026 08:30", "10/11/2026", "Đã trả kết quả",
     "12/11/2026", "13/11/2026 10:00"],
    ["{p}-4", "STP-LLTP", "Phạm Thị Trả", "02/11/2026 08:30", "10/11/2026", "Đã trả kết quả",
     "", "09/11/2026 16:00"],
]  # fmt: skip


def csv_text(prefix: str) -> str:
    lines = [",".join(HEADER)]
    lines += [",".join(c.replace("{p}", prefix) for c in row) for row in ROWS]
    return "\n".join(lines) + "\n"


def xlsx_bytes(prefix: str) -> bytes:
    """Dates as Excel dates (what a spreadsheet holds), not text."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for row in ROWS:
        cells: list[object] = [c.replace("{p}", prefix) for c in row]
        for i in (3, 4, 6, 7):
            text = str(cells[i])
            if text:
                fmt = "%d/%m/%Y %H:%M" if ":" in text else "%d/%m/%Y"
                cells[i] = datetime.strptime(text, fmt)
            else:
                cells[i] = None
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FILES = {
    "utf-8": lambda p: ("a.csv", csv_text(p).encode("utf-8")),
    "utf-8 with BOM": lambda p: ("a.csv", b"\xef\xbb\xbf" + csv_text(p).encode("utf-8")),
    "windows-1258": lambda p: ("a.csv", to_cp1258(csv_text(p))),
    "xlsx": lambda p: ("a.xlsx", xlsx_bytes(p)),
}


def local(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(TZ) if text else None


@pytest.mark.parametrize("kind", list(FILES))
def test_result_and_return_dates_are_kept_and_decide_timeliness(catalog, kind):
    name, raw = FILES[kind]("KQ")
    report = run_import(catalog.db, catalog.cfg, name, raw, actor="t", now=catalog.now())
    assert report.committed and report.rejected_total == 0, report.rejected
    early, on_time, late, returned = (dossier(catalog, f"KQ-{i}") for i in (1, 2, 3, 4))
    assert early["status"] == "resolved" and early["timeliness"] == "early"
    assert local(early["finished_at"]).date() == datetime(2026, 11, 5).date()
    assert early["returned_at"] is None
    assert on_time["timeliness"] == "on_time"
    assert local(on_time["finished_at"]) == datetime(2026, 11, 10, 15, 0, tzinfo=TZ)
    assert local(on_time["returned_at"]) == datetime(2026, 11, 11, 9, 15, tzinfo=TZ)
    assert late["timeliness"] == "late"
    assert local(late["finished_at"]).date() == datetime(2026, 11, 12).date()
    assert local(late["returned_at"]) == datetime(2026, 11, 13, 10, 0, tzinfo=TZ)
    # only a return date: the result was ready by then at the latest
    assert returned["timeliness"] == "early"
    assert local(returned["finished_at"]) == local(returned["returned_at"])
    timeline = events(catalog, "KQ-2")
    assert [e["status"] for e in timeline][-2:] == ["resolved", "returned"]
    assert [local(e["at"]) for e in timeline][-2:] == [
        datetime(2026, 11, 10, 15, 0, tzinfo=TZ),
        datetime(2026, 11, 11, 9, 15, tzinfo=TZ),
    ]


def test_the_dossier_report_counts_them_in_their_own_month(client, catalog, actors):
    name, raw = FILES["utf-8"]("KQ")
    run_import(catalog.db, catalog.cfg, name, raw, actor="t", now=catalog.now())
    h = actors.h(actors.supervisor)
    body = client.get("/api/v1/reports/dossiers?from=2026-11-01&to=2026-11-30", headers=h)
    totals = body.get_json()["totals"]
    assert (totals["early"], totals["on_time"], totals["late"]) == (2, 1, 1)


def test_a_result_date_before_receipt_is_refused_with_the_line(catalog):
    text = (
        "Mã hồ sơ,Mã thủ tục,Ngày tiếp nhận,Trạng thái,Ngày có kết quả,Ngày trả kết quả\n"
        "KQ-9,STP-LLTP,10/11/2026 08:00,Đã trả kết quả,05/11/2026,11/11/2026\n"
        "KQ-8,STP-LLTP,10/11/2026 08:00,Đã trả kết quả,12/11/2026,11/11/2026\n"
    )
    report = run_import(
        catalog.db, catalog.cfg, "b.csv", text.encode(), actor="t", now=catalog.now(),
        policy="skip-bad",
    )  # fmt: skip
    assert [(r.line, r.error) for r in report.rejected] == [(2, "out_of_order"), (3, "bad_field")]


def test_a_return_dated_today_is_not_in_the_future(catalog):
    """A bare date means the day's closing time; returned "today" at 09:00 is by now."""
    text = (
        "Mã hồ sơ,Mã thủ tục,Ngày tiếp nhận,Trạng thái,Ngày trả kết quả\n"
        "KQ-7,STP-LLTP,24/11/2026 08:00,Đã trả kết quả,25/11/2026\n"
    )
    report = run_import(
        catalog.db, catalog.cfg, "c.csv", text.encode(), actor="t", now=catalog.now()
    )
    assert report.committed and report.rejected_total == 0, report.rejected
    assert local(dossier(catalog, "KQ-7")["returned_at"]) == catalog.now().astimezone(TZ)


def test_a_department_put_carries_the_same_dates(client, catalog, keys):
    body = {
        "procedure": "STP-LLTP",
        "received_at": "02/11/2026 08:30",
        "due_at": "10/11/2026",
        "status": "returned",
        "result_at": "09/11/2026 10:00",
        "returned_at": "12/11/2026 08:00",
    }
    r = client.put(
        "/api/v1/dossiers/000.00.06.H56-261102-0001", json=body, headers=Keys.h(keys.stp)
    )
    assert r.status_code in (200, 201), r.get_json()
    d = dossier(catalog, "000.00.06.H56-261102-0001")
    assert d["timeliness"] == "early"
    assert local(d["finished_at"]) == datetime(2026, 11, 9, 10, 0, tzinfo=TZ)
    assert local(d["returned_at"]) == datetime(2026, 11, 12, 8, 0, tzinfo=TZ)
