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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from server.cells import inert, restored
from server.dossiers import sheets
from server.errors import BadRequest
from server.notify.notices import strip_diacritics

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
    "result_at": ("Ngày có kết quả", "Ngày kết quả", "Ngày hoàn thành", "Ngày xử lý xong"),
    "returned_at": ("Ngày trả kết quả", "Ngày trả", "Ngày đã trả kết quả"),
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
    "result_at",
    "returned_at",
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
    """A table read whole (small files: procedure catalogs, tests)."""

    format: str  # "csv" | "xlsx"
    encoding: str | None
    columns: list[str | None]  # our column for each position (None: ignored)
    ignored: list[str]
    rows: list[tuple[int, dict[str, Any]]]  # (line or sheet row number, {column: value})


@dataclass
class TableStream:
    """A table whose header is read and whose rows come one by one (``rows``), within the
    limits of ``sheets``; ``close`` releases the workbook."""

    format: str
    encoding: str | None
    columns: list[str | None]
    ignored: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    close: Callable[[], None] = lambda: None

    def require(self, *names: str) -> None:
        """Refuse the file (before reading its body) when a required column is missing."""
        missing = [c for c in names if c not in self.columns]
        if missing:
            raise BadRequest(
                f"Tệp thiếu cột bắt buộc: {', '.join(missing)}.",
                code="missing_columns",
                columns=missing,
            )

    def __enter__(self) -> TableStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    for cell in cells[: sheets.MAX_COLUMNS]:
        name = _INDEX.get(header_key(str(cell))) if cell not in (None, "") else None
        if name is not None and name in columns:
            raise BadRequest(f"Cột “{cell}” bị lặp.", code="duplicate_column")
        columns.append(name)
        if name is None and cell not in (None, ""):
            ignored.append(str(cell)[:100])
    return columns, ignored


def _rows(
    columns: list[str | None], data: Iterable[tuple[int, Sequence[Any]]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, cells in data:
        values = {c: _cell(v) for c, v in zip(columns, cells, strict=False) if c is not None}
        if any(v is not None for v in values.values()):
            yield line, values


def stream_csv(raw: bytes, limits: sheets.Limits) -> TableStream:
    sheets.check_size(len(raw), limits)
    text, encoding = decode(raw)
    text = unicodedata.normalize("NFC", text)
    first = text[: 64 * 1024].split("\n", 1)[0]
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
            if "field larger than field limit" in str(exc):  # the csv module's own cap
                raise sheets.cell_too_long(limits, f"Một ô ở dòng {reader.line_num}") from None
            raise BadRequest(
                f"Tệp CSV hỏng ở dòng {reader.line_num}: {exc}", code="bad_csv"
            ) from None

    rows = _rows(columns, sheets.capped(numbered(), limits))
    return TableStream("csv", encoding, columns, ignored, rows)


def stream_xlsx(source: Path | bytes, limits: sheets.Limits) -> TableStream:
    sheet = sheets.Sheet(source, limits)
    try:
        columns, ignored = _map_header(sheet.header)
    except BaseException:
        sheet.close()
        raise
    return TableStream("xlsx", None, columns, ignored, _rows(columns, sheet.rows()), sheet.close)


def _is_xlsx(name: str, head: bytes) -> bool:
    return head[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm"))


def open_table(path: Path, limits: sheets.Limits) -> TableStream:
    """CSV or XLSX by content (a ZIP header is XLSX), whatever the file is called."""
    sheets.check_size(path.stat().st_size, limits)
    with path.open("rb") as fh:
        head = fh.read(4)
    if _is_xlsx(path.name, head):
        return stream_xlsx(path, limits)
    return stream_csv(path.read_bytes(), limits)


def read_table(name: str, raw: bytes, limits: sheets.Limits | None = None) -> Table:
    """A whole (small) table from bytes, within the same limits."""
    lim = limits or sheets.Limits()
    opened = stream_xlsx(raw, lim) if _is_xlsx(name, raw) else stream_csv(raw, lim)
    with opened as t:
        return Table(t.format, t.encoding, t.columns, t.ignored, list(t.rows))


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
