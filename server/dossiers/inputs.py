"""What departments send us, checked once: the same parsing serves the JSON API and the
CSV/XLSX importer, so a row refused by one is refused by the other with the same words.

Times: ISO 8601 with an offset is taken as is; a time without an offset, and the
"dd/mm/yyyy hh:mm" that Vietnamese spreadsheets use, are the center's local time.  A
bare date means the start of that day — except for due dates, and the dates a result
was ready or returned, where it means the end of the day's last session (a result "due
on 30/11" may be collected until closing time; one "returned on 30/11" was returned
that day, after its receipt).

Every accepted time lies in ``date_window()``: from 1 Jan 2000 to the end of the year
``YEARS_AHEAD`` years from now.  Working-time arithmetic is cheap over any range, but a
due date in year 9999 or a status in year 0001 is a typing error (or an attack — issue
15: one such PUT froze the hall for 33 s), never a dossier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from server.dossiers.status import DossierChannel, DossierStatus, parse_channel, parse_status
from server.errors import BadRequest
from server.i18n import t

_DMY = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"
)
_PHONE = re.compile(r"^\+?\d{9,15}$")
MAX_TEXT = 1000
MAX_NAME = 200
#: The first accepted date, and how many years ahead of today dates are accepted.
EARLIEST = date(2000, 1, 1)
YEARS_AHEAD = 10


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(message, code="bad_field", field=field)


def date_window(now: datetime | None = None) -> tuple[date, date]:
    """The dates a department may send: 1 Jan 2000 … 31 Dec of today's year + 10."""
    today = (now or datetime.now(UTC)).date()
    return EARLIEST, date(today.year + YEARS_AHEAD, 12, 31)


def dmy(d: date) -> str:
    """dd/mm/yyyy with four year digits even for year 1 (strftime's %Y gives "1")."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def in_window(at: datetime, tz: ZoneInfo, field: str) -> datetime:
    """``at`` itself, or a 400 naming the field when its date is outside ``date_window``."""
    first, last = date_window()
    try:
        local = at.astimezone(tz).date() if at.tzinfo is not None else at.date()
    except OverflowError:  # 9999-12-31T23:00-07:00 is in year 10000 here: out of range
        local = at.date()
    if not first <= local <= last:
        raise _bad(
            field,
            t(
                "dossier.error.date_range",
                "vi",
                field=field,
                value=dmy(local),
                first=dmy(first),
                last=dmy(last),
            ),
        )
    return at


def parse_when(
    value: Any, tz: ZoneInfo, field: str, *, day_end: time | None = None
) -> datetime | None:
    """An aware datetime from an API value or a spreadsheet cell (None when blank), inside
    ``date_window()``."""
    at = _parse_when(value, tz, field, day_end)
    return None if at is None else in_window(at, tz, field)


def _parse_when(value: Any, tz: ZoneInfo, field: str, day_end: time | None) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None and day_end is not None and value.time() == time(0):
            # A spreadsheet's date cell (openpyxl gives midnight): a bare date.
            return datetime.combine(value.date(), day_end, tzinfo=tz)
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, day_end or time(0), tzinfo=tz)
    if not isinstance(value, str):
        raise _bad(field, f"Trường '{field}' phải là ngày giờ (ISO 8601 hoặc dd/mm/yyyy hh:mm).")
    text = value.strip()
    m = _DMY.match(text)
    try:
        if m:
            d, mo, y, hh, mm, ss = m.groups()
            if hh is None:
                return datetime.combine(
                    date(int(y), int(mo), int(d)), day_end or time(0), tzinfo=tz
                )
            return datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss or 0), tzinfo=tz)
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), day_end or time(0), tzinfo=tz)
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(
            field,
            f"Trường '{field}': không hiểu ngày giờ “{text}” (ISO 8601 hoặc dd/mm/yyyy hh:mm).",
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def clean_text(value: Any, field: str, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _bad(field, f"Trường '{field}' phải là chuỗi ký tự.")
    text = " ".join(value.split())
    if len(text) > limit:
        raise _bad(field, f"Trường '{field}' dài quá {limit} ký tự.")
    return text or None


def clean_phone(value: Any) -> str | None:
    """Digits only ("0912 345 678", "+84 912.345.678" → kept as typed digits, '+' allowed)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = "0" + str(value) if len(str(value)) == 9 else str(value)
    text = clean_text(value, "phone", 30)
    if text is None:
        return None
    compact = re.sub(r"[\s.\-()]", "", text)
    if not _PHONE.match(compact):
        raise _bad("phone", f"Số điện thoại “{text}” không hợp lệ.")
    return compact


def clean_number(value: Any, field: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).replace(",", ".")) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or number > 3650:
        raise _bad(field, f"Trường '{field}' phải là số không âm (số ngày/giờ làm việc).")
    return number


_CUTOFF = re.compile(r"^([01]?\d|2[0-3])\s*[:hH]\s*([0-5]\d)?$")


