"""Importing departments' files: 10,000 rows with a few bad ones under both policies,
dry runs, Windows-1258 and UTF-8-with-BOM files, XLSX, the export round trip, the CLI,
and the supervisors' upload (files kept inside the data dir under a clean name)."""

from __future__ import annotations

import io
import time
import unicodedata
from datetime import datetime

from click.testing import CliRunner
from openpyxl import Workbook

from server.cli import main
from server.dossiers import tables
from server.dossiers.importer import export_rows, run_import
from server.dossiers.jobs import safe_name
from tests.conftest import ROOT, TZ
from tests.dossier_fixtures import catalog, dossier, events, outbox

__all__ = ["catalog"]

HEADER = "Mã hồ sơ,Mã thủ tục,Người nộp,Số điện thoại,Hình thức,Ngày tiếp nhận,Trạng thái,Giấy tờ cần bổ sung\n"
#: line number in the file → why the row is bad (line 1 is the header)
BAD = {
    101: ("BAD-STATUS", "STP-LLTP", "0912000101", "xong rồi", ""),
    2002: ("BAD-PHONE", "STP-LLTP", "12", "Đã tiếp nhận", ""),
    5003: ("BAD-PROC", "KHONG-CO", "0912000103", "Đã tiếp nhận", ""),
    7004: ("BAD-SUPP", "STP-LLTP", "0912000104", "Yêu cầu bổ sung", ""),
}


def big_csv(n: int = 10_000) -> bytes:
    lines = [HEADER]
    for line in range(2, n + 2):
        if line in BAD:
            code, proc, phone, status, missing = BAD[line]
        else:
            code, proc, phone = f"000.00.06.H56-261120-{line:05d}", "STP-LLTP", f"09{line:08d}"
            status = ("Đã tiếp nhận", "Đang xử lý", "dang_xu_ly", "Yêu cầu bổ sung")[line % 4]
            missing = "Bản sao CCCD" if line % 4 == 3 else ""
        lines.append(
            f"{code},{proc},Trần Thị Bích {line},{phone},Trực tiếp,20/11/2026 08:30,{status},{missing}\n"
        )
    return "".join(lines).encode("utf-8")


def test_ten_thousand_rows_skip_bad_saves_the_good_ones(catalog):
    report = run_import(
        catalog.db,
        catalog.cfg,
        "big.csv",
        big_csv(),
        actor="t",
        now=catalog.now(),
        policy="skip-bad",
        notify=False,
    )
    assert report.rows == 10_000 and report.accepted == 9_996 and report.committed
    assert [(r.line, r.code) for r in report.rejected] == [
        (101, "BAD-STATUS"),
        (2002, "BAD-PHONE"),
        (5003, "BAD-PROC"),
        (7004, "BAD-SUPP"),
    ]
    reasons = [r.reason for r in report.rejected]
    assert "Không nhận ra trạng thái hồ sơ “xong rồi”" in reasons[0]
    assert "Số điện thoại “12” không hợp lệ" in reasons[1]
    assert "Chưa có thủ tục KHONG-CO" in reasons[2]
    assert "giấy tờ cần bổ sung" in reasons[3]
    d = dossier(catalog, "000.00.06.H56-261120-00004")
    assert d["status"] == "received" and d["applicant"] == "Trần Thị Bích 4"
    assert [e["status"] for e in events(catalog, "000.00.06.H56-261120-00006")] == [
        "received",
        "in_progress",
    ]
    assert outbox(catalog) == []  # --no-sms


def test_ten_thousand_rows_all_or_nothing_saves_nothing(catalog):
    report = run_import(catalog.db, catalog.cfg, "big.csv", big_csv(), actor="t", now=catalog.now())
    assert report.policy == "all-or-nothing" and not report.committed
    assert len(report.rejected) == 4 and report.accepted == 9_996
    with catalog.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM dossier").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM notification").fetchone()[0] == 0


