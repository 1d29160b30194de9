"""Spreadsheet cells stay text however a spreadsheet splits a CSV line (issue 15).

Vietnamese Excel splits CSV on ";" (the list separator of its locale), other tools on
"," or a tab, and such a split ignores our quoting: every piece it could make must be
text, and an import must still give back exactly what was typed."""

from __future__ import annotations

import csv
import io
import re

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from server.cells import inert, restored
from server.dossiers.tables import read_table
from tests.dossier_fixtures import catalog, put

__all__ = ["catalog"]

PAYLOAD = "Nguyen;=cmd|' /C calc'!A0;"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _pieces(line: str) -> list[str]:
    """Every cell a naive split of one line on ";", "," or a tab could produce, as a
    spreadsheet reads it (an opening quote and spaces taken off)."""
    return [p.lstrip('" ') for p in re.split(r"[;,\t]", line)]


def test_the_reported_payload_starts_no_cell_when_split_on_a_semicolon():
    out = inert(PAYLOAD)
    assert [p for p in _pieces(out) if p.startswith(FORMULA)] == []
    assert restored(out) == PAYLOAD


def test_a_dossier_export_split_on_any_separator_has_no_formula(client, catalog, actors):
    names = [PAYLOAD, "Trần;+1+1", "Lê,@SUM(A1)", "Phạm, -2+3", "a;'=b"]
    for i, name in enumerate(names):
        put(catalog, f"000.00.06.H56-261125-{i + 1:04d}", applicant=name)
    boss = actors.h(actors.supervisor)
    raw = client.get("/api/v1/dossiers/export?format=csv", headers=boss).get_data()
    text = raw.decode("utf-8-sig")
    for line in text.splitlines():
        assert [p for p in _pieces(line) if p.startswith(FORMULA)] == [], line
    # … and the file read back (what an import does) gives the names as typed.
    table = read_table("export.csv", raw)
    assert sorted(row["applicant"] for _, row in table.rows) == sorted(names)
    xlsx = client.get("/api/v1/dossiers/export?format=xlsx", headers=boss).get_data()
    ws = load_workbook(io.BytesIO(xlsx)).worksheets[0]
    for row in ws.iter_rows(values_only=True):
        for value in row:
            if isinstance(value, str):
                assert [p for p in _pieces(value) if p.startswith(FORMULA)] == [], value
    table = read_table("export.xlsx", xlsx)
    assert sorted(row["applicant"] for _, row in table.rows) == sorted(names)


def test_a_report_csv_keeps_the_payload_inert_in_every_split(client, actors, ctx):
    from server.reports.tables import to_csv

    report = {"report": "satisfaction", "day": "2026-11-25", "rows": [{"reason": PAYLOAD}]}
    text = to_csv(report).decode("utf-8-sig")
    for line in text.splitlines():
        assert [p for p in _pieces(line) if p.startswith(FORMULA)] == [], line
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert restored(inert(PAYLOAD)) in [restored(c) for c in cells]


@given(st.text(alphabet="ab ;,\t\r\n'=+-@\"", max_size=24))
def test_whatever_is_typed_comes_back_after_export_and_import(value):
    out = inert(value)
    assert restored(out) == value
    for piece in re.split(r"[;,\t\r\n]", out):
        assert not piece.lstrip(" ").startswith(FORMULA[:4]), (value, out)
