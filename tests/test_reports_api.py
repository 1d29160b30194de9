"""Reports over HTTP: the satisfaction figures, roles, clear 400s, and CSV/XLSX files
that hold exactly the JSON's numbers."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from server import ratings
from server.reports import satisfaction_report
from server.reports.period import Period
from tests.reports_fixtures import TZ, at, build_day, staff_accounts

Q = "from=2026-11-25&to=2026-11-25"


@pytest.fixture
def rated_day(ctx):
    """The fixture day plus ratings: A very satisfied (pad), B satisfied (phone),
    C unsatisfied for waiting too long (with a comment), D very satisfied (phone)."""
    staff_accounts(ctx.db, ctx.now())
    day = build_day(ctx.db, ctx.cfg)
    T = day.tickets

    def rate(key, level, when, **kw):
        ratings.rate(ctx.db, ctx.cfg, token=T[key]["token"], level=level, now=when, **kw)

    rate("A", "very_satisfied", at(9, 21), pad_counter=1)
    rate("B", "satisfied", at(9, 33))
    rate("C", "unsatisfied", at(9, 41), reason="long_wait", reason_text="Chờ gần một giờ")
    rate("D", "very_satisfied", at(9, 52))
    ctx.clock.set(day.end)
    return day


def test_satisfaction_figures_by_level_staff_counter_and_reason(ctx, rated_day):
    r = satisfaction_report(
        ctx.db, ctx.cfg, Period(date(2026, 11, 25), date(2026, 11, 25), TZ), rated_day.end
    )
    assert r["totals"] == {
        "count": 4,
        "very_satisfied": 2,
        "satisfied": 1,
        "unsatisfied": 1,
        "pct_very_satisfied": 50.0,
        "pct_satisfied": 25.0,
        "pct_unsatisfied": 25.0,
        "pct_satisfied_or_better": 75.0,
    }
    staff = {s["staff"]: s for s in r["by_staff"]}
    assert staff["staff1"]["count"] == 3 and staff["staff1"]["pct_satisfied_or_better"] == 100.0
    assert staff["staff1"]["pct_very_satisfied"] == 66.67
    assert staff["staff2"]["unsatisfied"] == 1 and staff["staff2"]["full_name"] == "Trần Thị Bình"
    counters = {c["counter"]: c for c in r["by_counter"]}
    assert (counters[1]["count"], counters[2]["count"]) == (3, 1)
    assert {s["service"]: s["count"] for s in r["by_service"]} == {"DD": 4}  # C ended in DD
    reasons = {x["reason"]: x for x in r["reasons"]}
    assert reasons["long_wait"] == {
        "reason": "long_wait",
        "label": "Chờ lâu",
        "count": 1,
        "pct": 100.0,
    }
    assert reasons["attitude"]["count"] == 0
    assert [(d["day"], d["count"]) for d in r["by_day"]] == [("2026-11-25", 4)]
    assert r["comments"][0]["text"] == "Chờ gần một giờ"
    assert r["comments"][0]["ticket"] == rated_day.tickets["C"]["label"]


def test_reports_need_a_supervisor(client, actors):
    assert client.get(f"/api/v1/reports/queue?{Q}").status_code == 401
    r = client.get(f"/api/v1/reports/queue?{Q}", headers=actors.h(actors.staff[1]))
    assert r.status_code == 403
    r = client.get(f"/api/v1/reports/queue?{Q}", headers=actors.h(actors.kiosk))
    assert r.status_code == 403
    for token in (actors.supervisor, actors.admin):
        assert client.get(f"/api/v1/reports/queue?{Q}", headers=actors.h(token)).status_code == 200
    assert client.get("/api/v1/reports/live", headers=actors.h(actors.staff[1])).status_code == 403


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-02-30", "bad_date"),
        ("from=hôm-nay", "bad_date"),
        ("from=2026-11-25&to=2026-11-01", "bad_range"),
        ("from=2024-01-01&to=2026-01-01", "range_too_long"),
        (f"{Q}&format=pdf", "bad_format"),
        (f"{Q}&lang=fr", "bad_lang"),
    ],
)
def test_bad_queries_are_clear_400s(client, actors, query, code):
    r = client.get(f"/api/v1/reports/queue?{query}", headers=actors.h(actors.supervisor))
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == code and err["message"]


def test_unknown_report_is_404(client, actors):
    r = client.get(f"/api/v1/reports/money?{Q}", headers=actors.h(actors.supervisor))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_report"


def _flat(row, prefix=""):
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = ", ".join(map(str, v)) if isinstance(v, list) else v
    return out


def _json_tables(report):
    """{table key: list of flattened rows} of a report's JSON."""
    out = {}
    for key, value in report.items():
        if isinstance(value, dict):
            out[key] = [_flat(value)]
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            out[key] = [_flat(v) for v in value]
    return out


