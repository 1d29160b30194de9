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
  twice that), and at most ``MAX_COLUMNS`` columns per row.
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
    max_strings_bytes: int = 64 * MIB


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
        _patch_openpyxl()
        self.limits = limits
        try:
            self._wb = load_workbook(opened, read_only=True, data_only=True)
        except (InvalidFileException, *XLSX_ERRORS) as exc:
            raise _unreadable(exc) from None
        try:
            self._ws = self._wb.worksheets[0]
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
    """CSV records, at most ``max_rows`` non-blank ones."""
    filled = 0
    for line, cells in rows:
        if any(c not in (None, "") for c in cells):
            filled += 1
            if filled > limits.max_rows:
                raise _too_many_rows(limits)
        yield line, cells[:MAX_COLUMNS]
