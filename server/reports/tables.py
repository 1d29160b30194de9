"""The same report as tables, for CSV and XLSX downloads and the report page.

A report dict holds a one-row summary (``totals``) and lists of rows (``by_service``,
``by_counter`` …).  Each becomes one table whose columns are the flattened keys
(``wait.mean_min``), labelled from the i18n catalog, so a file shows exactly the
numbers the JSON has — there is no second computation to drift.  What a person reads
of each cell (words for codes, local time, Vietnamese numbers) comes from ``shown``."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ..cells import inert
from ..i18n import catalog
from ..i18n import t as text
from . import shown

CENTER_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

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
        columns = shown.columns(rows)
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


def _heading(report: dict[str, Any], lang: str, tz: ZoneInfo) -> list[list[str]]:
    """The report's name, its range (or day) and when it was made, in local time."""
    lines = [[_title(report.get("report", ""), lang)], [shown.range_text(report, lang)]]
    made = shown.generated_text(report, lang, tz)
    return lines + ([[made]] if made else [])


def view(report: dict[str, Any], lang: str = "vi", tz: ZoneInfo = CENTER_TZ) -> dict[str, Any]:
    """What the report page shows of a report: its heading and each table's title,
    column labels and cells, as a person reads them."""
    return {
        "range": shown.range_text(report, lang),
        "generated": shown.generated_text(report, lang, tz),
        "tables": [
            {
                "key": tbl.key,
                "title": tbl.title,
                "labels": tbl.labels,
                "numeric": [
                    any(
                        isinstance(r[i], int | float) and not isinstance(r[i], bool)
                        for r in tbl.rows
                    )
                    for i in range(len(tbl.columns))
                ],
                "rows": [
                    [shown.cell_text(c, v, lang, tz) for c, v in zip(tbl.columns, row, strict=True)]
                    for row in tbl.rows
                ],
            }
            for tbl in tables(report, lang)
        ],
    }


def to_csv(report: dict[str, Any], lang: str = "vi", tz: ZoneInfo = CENTER_TZ) -> bytes:
    """UTF-8 with a BOM (so spreadsheet programs read Vietnamese correctly); one section
    per table: its title, the header row, the rows, a blank line."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerows(_heading(report, lang, tz))
    w.writerow([])
    for tbl in tables(report, lang):
        w.writerow([tbl.title])
        w.writerow(tbl.labels)
        w.writerows(
            [inert(shown.cell_text(c, v, lang, tz)) for c, v in zip(tbl.columns, row, strict=True)]
            for row in tbl.rows
        )
        w.writerow([])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    """A sheet name from a table's title: Excel allows 31 characters, none of []:*?/\\,
    and no two alike (case aside)."""
    base = _SHEET_BAD.sub(" ", title).strip()[:31] or "Bảng"
    name, n = base, 2
    while name.casefold() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.casefold())
    return name


def to_xlsx(report: dict[str, Any], lang: str = "vi", tz: ZoneInfo = CENTER_TZ) -> bytes:
    """One sheet per table, named by its title (title in row 1, header in row 2, data
    from row 3); numbers stored as numbers with Vietnamese-readable formats."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    info = wb.active
    assert info is not None
    used: set[str] = set()
    info.title = _sheet_name(text("reports.sheet_info", lang), used)
    for row in _heading(report, lang, tz):
        info.append(row)
    info["A1"].font = Font(bold=True, size=14)
    bold = Font(bold=True)
    for tbl in tables(report, lang):
        ws = wb.create_sheet(_sheet_name(tbl.title, used))
        ws.append([tbl.title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(tbl.labels)
        for cell in ws[2]:
            cell.font = bold
        widths = [len(str(label)) for label in tbl.labels]
        for row in tbl.rows:
            cells = [shown.cell_xlsx(c, v, lang, tz) for c, v in zip(tbl.columns, row, strict=True)]
            ws.append([value for value, _ in cells])
            for cell, (value, fmt) in zip(ws[ws.max_row], cells, strict=True):
                if fmt is not None:
                    cell.number_format = fmt
                elif cell.data_type == "f":  # a text that starts with "=": keep it text
                    cell.data_type = "s"
                if ws.max_row < 203:
                    i = cell.column - 1
                    widths[i] = max(widths[i], len(str(value)) + (4 if fmt else 0))
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = min(60, width + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
