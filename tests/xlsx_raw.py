"""Workbooks written by hand, row by row, in a few milliseconds: a million-row sheet or a
sheet that inflates to megabytes, as an attacker would make them (openpyxl is far too
slow to write them, and would not write a lying one)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

_TYPES = b"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
_RELS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = b"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="ho_so" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WB_RELS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _row(number: int, cells: list[str], bare: bool) -> bytes:
    if bare:  # no references: every row after the header is the same bytes
        inner = "".join(f'<c t="inlineStr"><is><t>{escape(v)}</t></is></c>' for v in cells)
        return f"<row>{inner}</row>".encode()
    out = [f'<row r="{number}">']
    for i, value in enumerate(cells):
        out.append(f'<c r="{_col(i)}{number}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
    out.append("</row>")
    return "".join(out).encode()


def sheet_xml(rows: Iterable[list[str]], tail: bytes = b"", bare: bool = False) -> Iterator[bytes]:
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>"
    )
    for number, cells in enumerate(rows, start=1):
        yield _row(number, cells, bare)
    yield tail + b"</sheetData></worksheet>"


def xlsx(rows: Iterable[list[str]], *, tail: bytes = b"", bare: bool = False) -> bytes:
    """A workbook whose first sheet holds ``rows`` (the first is the header); ``bare``
    rows carry no cell references, so identical rows compress to almost nothing (issue
    15's attack: 1,000,000 rows in 141 KiB)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for chunk in sheet_xml(rows, tail, bare):
                sheet.write(chunk)
    return out.getvalue()


def one_cell_rows(n: int, header: list[str]) -> Iterator[list[str]]:
    """The attack of issue 15: a header, then ``n`` rows of one cell each."""
    yield header
    for i in range(n):
        yield [f"X-{i}"]


def same_cell_rows(n: int, header: list[str]) -> Iterator[list[str]]:
    """A header, then ``n`` identical one-cell rows."""
    yield header
    for _ in range(n):
        yield ["X"]
