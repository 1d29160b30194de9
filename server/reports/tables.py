"""The same report as tables, for CSV and XLSX downloads.

A report dict holds a one-row summary (``totals``) and lists of rows (``by_service``,
``by_counter`` …).  Each becomes one table whose columns are the flattened keys
(``wait.mean_min``), labelled from the i18n catalog, so a file shows exactly the
numbers the JSON has — there is no second computation to drift."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from ..cells import inert
from ..i18n import catalog
from ..i18n import t as text

#: Keys of a report that are metadata, not tables.
META = ("report", "from", "to", "days", "generated_at", "day")


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[str]
    labels: list[str]
    rows: list[list[Any]]


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, name + "."))
        elif isinstance(v, list):
            out[name] = ", ".join(str(x) for x in v)
        else:
            out[name] = v
    return out


def _label(key: str, lang: str) -> str:
    name = f"reports.col.{key}"
    return text(name, lang) if name in catalog() else key


def _title(key: str, lang: str) -> str:
    name = f"reports.table.{key}"
    return text(name, lang) if name in catalog() else key


def tables(report: dict[str, Any], lang: str = "vi") -> list[Table]:
    out = []
    for key, value in report.items():
        if key in META:
            continue
        if isinstance(value, dict):
            rows = [_flatten(value)]
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            rows = [_flatten(v) for v in value]
        else:
            continue
        columns: list[str] = []
        for r in rows:
            columns.extend(c for c in r if c not in columns)
        out.append(
            Table(
                key,
                _title(key, lang),
                columns,
                [_label(c, lang) for c in columns],
                [[r.get(c) for c in columns] for r in rows],
            )
        )
    return out


def _heading(report: dict[str, Any], lang: str) -> list[list[str]]:
    name = _title(report.get("report", ""), lang)
    if "from" in report:
        return [
            [name],
            [text("reports.from", lang), report["from"], text("reports.to", lang), report["to"]],
        ]
    return [[name, report.get("day", "")]]


def to_csv(report: dict[str, Any], lang: str = "vi") -> bytes:
    """UTF-8 with a BOM (so spreadsheet programs read Vietnamese correctly); one section
    per table: its title, the header row, the rows, a blank line."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerows(_heading(report, lang))
    w.writerow([])
    for tbl in tables(report, lang):
        w.writerow([tbl.title])
        w.writerow(tbl.labels)
        w.writerows(["" if v is None else inert(v) for v in row] for row in tbl.rows)
        w.writerow([])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any], lang: str = "vi") -> bytes:
    """One sheet per table (title in row 1, header in row 2, data from row 3), numbers
    stored as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    info = wb.active
    assert info is not None
    info.title = text("reports.sheet_info", lang)[:31]
    for row in _heading(report, lang):
        info.append(row)
    info["A1"].font = Font(bold=True, size=14)
    bold = Font(bold=True)
    for tbl in tables(report, lang):
        ws = wb.create_sheet(tbl.key[:31])
        ws.append([tbl.title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(tbl.labels)
        for cell in ws[2]:
            cell.font = bold
        for row in tbl.rows:
            ws.append(row)
            for cell in ws[ws.max_row]:
                if cell.data_type == "f":  # a text that starts with "=": keep it text
                    cell.data_type = "s"
        for i, label in enumerate(tbl.labels, start=1):
            width = max([len(str(label))] + [len(str(r[i - 1] or "")) for r in tbl.rows[:200]])
            ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = min(60, width + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
