"""Reading and writing the spreadsheets departments exchange: CSV and XLSX.

Departments' software exports CSV in UTF-8, UTF-8 with a BOM (what Excel writes and
wants back) or the legacy Windows-1258 code page, whose Vietnamese letters are often
decomposed (base letter + combining tone mark); every cell is normalised to NFC so
"Nguyễn" typed either way is the same name.  Headers may be our column keys or the
Vietnamese labels, with or without diacritics.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from server.cells import inert, restored
from server.dossiers.notices import strip_diacritics
from server.errors import BadRequest

#: Our columns, in export order, with the headers we also accept for each.
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("Mã hồ sơ", "Số hồ sơ", "Mã HS", "Dossier code"),
    "procedure": ("Mã thủ tục", "Mã TTHC", "Procedure code"),
    "procedure_name": ("Tên thủ tục", "Tên TTHC", "Thủ tục hành chính", "Thủ tục"),
    "department": ("Mã đơn vị", "Mã cơ quan", "Đơn vị", "Cơ quan"),
    "applicant": ("Người nộp", "Người nộp hồ sơ", "Chủ hồ sơ", "Họ tên", "Tên công dân"),
    "phone": ("Số điện thoại", "Điện thoại", "SĐT"),
    "channel": ("Hình thức", "Hình thức nộp", "Hình thức tiếp nhận", "Kênh tiếp nhận"),
    "received_at": ("Ngày tiếp nhận", "Ngày nhận", "Thời gian tiếp nhận"),
    "due_at": ("Ngày hẹn trả", "Ngày hẹn trả kết quả", "Hạn giải quyết", "Hạn xử lý"),
    "limit_days": ("Thời hạn giải quyết", "Số ngày giải quyết"),
    "status": ("Trạng thái", "Tình trạng"),
    "status_at": ("Ngày cập nhật", "Thời điểm", "Thời gian cập nhật", "Ngày trạng thái"),
    "note": ("Ghi chú",),
    "missing": ("Giấy tờ cần bổ sung", "Nội dung bổ sung", "Cần bổ sung"),
    "reason": ("Lý do",),
    "new_due_at": ("Ngày hẹn trả mới", "Ngày hẹn mới"),
    "event_id": ("Mã sự kiện",),
    "department_name": ("Tên đơn vị", "Tên cơ quan"),
    "limit_hours": ("Số giờ giải quyết",),
    "cutoff": ("Giờ chốt trả trong ngày", "Giờ chốt trong ngày", "Same-day cut-off"),
    "place": ("Nơi trả kết quả",),
    "contact": ("Liên hệ",),
}
EXPORT_COLUMNS = (
    "code",
    "procedure",
    "procedure_name",
    "department",
    "applicant",
    "phone",
    "channel",
    "received_at",
    "due_at",
    "status",
    "status_at",
    "note",
    "missing",
    "reason",
    "new_due_at",
)
_SEP = re.compile(r"[\s_\-–—/.:()]+")


def header_key(text: str) -> str:
    return _SEP.sub(" ", strip_diacritics(unicodedata.normalize("NFC", text)).casefold()).strip()


def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for column, aliases in COLUMNS.items():
        for spelling in (column, column.replace("_", " "), *aliases):
            index.setdefault(header_key(spelling), column)
    return index


_INDEX = _alias_index()


@dataclass
class Table:
    format: str  # "csv" | "xlsx"
    encoding: str | None
    columns: list[str | None]  # our column for each position (None: ignored)
    ignored: list[str]
    rows: list[tuple[int, dict[str, Any]]]  # (line or sheet row number, {column: value})


def decode(raw: bytes) -> tuple[str, str]:
    """Text and encoding name: a BOM decides; else UTF-8 if it decodes; else cp1258."""
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise BadRequest(
                f"Tệp có BOM UTF-8 nhưng hỏng ở byte {exc.start}.", code="bad_encoding"
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1258"), "cp1258"
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"Không đọc được tệp: không phải UTF-8 hay Windows-1258 (byte {exc.start}).",
            code="bad_encoding",
        ) from None


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        text = restored(unicodedata.normalize("NFC", value).strip())
        return text or None
    return value


def _map_header(cells: Sequence[Any]) -> tuple[list[str | None], list[str]]:
    columns: list[str | None] = []
    ignored: list[str] = []
    for cell in cells:
        name = _INDEX.get(header_key(str(cell))) if cell not in (None, "") else None
        if name is not None and name in columns:
            raise BadRequest(f"Cột “{cell}” bị lặp.", code="duplicate_column")
        columns.append(name)
        if name is None and cell not in (None, ""):
            ignored.append(str(cell))
    return columns, ignored


def _rows(
    columns: list[str | None], data: Iterable[tuple[int, Sequence[Any]]]
) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for line, cells in data:
        values = {c: _cell(v) for c, v in zip(columns, cells, strict=False) if c is not None}
        if any(v is not None for v in values.values()):
            out.append((line, values))
    return out


def read_csv(raw: bytes) -> Table:
    text, encoding = decode(raw)
    text = unicodedata.normalize("NFC", text)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise BadRequest("Tệp trống.", code="empty_file") from None
    except csv.Error as exc:
        raise BadRequest(f"Tệp CSV hỏng: {exc}", code="bad_csv") from None
    columns, ignored = _map_header(header)

    def numbered() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                yield reader.line_num, cells
        except csv.Error as exc:
            raise BadRequest(
                f"Tệp CSV hỏng ở dòng {reader.line_num}: {exc}", code="bad_csv"
            ) from None

    return Table("csv", encoding, columns, ignored, _rows(columns, numbered()))


#: What a truncated, corrupt or hostile workbook raises while openpyxl reads it
#: (expat's own limits stop entity bombs with a ParseError).
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ElementTree.ParseError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    OSError,
)


def read_xlsx(raw: bytes) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (InvalidFileException, *_XLSX_ERRORS) as exc:
        raise BadRequest(
            f"Không đọc được tệp Excel: {type(exc).__name__}", code="bad_xlsx"
        ) from None
    try:
        sheet = wb.worksheets[0]
        it = enumerate(sheet.iter_rows(values_only=True), start=1)
        for _, header in it:
            if any(c not in (None, "") for c in header):
                break
        else:
            raise BadRequest("Tệp trống.", code="empty_file")
        columns, ignored = _map_header(list(header))
        # Read every row now: a truncated or malformed workbook fails while its sheet is
        # parsed, and that must become a clear refusal here, not an error mid-import.
        rows = _rows(columns, ((n, list(cells)) for n, cells in it))
    except _XLSX_ERRORS as exc:
        raise BadRequest(
            f"Không đọc được tệp Excel: {type(exc).__name__}", code="bad_xlsx"
        ) from None
    finally:
        wb.close()
    return Table("xlsx", None, columns, ignored, rows)


def read_table(name: str, raw: bytes) -> Table:
    """CSV or XLSX by content (a ZIP header is XLSX), whatever the file is called."""
    if raw[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        table = read_xlsx(raw)
    else:
        table = read_csv(raw)
    return table


def read_path(path: Path) -> Table:
    return read_table(path.name, path.read_bytes())


# --- writing --------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else inert(value)


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str] = EXPORT_COLUMNS) -> bytes:
    """UTF-8 with a BOM: Excel then shows Vietnamese correctly, and we read it back."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_plain(row.get(c)) for c in columns])
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")


def write_xlsx(
    rows: Iterable[dict[str, Any]], columns: Sequence[str] = EXPORT_COLUMNS, title: str = "ho_so"
) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(list(columns))
    for row in rows:
        ws.append([_plain(row.get(c)) for c in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
