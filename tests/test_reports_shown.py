"""What a supervisor reads of a report is Vietnamese (issue 16.8): words for codes,
local time, Vietnamese numbers, shares with two decimals rounded half up — in the
downloaded CSV and XLSX and in the tables the report page shows.  The JSON API keeps
its codes and ISO times."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from server.reports.shown import number, percent
from server.reports.stats import pct
from tests.test_reports_api import Q, rated_day

__all__ = ["rated_day"]

#: What a person must never read: machine codes, ISO dates, UTC instants, sheet keys.
RAW = re.compile(
    r"long_wait|unclear_guidance|attitude|\bbreak\b|\bmeeting\b|very_satisfied|"
    r"\d{4}-\d{2}-\d{2}|\+00:00|\btotals\b|by_service|by_staff|\bdirect\b|\bonline\b"
)


def test_shares_have_two_decimals_rounded_half_up():
    assert pct(1, 800) == 0.13  # 0.125 → 0.13, not float's 0.12
    assert pct(5887, 10000) == 58.87 and pct(2, 3) == 66.67 and pct(1, 3) == 33.33
    assert percent(pct(1, 800)) == "0,13%"
    assert percent(99.68) == "99,68%" and percent(75.0) == "75,00%" and percent(None) == "–"
    assert (
        number(86972) == "86.972" and number(16.6) == "16,6" and number(1234567.5) == "1.234.567,5"
    )


def _cells(raw: bytes) -> list[str]:
    text = raw.decode("utf-8-sig")
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def test_downloaded_csv_reads_in_vietnamese(client, actors, rated_day):
    boss = actors.h(actors.supervisor)
    sat = client.get(f"/api/v1/reports/satisfaction?{Q}&format=csv", headers=boss)
    cells = _cells(sat.data)
    assert cells[:3] == ["Báo cáo mức độ hài lòng", "25/11/2026", "Lập lúc 25/11/2026 10:00"]
    assert "Chờ lâu" in cells and "75,00%" in cells and "Chờ gần một giờ" in cells
    assert "25/11/2026 09:41" in cells  # the comment's time, local
    assert not [c for c in cells if RAW.search(c)], [c for c in cells if RAW.search(c)]
    queue = _cells(client.get(f"/api/v1/reports/queue?{Q}&format=csv", headers=boss).data)
    assert "Nghỉ giải lao" in queue and "Họp" in queue and "16,6" in queue
    assert not [c for c in queue if RAW.search(c)], [c for c in queue if RAW.search(c)]
    month = "from=2026-11-01&to=2026-11-30"
    dossiers = _cells(client.get(f"/api/v1/reports/dossiers?{month}&format=csv", headers=boss).data)
    assert "Từ ngày 01/11/2026 đến ngày 30/11/2026" in dossiers


def test_downloaded_xlsx_reads_in_vietnamese(client, actors, rated_day):
    boss = actors.h(actors.supervisor)
    raw = client.get(f"/api/v1/reports/satisfaction?{Q}&format=xlsx", headers=boss).data
    wb = load_workbook(io.BytesIO(raw))
    assert wb.sheetnames[:3] == ["Thông tin", "Tổng hợp", "Theo cán bộ, công chức"]
    texts = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert not [t for t in texts if RAW.search(t)], [t for t in texts if RAW.search(t)]
    assert "Lập lúc 25/11/2026 10:00" in texts and "Chờ lâu" in texts
    ws = wb["Tổng hợp"]
    header = [c.value for c in ws[2]]
    cell = ws.cell(row=3, column=header.index("% hài lòng trở lên") + 1)
    assert (cell.value, cell.number_format) == (0.75, "0.00%")  # a number: Excel shows 75,00%


def test_the_page_gets_its_tables_as_people_read_them(client, actors, rated_day):
    boss = actors.h(actors.supervisor)
    body = client.get(f"/api/v1/reports/queue?{Q}&format=view", headers=boss).get_json()
    assert body["report"]["pauses"][0]["reason"] == "break"  # the JSON keeps its codes …
    assert body["range"] == "25/11/2026"
    pauses = next(t for t in body["tables"] if t["key"] == "pauses")
    assert pauses["title"] == "Tạm nghỉ theo lý do"
    shown = [c for row in pauses["rows"] for c in row]
    assert "Nghỉ giải lao" in shown and not [c for c in shown if RAW.search(c)]  # … not the page
    openapi = client.get("/api/v1/openapi.json").get_json()
    params = openapi["paths"]["/reports/{kind}"]["get"]["parameters"]
    assert "view" in next(p for p in params if p["name"] == "format")["schema"]["enum"]
