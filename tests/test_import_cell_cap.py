"""No cell longer than ``dossiers.imports.max_cell_chars`` (issue 15, freeze 3 re-check):
a small XLSX holding one giant cell — inline or in the shared strings — or a CSV with
a giant field ends as a failed job with a Vietnamese reason naming where, refused
before the cell's text is built whole."""

from __future__ import annotations

import io
import zipfile

import pytest

from server.config import ConfigError
from tests.dossier_fixtures import Keys, catalog, keys
from tests.test_import_jobs import finished, upload, with_imports
from tests.xlsx_raw import xlsx

__all__ = ["catalog", "keys"]

HEADER = ["code", "status", "note"]
BIG = 5 * 1024 * 1024

_SST_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)


def _shared_string_workbook(text: str) -> bytes:
    """A workbook whose B2 cell points at one shared string: ``text``."""
    base = zipfile.ZipFile(io.BytesIO(xlsx([HEADER, ["A-1", "received", "x"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in base.infolist():
            data = base.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", _SST_TYPE)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<c r="C2" t="inlineStr"><is><t>x</t></is></c>',
                    b'<c r="C2" t="s"><v>0</v></c>',
                )
            z.writestr(item.filename, data)
        z.writestr(
            "xl/sharedStrings.xml",
            '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>',
        )
    return out.getvalue()


def _failed(client, keys, raw: bytes, name: str) -> dict:
    r = upload(client, Keys.h(keys.stp), raw, name)
    if r.status_code == 400:  # refused at once: as good as a failed job
        return {"status": "failed", "error": r.get_json()["error"]}
    assert r.status_code == 202, r.get_json()
    job = finished(client, Keys.h(keys.stp), r.get_json()["job"])
    assert job["status"] == "failed", job
    return job


def test_a_giant_inline_cell_fails_the_job_naming_the_cap(client, catalog, keys):
    raw = xlsx([HEADER, ["A-1", "received", "N" * BIG]])
    assert len(raw) < 64 * 1024  # a few KiB as uploaded
    job = _failed(client, keys, raw, "ho-so.xlsx")
    assert job["error"]["code"] == "cell_too_long"
    assert "4.000 ký tự" in job["error"]["message"]
    assert "sheet1.xml" in job["error"]["message"]


def test_a_giant_shared_string_fails_the_job(client, catalog, keys):
    job = _failed(client, keys, _shared_string_workbook("N" * BIG), "ho-so.xlsx")
    assert job["error"]["code"] == "cell_too_long"
    assert "sharedStrings.xml" in job["error"]["message"]


def test_a_cell_just_over_the_cap_is_named_by_row_and_column(client, catalog, keys):
    job = _failed(client, keys, xlsx([HEADER, ["A-1", "received", "N" * 4_001]]), "ho-so.xlsx")
    assert job["error"]["code"] == "cell_too_long"
    assert job["error"]["message"].startswith("Ô C2 dài quá 4.000 ký tự")
    job = _failed(client, keys, _shared_string_workbook("N" * 4_001), "ho-so.xlsx")
    assert job["error"]["message"].startswith("Ô C2 dài quá 4.000 ký tự")


@pytest.mark.parametrize("length", [BIG, 4_001])
def test_a_giant_csv_field_fails_the_job_naming_the_line(client, catalog, keys, length):
    raw = b"code,status,note\nA-1,received," + b"N" * length + b"\n"
    job = _failed(client, keys, raw, "ho-so.csv")
    assert job["error"]["code"] == "cell_too_long"
    assert "dòng 2" in job["error"]["message"] and "4.000 ký tự" in job["error"]["message"]


def test_the_cap_is_configurable_and_validated(client, catalog, keys):
    with_imports(catalog, max_cell_chars=10_000)
    r = upload(client, Keys.h(keys.stp), b"code,status,note\nA-1,received," + b"N" * 5_000)
    job = finished(client, Keys.h(keys.stp), r.get_json()["job"])
    assert job["status"] != "failed" or job["error"]["code"] != "cell_too_long", job
    with pytest.raises(ConfigError, match="dossiers.imports.max_cell_chars"):
        with_imports(catalog, max_cell_chars=0)
