"""Reading an uploaded table within bounds: what a file may cost is checked before it
is parsed, and parsing streams, so neither a zip bomb nor a million-row sheet can make
an import read more than the configured limits.

- the file itself: at most ``max_bytes`` (checked before anything is read);
- an XLSX is a ZIP: its directory (read without inflating anything) must show at most
  ``max_sheet_bytes`` of sheet XML, ``max_strings_bytes`` of shared strings and small
  other parts.  ``zipfile`` never inflates an entry past the size its directory states
  (it stops there and the CRC check fails), so these sizes bound what is parsed;
- the sheet is parsed lazily (openpyxl read-only), header row first: a file without
  the required columns is refused before its body is read;
- at most ``max_rows`` data rows (blank rows and rows a sheet skips count too, at most
  twice that), and at most ``MAX_COLUMNS`` columns per row;
- no cell longer than ``max_cell_chars``: the shared strings (read whole on opening)
  are first streamed through expat, and the sheet's bytes pass through expat as
  openpyxl reads them; expat hands text over in pieces, so a run of text past the cap is
  refused before openpyxl (which builds each cell's text whole) holds it.  The cells
  read are then checked exactly, naming their row and column.
Over a limit: a 413 naming it; unreadable: a 400.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from server.errors import BadRequest, PayloadTooLarge

MIB = 1024 * 1024
#: Columns read from any row: real exports have 15–60.
MAX_COLUMNS = 200
#: ZIP parts other than sheets and shared strings (workbook, styles, relations …).
MAX_OTHER_PART = 16 * MIB
MAX_PARTS = 2000


@dataclass(frozen=True)
class Limits:
    max_rows: int = 100_000
    max_bytes: int = 64 * MIB
    max_sheet_bytes: int = 256 * MIB
    max_strings_bytes: int = 32 * MIB
    max_cell_chars: int = 4000


#: Slack over ``max_cell_chars`` for the XML pre-scan, which also counts the whitespace
#: between a cell's closing tags (cells themselves are checked exactly when read).
SCAN_SLACK = 1024
SCAN_CHUNK = 64 * 1024


def _no_eager_size(self: Any) -> None:
    """openpyxl's read-only worksheet reads its size when it is created: from the
    ``<dimension>`` element if there is one, otherwise by parsing the *whole* sheet
    (``parse_dimensions`` stops only at the end of ``sheetData``) — a full pass over a
    million rows before the header could be checked.  The size is never needed here
    (``reset_dimensions`` drops it anyway), so it is not read; this package is the only
    reader of workbooks in read-only mode."""


def _patch_openpyxl() -> None:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    ReadOnlyWorksheet._get_size = _no_eager_size  # type: ignore[method-assign]


def too_large(message: str, code: str, **details: Any) -> PayloadTooLarge:
    return PayloadTooLarge(message, code=code, **details)


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise too_large(
            f"Tệp lớn quá {limits.max_bytes // MIB} MB.", "file_too_large", limit=limits.max_bytes
        )


def check_zip(source: str | Path | IO[bytes], limits: Limits) -> None:
    """Refuse a workbook whose parts would inflate past the limits (nothing is inflated)."""
    try:
        with zipfile.ZipFile(source) as zf:
            parts = zf.infolist()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise BadRequest(
            f"Không đọc được tệp Excel: {type(exc).__name__}", code="bad_xlsx"
        ) from None
    if len(parts) > MAX_PARTS:
        raise BadRequest("Tệp Excel có quá nhiều phần.", code="bad_xlsx")
    for part in parts:
        name = part.filename.lower()
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            limit, what = limits.max_sheet_bytes, "trang tính"
        elif name == "xl/sharedstrings.xml":
            limit, what = limits.max_strings_bytes, "bảng chuỗi"
        else:
            limit, what = MAX_OTHER_PART, part.filename
        if part.file_size > limit:
            raise too_large(
                f"Tệp Excel bung ra quá lớn: {what} {part.file_size // MIB} MB "
                f"(tối đa {limit // MIB} MB).",
                "xlsx_too_large",
                part=part.filename,
                limit=limit,
            )


def cell_too_long(limits: Limits, subject: str) -> BadRequest:
    return BadRequest(
        f"{subject} dài quá {limits.max_cell_chars:,} ký tự; xin rút gọn nội dung ô.".replace(
            ",", "."
        ),
        code="cell_too_long",
        limit=limits.max_cell_chars,
    )


class _TextRuns:
    """Counts the text since the last start tag of an XML part fed to it in chunks
    (expat hands text over in pieces, so no run is ever held whole) and refuses a run
    longer than a cell may be.  Malformed XML stops the count: the reader behind it
    then fails at the same place, before any later text."""

    def __init__(self, part: str, limits: Limits) -> None:
        from xml.parsers import expat

        self.part, self.limits = part, limits
        self.cap = limits.max_cell_chars + SCAN_SLACK
        self.run = 0
        self.parser: Any = expat.ParserCreate()
        self.parser.buffer_text = False
        self.parser.StartElementHandler = self._start
        self.parser.CharacterDataHandler = self._text
        self._errors = (expat.ExpatError,)

    def _start(self, *_: Any) -> None:
        self.run = 0

    def _text(self, data: str) -> None:
        self.run += len(data)
        if self.run > self.cap:
            raise cell_too_long(self.limits, f"Một ô trong {self.part}")

    def feed(self, chunk: bytes) -> None:
        if self.parser is None:
            return
        try:
            self.parser.Parse(chunk, not chunk)
        except self._errors:
            self.parser = None


class _ScannedStream:
    """A ZIP member whose bytes pass through ``_TextRuns`` as its reader takes them."""

    def __init__(self, raw: IO[bytes], part: str, limits: Limits) -> None:
        self._raw, self._runs = raw, _TextRuns(part, limits)

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._runs.feed(chunk)
        return chunk

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _ScannedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def scan_strings(source: str | Path | IO[bytes], limits: Limits) -> None:
    """The shared strings are read whole when a workbook opens: their text runs are
    checked first, in chunks."""
    try:
        with zipfile.ZipFile(source) as zf:
            for part in zf.infolist():
                if part.filename.lower() == "xl/sharedstrings.xml":
                    runs = _TextRuns(part.filename, limits)
                    with zf.open(part) as stream:
                        while chunk := stream.read(SCAN_CHUNK):
                            runs.feed(chunk)
                    runs.feed(b"")
    except XLSX_ERRORS as exc:
        raise _unreadable(exc) from None


#: What a truncated, corrupt or hostile workbook raises while openpyxl reads it
#: (expat's own limits stop entity bombs with a ParseError).
XLSX_ERRORS = (
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


def _unreadable(exc: BaseException) -> BadRequest:
    return BadRequest(f"Không đọc được tệp Excel: {type(exc).__name__}", code="bad_xlsx")


def _too_many_rows(limits: Limits) -> PayloadTooLarge:
    return too_large(
        f"Tệp có quá {limits.max_rows:,} dòng; xin chia thành nhiều tệp.".replace(",", "."),
        "too_many_rows",
        limit=limits.max_rows,
    )


def column_name(index: int) -> str:
    """Excel's letters for a 0-based column index (0 → A, 26 → AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _check_cells(cells: Sequence[Any], row: int, limits: Limits) -> None:
    for i, value in enumerate(cells):
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            raise cell_too_long(limits, f"Ô {column_name(i)}{row}")