def test_a_dry_run_reports_everything_and_saves_nothing(catalog):
    raw = (
        HEADER.encode()
        + "A-1,STP-LLTP,Lê Văn Tám,0912345678,Trực tuyến,20/11/2026,Đã tiếp nhận,\n".encode()
    )
    report = run_import(
        catalog.db, catalog.cfg, "a.csv", raw, actor="t", now=catalog.now(), dry_run=True
    )
    assert report.accepted == 1 and report.created == 1 and not report.committed
    assert report.notifications == 0
    with catalog.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM dossier").fetchone()[0] == 0


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """What Windows-1258 software writes: the letter with its vowel mark (â, ơ, ư …)
    precomposed, then the tone as a combining mark ("ậ" → "â" + dot below)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
            out += base.encode("cp1258")
            out += "".join(c for c in parts if c in TONE_MARKS).encode("cp1258")
    return bytes(out)


def test_windows_1258_and_utf8_bom_files_read_the_same_names(catalog):
    text = (
        "code;procedure;applicant;phone;status;note\n"
        "CP-1;STP-LLTP;Nguyễn Thị Ngọc Ánh;0912345678;Đang xử lý;Đã chuyển phòng chuyên môn\n"
        "CP-2;STP-LLTP;Phạm Hữu Đức;0987654321;Đã tiếp nhận;\n"
    )
    cp = run_import(
        catalog.db, catalog.cfg, "cp.csv", to_cp1258(text), actor="t", now=catalog.now()
    )
    assert cp.encoding == "cp1258" and cp.committed and not cp.rejected
    assert dossier(catalog, "CP-1")["applicant"] == "Nguyễn Thị Ngọc Ánh"
    assert events(catalog, "CP-1")[-1]["note"] == "Đã chuyển phòng chuyên môn"
    bom = run_import(
        catalog.db,
        catalog.cfg,
        "bom.csv",
        b"\xef\xbb\xbf" + text.replace("CP-", "BOM-").encode("utf-8"),
        actor="t",
        now=catalog.now(),
    )
    assert bom.encoding == "utf-8-sig" and bom.committed and not bom.rejected
    assert dossier(catalog, "BOM-2")["applicant"] == "Phạm Hữu Đức"


def test_an_xlsx_file_with_real_dates_and_numeric_phones(catalog):
    wb = Workbook()
    ws = wb.active
    ws.append(
        ["Mã hồ sơ", "Mã thủ tục", "Người nộp", "Số điện thoại", "Ngày tiếp nhận", "Trạng thái"]
    )
    ws.append(
        ["XL-1", "STP-LLTP", "Võ Thị Sáu", 912345678, datetime(2026, 11, 24, 8, 0), "Đang xử lý"]
    )
    ws.append(
        ["XL-2", "STP-LLTP", "Hồ Văn Hai", "0987654321", datetime(2026, 11, 23, 14, 0), "received"]
    )
    buf = io.BytesIO()
    wb.save(buf)
    report = run_import(
        catalog.db, catalog.cfg, "x.xlsx", buf.getvalue(), actor="t", now=catalog.now()
    )
    assert report.format == "xlsx" and report.accepted == 2, report.rejected
    d = dossier(catalog, "XL-1")
    assert d["phone"] == "0912345678"
    assert datetime.fromisoformat(d["received_at"]).astimezone(TZ) == datetime(
        2026, 11, 24, 8, 0, tzinfo=TZ
    )


def test_export_then_import_changes_nothing(catalog, clock):
    raw = big_csv(200)
    run_import(
        catalog.db, catalog.cfg, "a.csv", raw, actor="t", now=catalog.now(), policy="skip-bad"
    )
    clock.advance(hours=2)
    for fmt, body in (
        ("csv", tables.write_csv(export_rows(catalog.db, catalog.cfg))),
        ("xlsx", tables.write_xlsx(export_rows(catalog.db, catalog.cfg))),
    ):
        again = run_import(catalog.db, catalog.cfg, f"e.{fmt}", body, actor="t", now=catalog.now())
        assert again.committed and not again.rejected, again.rejected[:3]
        assert again.unchanged == 199 and again.events == 0 and again.created == 0


def test_cli_import_reports_rejected_rows_and_exits_1(tmp_path):
    runner = CliRunner()
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(tmp_path / "data")]
    catalog_file = tmp_path / "thu-tuc.csv"
    catalog_file.write_text(
        "department,department_name,procedure,procedure_name,limit_days\n"
        "STP,Sở Tư pháp,STP-LLTP,Cấp Phiếu lý lịch tư pháp,10\n",
        encoding="utf-8",
    )
    r = runner.invoke(main, ["import-procedures", str(catalog_file), *args])
    assert r.exit_code == 0, r.output
    f = tmp_path / "ho-so.csv"
    f.write_bytes(big_csv(120))
    dry = runner.invoke(main, ["import-dossiers", str(f), "--dry-run", *args])
    assert dry.exit_code == 1
    assert "line 101 (BAD-STATUS)" in dry.stderr and "dry run: nothing saved" in dry.stderr
    ok = runner.invoke(main, ["import-dossiers", str(f), "--policy", "skip-bad", "--no-sms", *args])
    assert "119 accepted" in ok.stderr and " saved in " in ok.stderr
    out = runner.invoke(main, ["export-dossiers", *args])
    assert out.exit_code == 0 and out.stdout.count("000.00.06.H56-261120-") == 119


def test_safe_names_stay_plain():
    assert safe_name("../../Hồ sơ tháng 11.csv") == "Ho_so_thang_11.csv"
    assert safe_name("..\\..\\evil.XLSX") == "evil.xlsx"
    assert safe_name("") == "tep"


def test_supervisors_upload_with_progress_and_a_report(client, catalog, actors):
    raw = big_csv(300)
    r = client.post(
        "/api/v1/dossiers/imports",
        data={"file": (io.BytesIO(raw), "../../Hồ sơ tháng 11.csv"), "policy": "skip-bad"},
        headers=actors.h(actors.supervisor),
        content_type="multipart/form-data",
    )
    assert r.status_code == 202, r.get_json()
    job = r.get_json()["job"]
    deadline = time.time() + 30
    while job["status"] == "running" and time.time() < deadline:
        time.sleep(0.05)
        job = client.get(
            f"/api/v1/dossiers/imports/{job['id']}", headers=actors.h(actors.supervisor)
        ).get_json()["job"]
    assert job["status"] == "done" and job["processed"] == job["total"] == 300
    report = job["report"]
    assert report["committed"] and report["accepted"] == 299
    assert report["rejected"] == [
        {
            "line": 101,
            "code": "BAD-STATUS",
            "reason": "Không nhận ra trạng thái hồ sơ “xong rồi”.",
            "error": "unknown_status",
        }
    ]
    stored = list((catalog.data_dir / "imports").iterdir())
    assert len(stored) == 1 and stored[0].name.endswith("-Ho_so_thang_11.csv")
    staff = client.post(
        "/api/v1/dossiers/imports",
        data={"file": (io.BytesIO(raw), "a.csv")},
        headers=actors.h(actors.staff[1]),
        content_type="multipart/form-data",
    )
    assert staff.status_code == 403
    exe = client.post(
        "/api/v1/dossiers/imports",
        data={"file": (io.BytesIO(b"MZ"), "tool.exe")},
        headers=actors.h(actors.supervisor),
        content_type="multipart/form-data",
    )
    assert exe.status_code == 400 and exe.get_json()["error"]["code"] == "bad_file_type"
