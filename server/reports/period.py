"""The date range of a report: business days in the center's time zone, inclusive."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..clock import business_day, iso
from ..errors import BadRequest

#: A report covers at most this many days (a year, plus a leap day).
MAX_DAYS = 366
#: Dates outside these years are typing mistakes (and 9999-12-31 has no next day).
MIN_YEAR, MAX_YEAR = 2000, 2999
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    tz: ZoneInfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def day_from(self) -> str:
        return self.first.isoformat()

    @property
    def day_to(self) -> str:
        return self.last.isoformat()

    def each_day(self) -> Iterator[str]:
        """Every day of the range, as stored ('2026-11-25')."""
        day = self.first
        while day <= self.last:
            yield day.isoformat()
            day += timedelta(days=1)

    def start_utc(self) -> str:
        """The first instant of the range, as stored (UTC ISO-8601)."""
        return iso(datetime.combine(self.first, time(0), self.tz))

    def end_utc(self) -> str:
        """The first instant after the range."""
        return iso(datetime.combine(self.last + timedelta(days=1), time(0), self.tz))

    def hour_modifiers(self) -> tuple[str, dict[str, str]]:
        """SQLite modifiers turning a stored UTC time into the center's local time: the
        one of the first day, and those of the days whose UTC offset differs (none in
        Vietnam; a daylight-saving zone has some)."""

        def modifier(day: date) -> str:
            off = datetime.combine(day, time(12), self.tz).utcoffset()
            return f"{int(off.total_seconds()) if off else 0:+d} seconds"

        base = modifier(self.first)
        others = {}
        day = self.first + timedelta(days=1)
        while day <= self.last:
            m = modifier(day)
            if m != base:
                others[day.isoformat()] = m
            day += timedelta(days=1)
        return base, others

    def as_json(self) -> dict[str, object]:
        return {"from": self.day_from, "to": self.day_to, "days": self.days}


def _parse_day(text: str, name: str) -> date:
    if not _DATE.match(text):
        raise BadRequest(
            f"Ngày '{name}' phải có dạng YYYY-MM-DD (ví dụ 2026-11-25).",
            code="bad_date",
            field=name,
        )
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"Ngày '{name}' không tồn tại: {text}.", code="bad_date", field=name
        ) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise BadRequest(
            f"Ngày '{name}' phải trong các năm {MIN_YEAR}–{MAX_YEAR}.", code="bad_date", field=name
        )
    return day


def parse_period(date_from: str | None, date_to: str | None, tz: ZoneInfo, now: datetime) -> Period:
    """From the query's `from` and `to` (either may be missing: today, or the other end)."""
    today = business_day(now, tz)
    first = _parse_day(date_from, "from") if date_from else None
    last = _parse_day(date_to, "to") if date_to else None
    first = first or last or today
    last = last or (first if date_from else today)
    if last < first:
        raise BadRequest(
            f"Ngày bắt đầu ({first.isoformat()}) sau ngày kết thúc ({last.isoformat()}).",
            code="bad_range",
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(
            f"Khoảng thời gian tối đa {MAX_DAYS} ngày; hãy chia nhỏ báo cáo.", code="range_too_long"
        )
    return Period(first, last, tz)