def clean_cutoff(value: Any, field: str = "cutoff") -> str | None:
    """A same-day cut-off as "HH:MM" ("15:00", "15h", "15h00", or a spreadsheet time)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, time):
        return value.strftime("%H:%M")
    m = _CUTOFF.match(str(value).strip())
    if m is None:
        raise _bad(
            field, f"Trường '{field}' là giờ tiếp nhận trong ngày, dạng HH:MM (ví dụ 15:00)."
        )
    return f"{int(m[1]):02d}:{m[2] or '00'}"


@dataclass(frozen=True)
class DossierFields:
    """What a PUT body or an import row may set on a dossier (None = not given)."""

    procedure: str | None = None
    procedure_name: str | None = None
    department: str | None = None
    applicant: str | None = None
    phone: str | None = None
    channel: DossierChannel | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    limit_days: float | None = None
    limit_hours: float | None = None


@dataclass(frozen=True)
class EventInput:
    """One timeline entry: a status change, or a delay (new return date with a reason)."""

    kind: str  # "status" | "delay"
    status: DossierStatus | None = None
    at: datetime | None = None
    note: str | None = None
    missing: str | None = None
    reason: str | None = None
    new_due_at: datetime | None = None
    event_id: str | None = None
    #: When the result was ready (có kết quả) and handed back (trả kết quả), as the
    #: department's system recorded them: the resolved and returned steps take these
    #: times instead of the moment of the sync.
    result_at: datetime | None = None
    returned_at: datetime | None = None


_PARSED: dict[tuple[str, str], Any] = {}


def _memo(kind: str, text: str, parse: Any) -> Any:
    """Statuses and channels repeat on every row of an import: parse each spelling once."""
    key = (kind, text)
    if key not in _PARSED:
        if len(_PARSED) > 5000:
            _PARSED.clear()
        _PARSED[key] = parse(text)
    return _PARSED[key]


def _code_like(value: Any, field: str) -> str | None:
    text = clean_text(value, field, 64)
    return text.upper() if text else None


def dossier_fields(data: Mapping[str, Any], tz: ZoneInfo, day_end: time) -> DossierFields:
    channel = data.get("channel")
    return DossierFields(
        procedure=_code_like(data.get("procedure"), "procedure"),
        procedure_name=clean_text(data.get("procedure_name"), "procedure_name", 500),
        department=_code_like(data.get("department"), "department"),
        applicant=clean_text(data.get("applicant"), "applicant", MAX_NAME),
        phone=clean_phone(data.get("phone")),
        channel=_memo("channel", str(channel), parse_channel)
        if channel not in (None, "")
        else None,
        received_at=parse_when(data.get("received_at"), tz, "received_at"),
        due_at=parse_when(data.get("due_at"), tz, "due_at", day_end=day_end),
        limit_days=clean_number(data.get("limit_days"), "limit_days"),
        limit_hours=clean_number(data.get("limit_hours"), "limit_hours"),
    )


def event_input(
    data: Mapping[str, Any], tz: ZoneInfo, day_end: time, *, status_key: str = "status"
) -> EventInput | None:
    """The event a body or row carries (None when it names neither a status nor a delay)."""
    raw_status = data.get(status_key)
    kind = clean_text(data.get("type"), "type", 20) or ""
    new_due = parse_when(data.get("new_due_at"), tz, "new_due_at", day_end=day_end)
    if kind not in ("", "status", "delay"):
        raise _bad("type", "Trường 'type' là 'status' hoặc 'delay'.")
    is_delay = kind == "delay" or (kind == "" and raw_status in (None, "") and new_due is not None)
    status = None
    if raw_status not in (None, "") and not is_delay:
        status = _memo("status", str(raw_status), parse_status)
    if status is None and not is_delay:
        return None
    event_id = clean_text(data.get("event_id"), "event_id", 100)
    at_key = "status_at" if "status_at" in data else "at"
    result_at = parse_when(data.get("result_at"), tz, "result_at", day_end=day_end)
    returned_at = parse_when(data.get("returned_at"), tz, "returned_at", day_end=day_end)
    if result_at is not None and returned_at is not None and returned_at < result_at:
        raise BadRequest(
            "Ngày trả kết quả (returned_at) không thể trước ngày có kết quả (result_at).",
            code="bad_field",
            field="returned_at",
        )
    at = parse_when(data.get(at_key), tz, at_key)
    if at is None and status is not None:
        # A file that gives the dates but no status time: the status happened then.
        at = _status_date(status, result_at, returned_at)
    return EventInput(
        kind="delay" if is_delay else "status",
        status=status,
        at=at,
        note=clean_text(data.get("note"), "note"),
        missing=clean_text(data.get("missing"), "missing"),
        reason=clean_text(data.get("reason"), "reason"),
        new_due_at=new_due,
        event_id=event_id,
        result_at=result_at,
        returned_at=returned_at,
    )


def _status_date(
    status: DossierStatus, result_at: datetime | None, returned_at: datetime | None
) -> datetime | None:
    if status == DossierStatus.RETURNED:
        return returned_at or result_at
    if status == DossierStatus.RESOLVED:
        return result_at
    return None