def _blank_none(value):
    """openpyxl reads an empty text cell back as None."""
    return None if value == "" else value


def _csv_sections(raw: bytes):
    text = raw.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    sections, i = {}, 4  # title, range, made at, blank
    while i < len(rows):
        title, header = rows[i][0], rows[i + 1]
        j = i + 2
        body = []
        while j < len(rows) and rows[j]:
            body.append(rows[j])
            j += 1
        sections[title] = (header, body)
        i = j + 1
    return sections


@pytest.mark.parametrize("kind", ["queue", "satisfaction"])
def test_csv_and_xlsx_hold_the_same_numbers_as_json(client, actors, rated_day, kind):
    from server.reports.shown import cell_text, cell_xlsx
    from server.reports.tables import tables

    h = actors.h(actors.supervisor)
    report = client.get(f"/api/v1/reports/{kind}?{Q}", headers=h).get_json()
    expected = _json_tables(report)
    layout = {tbl.key: tbl for tbl in tables(report)}
    assert set(layout) == set(expected)

    r = client.get(f"/api/v1/reports/{kind}?{Q}&format=csv", headers=h)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert f"bao-cao-{kind}-2026-11-25_2026-11-25.csv" in r.headers["Content-Disposition"]
    sections = _csv_sections(r.data)
    for key, rows in expected.items():
        tbl = layout[key]
        label = dict(zip(tbl.columns, tbl.labels, strict=True))
        header, body = sections[tbl.title]
        assert sorted(header) == sorted(tbl.labels)
        assert len(body) == len(rows)
        for line, row in zip(body, rows, strict=True):
            want = {label[c]: cell_text(c, v, "vi", TZ) for c, v in row.items() if c in label}
            assert dict(zip(header, line, strict=True)) == want, key

    r = client.get(f"/api/v1/reports/{kind}?{Q}&format=xlsx", headers=h)
    assert r.status_code == 200 and r.data[:2] == b"PK"
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames[0] == "Thông tin"
    for key, rows in expected.items():
        tbl = layout[key]
        label = dict(zip(tbl.columns, tbl.labels, strict=True))
        values = list(wb[tbl.title[:31]].iter_rows(values_only=True))
        assert values[0][0] == tbl.title
        header = list(values[1])
        assert len(values) - 2 == len(rows)
        for line, row in zip(values[2:], rows, strict=True):
            want = {
                label[c]: _blank_none(cell_xlsx(c, v, "vi", TZ)[0])
                for c, v in row.items()
                if c in label
            }
            assert dict(zip(header, line, strict=True)) == want, key


def test_queue_csv_reads_like_the_hand_computed_day(client, actors, rated_day):
    r = client.get(f"/api/v1/reports/queue?{Q}&format=csv", headers=actors.h(actors.supervisor))
    header, body = _csv_sections(r.data)["Tổng hợp"]
    row = dict(zip(header, body[0], strict=True))
    assert (row["Phiếu cấp"], row["Đã phục vụ"], row["Vắng mặt"], row["Huỷ"]) == (
        "7",
        "4",
        "1",
        "1",
    )
    assert (row["Chờ TB (phút)"], row["Phục vụ TB (phút)"]) == ("16,6", "12,5")
    header, body = _csv_sections(r.data)["Theo cán bộ, công chức"]
    names = [dict(zip(header, line, strict=True))["Cán bộ, công chức"] for line in body]
    assert names == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"]


def test_english_files_have_english_labels(client, actors, rated_day):
    r = client.get(
        f"/api/v1/reports/satisfaction?{Q}&format=xlsx&lang=en", headers=actors.h(actors.supervisor)
    )
    wb = load_workbook(io.BytesIO(r.data))
    assert wb["Totals"]["A1"].value == "Totals"
    assert "% satisfied or better" in [c.value for c in wb["Totals"][2]]


def test_live_report_is_today_so_far(client, actors, rated_day):
    r = client.get("/api/v1/reports/live", headers=actors.h(actors.supervisor))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    live = r.get_json()
    assert live["day"] == "2026-11-25"
    assert (live["totals"]["issued"], live["totals"]["served"]) == (7, 4)
    assert live["waiting_total"] == 1 and live["waiting"][0]["service"] == "DD"
    counters = {c["number"]: c for c in live["counters"]}
    assert (counters[2]["state"], counters[2]["pause_reason"]) == ("paused", "meeting")
    assert counters[1]["served"] == 3 and counters[1]["serving_label"] is None
    assert live["satisfaction"]["pct_satisfied_or_better"] == 75.0
