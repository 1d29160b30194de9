"""The dossier report from the dossier area's statistics, including a supervisor's
correction, and the rating ↔ dossier link."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import load_workbook

from server.reports import dossier_report
from server.reports.period import Period
from tests.reports_fixtures import DAY, TZ, at, correct_to_early, dossier_month

NOV = Period(date(2026, 11, 1), date(2026, 11, 30), TZ)
THU_NOON = at(12, 0, DAY + timedelta(days=1))


def test_channels_and_timeliness_then_a_supervisors_correction(ctx):
    codes = dossier_month(ctx.db, ctx.cfg)
    r = dossier_report(ctx.db, ctx.cfg, NOV, THU_NOON)
    tot = r["totals"]
    assert (tot["received"], tot["direct"], tot["online"], tot["postal"]) == (5, 3, 1, 1)
    assert (tot["pct_direct"], tot["pct_online"], tot["pct_postal"]) == (60.0, 20.0, 20.0)
    assert (tot["resolved"], tot["early"], tot["on_time"], tot["late"]) == (4, 2, 1, 1)
    assert tot["pct_early_or_on_time"] == 75.0 and tot["pct_late"] == 25.0
    assert (tot["in_progress"], tot["overdue"]) == (1, 1)
    assert [(c["channel"], c["name"], c["count"]) for c in r["by_channel"]] == [
        ("direct", "Tiếp nhận trực tiếp", 3),
        ("online", "Trực tuyến", 1),
        ("postal", "Qua dịch vụ bưu chính công ích", 1),
    ]
    deps = {d["department"]: d for d in r["by_department"]}
    assert deps["STP"]["name"] == "Sở Tư pháp"
    assert (deps["STP"]["early"], deps["STP"]["late"], deps["STP"]["pct_early_or_on_time"]) == (
        2,
        1,
        66.67,
    )
    assert (deps["SXD"]["on_time"], deps["SXD"]["overdue"]) == (1, 1)
    procs = {p["procedure"]: p for p in r["by_procedure"]}
    assert set(procs) == {"TP.A", "TP.B", "XD.A"} and procs["TP.A"]["late"] == 1

    correct_to_early(ctx.db, ctx.cfg, codes["TP-2"])
    r = dossier_report(ctx.db, ctx.cfg, NOV, THU_NOON)
    tot = r["totals"]
    assert (tot["early"], tot["on_time"], tot["late"], tot["pct_early_or_on_time"]) == (
        3,
        1,
        0,
        100.0,
    )
    assert {d["department"]: d["late"] for d in r["by_department"]} == {"STP": 0, "SXD": 0}


def test_dossier_report_over_http_and_as_xlsx(client, actors, ctx):
    dossier_month(ctx.db, ctx.cfg)
    ctx.clock.set(THU_NOON)
    h = actors.h(actors.supervisor)
    q = "from=2026-11-01&to=2026-11-30"
    body = client.get(f"/api/v1/reports/dossiers?{q}", headers=h).get_json()
    assert body["totals"]["received"] == 5 and body["totals"]["late"] == 1
    r = client.get(f"/api/v1/reports/dossiers?{q}&format=xlsx", headers=h)
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb["Tổng hợp"]
    header = [c.value for c in ws[2]]
    row = dict(zip(header, [c.value for c in ws[3]], strict=True))
    assert (row["Hồ sơ tiếp nhận"], row["Trễ hạn"], row["% trước hạn và đúng hạn"]) == (5, 1, 0.75)
    share = ws.cell(row=3, column=header.index("% trước hạn và đúng hạn") + 1)
    assert share.number_format == "0.00%"
    deps = list(wb["Theo cơ quan"].iter_rows(min_row=3, values_only=True))
    assert [d[1] for d in deps] == ["Sở Tư pháp", "Sở Xây dựng"]
    assert (
        client.get(f"/api/v1/reports/dossiers?{q}", headers=actors.h(actors.staff[1])).status_code
        == 403
    )


def test_a_rating_carries_the_dossiers_recorded_at_finish(client, actors, issue):
    code = "000.00.06.H56-261125-0042"
    t = issue("DD")
    staff = actors.h(actors.staff[1])
    tid = client.post("/api/v1/counters/1/next", headers=staff).get_json()["ticket"]["id"]
    r = client.post(f"/api/v1/tickets/{tid}/finish", json={"dossiers": [code]}, headers=staff)
    assert r.status_code == 200, r.get_json()
    r = client.post("/api/v1/ratings", json={"ticket": t["token"], "level": "satisfied"})
    assert r.status_code == 201
    assert r.get_json()["rating"]["dossiers"] == [code]