class Sheet:
    """The first worksheet of a workbook (a file or its bytes): ``header`` now, ``rows()`` lazily."""

    def __init__(self, source: Path | bytes, limits: Limits) -> None:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        if isinstance(source, bytes):
            check_size(len(source), limits)
            opened: Path | IO[bytes] = io.BytesIO(source)
        else:
            check_size(source.stat().st_size, limits)
            opened = source
        check_zip(opened, limits)
        scan_strings(opened, limits)
        if isinstance(opened, io.BytesIO):
            opened.seek(0)
        _patch_openpyxl()
        self.limits = limits
        try:
            self._wb = load_workbook(opened, read_only=True, data_only=True)
        except (InvalidFileException, *XLSX_ERRORS) as exc:
            raise _unreadable(exc) from None
        try:
            self._ws = self._wb.worksheets[0]
            plain = self._ws._get_source  # the sheet's XML is checked as openpyxl reads it
            path = self._ws._worksheet_path
            self._ws._get_source = lambda: _ScannedStream(plain(), path, limits)
            self._ws.reset_dimensions()  # a stated A1:XFD1048576 must not size every row
            self.header, self._header_row = self._find_header()
        except BaseException:
            self.close()
            raise

    def _find_header(self) -> tuple[list[Any], int]:
        seen = 0
        try:
            for number, cells in enumerate(
                self._ws.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
            ):
                _check_cells(cells, number, self.limits)
                if any(c not in (None, "") for c in cells):
                    width = max(i for i, c in enumerate(cells) if c not in (None, "")) + 1
                    return list(cells[:width]), number
                seen += 1
                if seen > self.limits.max_rows:
                    break
        except XLSX_ERRORS as exc:
            raise _unreadable(exc) from None
        raise BadRequest("Tệp trống.", code="empty_file")

    def rows(self) -> Iterator[tuple[int, Sequence[Any]]]:
        """(sheet row number, cells) after the header, at most ``max_rows`` non-blank."""
        width = len(self.header)
        budget = 2 * self.limits.max_rows
        filled = 0
        try:
            cells_iter = self._ws.iter_rows(
                min_row=self._header_row + 1, max_col=width, values_only=True
            )
            for number, cells in enumerate(cells_iter, start=self._header_row + 1):
                budget -= 1
                _check_cells(cells, number, self.limits)
                if any(c is not None for c in cells):
                    filled += 1
                    if filled > self.limits.max_rows:
                        raise _too_many_rows(self.limits)
                    yield number, cells
                if budget < 0:
                    raise _too_many_rows(self.limits)
        except XLSX_ERRORS as exc:
            raise _unreadable(exc) from None

    def close(self) -> None:
        self._wb.close()


def capped(rows: Iterator[tuple[int, Sequence[Any]]], limits: Limits):
    """CSV records, at most ``max_rows`` non-blank ones, no field over ``max_cell_chars``."""
    filled = 0
    for line, cells in rows:
        for i, value in enumerate(cells[:MAX_COLUMNS]):
            if len(value) > limits.max_cell_chars:
                raise cell_too_long(limits, f"Ô ở dòng {line}, cột {i + 1}")
        if any(c not in (None, "") for c in cells):
            filled += 1
            if filled > limits.max_rows:
                raise _too_many_rows(limits)
        yield line, cells[:MAX_COLUMNS]
