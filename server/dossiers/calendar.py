"""Working-time arithmetic for dossier time limits (thời hạn giải quyết).

Legal time limits in the one-stop mechanism are counted in working days, not calendar
days: weekends, public holidays and the yearly compensatory days off do not count, and
a dossier received after hours starts its clock at the next session.  Reports then
judge each dossier early / on time / late by comparing *dates in the center's zone*,
which is why every public function here takes aware datetimes and converts them to
the center's zone itself — a finish at 23:30 UTC is already the next day in Vietnam.

The unit is one working day = the sum of the day's sessions (8 h with the default
07:00–11:30 and 13:30–17:00), so "1 day" from Monday 08:00 is always Tuesday 08:00
whatever the sessions are.  A different length can be forced with ``day_hours``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_pkg

from server.i18n import t

if TYPE_CHECKING:
    from server.config import Config

log = logging.getLogger(__name__)

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_SESSIONS: tuple[tuple[str, str], ...] = (("07:00", "11:30"), ("13:30", "17:00"))
DEFAULT_WORKDAYS = frozenset(range(5))
#: How many consecutive days without any working time mean the calendar is broken
#: (e.g. every weekday configured as a holiday) rather than merely a long Tết break.
_MAX_IDLE_DAYS = 3 * 366
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

#: A supplement request: from the request until the citizen supplies (None = still open).
Pause = tuple[datetime, datetime | None]


class CalendarError(ValueError):
    """The calendar's configuration is wrong or describes no working time at all."""


class Timeliness(StrEnum):
    """How a dossier finished against its due date (reports: trước/đúng/trễ hạn)."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"

    def label(self, lang: str = "vi") -> str:
        return t(f"dossier.timeliness.{self.value}", lang)


@lru_cache(maxsize=128)
def _vn_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """Vietnam's days off and make-up working Saturdays of one year.

    The next year is built too because a swap can cross New Year (the 2 Jan 2015 day
    off was paid back on Saturday 27 Dec 2014, and ``holidays`` files it under 2015).
    """
    table = holidays_pkg.country_holidays("VN", years=(year, year + 1))
    closed = frozenset(d for d in table if d.year == year)
    makeup = frozenset(d for d in table.weekend_workdays if d.year == year)
    if not closed:
        log.warning("the holidays package knows no Vietnamese holiday in %d", year)
    return closed, makeup


def _aware(at: datetime, name: str) -> datetime:
    if not isinstance(at, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _time(value: str | time, where: str) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise CalendarError(f"{where}: session times are local wall-clock times, no zone")
        return value
    if isinstance(value, str) and (m := _HHMM.match(value.strip())):
        return time(int(m[1]), int(m[2]))
    raise CalendarError(f"{where}: expected a time HH:MM, got {value!r}")


def _day(value: date | str, where: str) -> date:
    if isinstance(value, datetime):
        raise CalendarError(f"{where}: expected a date, got a datetime {value.isoformat()}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CalendarError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


class WorkCalendar:
    """The center's working time: sessions on workdays, minus holidays, plus make-up days.

    A date is a working day when it is a configured make-up day (``extra_workdays``);
    otherwise not when it is a configured day off (``holidays``) or a Vietnamese public
    holiday from the ``holidays`` package; otherwise when the package lists it as an
    official make-up Saturday or its weekday is in ``workdays``.
    """

    def __init__(
        self,
        tz: str | ZoneInfo = DEFAULT_TZ,
        sessions: Iterable[tuple[str | time, str | time]] = DEFAULT_SESSIONS,
        workdays: Iterable[int] = DEFAULT_WORKDAYS,
        holidays: Iterable[date | str] = (),
        extra_workdays: Iterable[date | str] = (),
        use_vn_holidays: bool = True,
        day_hours: float | None = None,
    ) -> None:
        try:
            self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"tz: unknown time zone {tz!r}") from None
        parsed = sorted(
            (_time(s, f"sessions[{i}]"), _time(e, f"sessions[{i}]"))
            for i, (s, e) in enumerate(sessions)
        )
        if not parsed:
            raise CalendarError("sessions: at least one working session is needed")
        for start, end in parsed:
            if end <= start:
                raise CalendarError(f"sessions: {start:%H:%M}–{end:%H:%M} ends before it starts")
        for (_, end1), (start2, _) in zip(parsed, parsed[1:], strict=False):
            if start2 < end1:
                raise CalendarError(f"sessions: {start2:%H:%M} starts before {end1:%H:%M} ends")
        self.sessions: tuple[tuple[time, time], ...] = tuple(parsed)
        self.workdays = frozenset(workdays)
        if not self.workdays or not self.workdays <= set(range(7)):
            raise CalendarError(f"workdays: expected weekdays 0 (Mon)–6 (Sun), got {workdays!r}")
        self.holidays = frozenset(_day(d, "holidays") for d in holidays)
        self.extra_workdays = frozenset(_day(d, "extra_workdays") for d in extra_workdays)
        both = self.holidays & self.extra_workdays
        if both:
            raise CalendarError(f"{min(both)} is both a day off and a make-up working day")
        self.use_vn_holidays = use_vn_holidays
        session_seconds = sum(
            (datetime.combine(date.min, e) - datetime.combine(date.min, s)).total_seconds()
            for s, e in self.sessions
        )
        if day_hours is not None and not (math.isfinite(day_hours) and day_hours > 0):
            raise CalendarError(f"day_hours: must be a positive number, got {day_hours!r}")
        self.day_seconds = day_hours * 3600 if day_hours is not None else session_seconds
        self._spans_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    @classmethod
    def from_config(cls, config: Config, *, use_vn_holidays: bool = True) -> WorkCalendar:
        """The calendar of a loaded configuration (its opening hours are the working hours)."""
        hours = config.work_hours or config.hours
        return cls(
            tz=config.timezone,
            sessions=hours.sessions,
            workdays=hours.days,
            holidays=config.holidays,
            extra_workdays=config.extra_workdays,
            use_vn_holidays=use_vn_holidays,
        )

    # --- days -------------------------------------------------------------------------
    def local_date(self, at: datetime) -> date:
        """The center's calendar date of an instant."""
        return _aware(at, "at").astimezone(self.tz).date()

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` has working sessions (an aware datetime means its local date)."""
        if isinstance(d, datetime):
            d = self.local_date(d)
        if d in self.extra_workdays:
            return True
        if d in self.holidays:
            return False
        if self.use_vn_holidays:
            closed, makeup = _vn_year(d.year)
            if d in closed:
                return False
            if d in makeup:
                return True
        return d.weekday() in self.workdays

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days after ``a``'s date up to and including ``b``'s date.

        The staleness watch asks "how many working days has this dossier sat since its
        last event": last touched Friday, asked Monday → 1 (the weekend does not count).
        """
        first = self.local_date(a) if isinstance(a, datetime) else a
        last = self.local_date(b) if isinstance(b, datetime) else b
        if last < first:
            raise ValueError(f"working_days_between: {last} is before {first}")
        count, day = 0, first + timedelta(days=1)
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def _spans(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working sessions of one local date as UTC instants (empty on days off)."""
        spans = self._spans_cache.get(d)
        if spans is None:
            if self.is_working_day(d):
                spans = tuple(
                    (
                        datetime.combine(d, s, tzinfo=self.tz).astimezone(UTC),
                        datetime.combine(d, e, tzinfo=self.tz).astimezone(UTC),
                    )
                    for s, e in self.sessions
                )
            else:
                spans = ()
            self._spans_cache[d] = spans
        return spans

    # --- working time -----------------------------------------------------------------
    def is_working_time(self, at: datetime) -> bool:
        """Whether the instant lies inside a session (start included, end excluded)."""
        moment = _aware(at, "at")
        return any(s <= moment < e for s, e in self._spans(self.local_date(moment)))

    def _between(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        while day <= last:
            for s, e in self._spans(day):
                lo, hi = max(s, start), min(e, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of session time on working days inside [start, end]."""
        lo, hi = _aware(start, "start"), _aware(end, "end")
        if hi < lo:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        return self._between(lo, hi).total_seconds()

    def _duration(self, days: float, hours: float) -> timedelta:
        for name, value in (("days", days), ("hours", hours)):
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"a time limit cannot be negative: {name}={value!r}")
        return timedelta(seconds=days * self.day_seconds + hours * 3600)

    def _advance(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant at which ``amount`` of working time has passed since start.

        "Earliest" is what makes a limit that runs out exactly at 11:30 end at 11:30 and
        not at 13:30; a zero amount gives the start of the clock (the next working instant).
        """
        day, idle = start.astimezone(self.tz).date(), 0
        while True:
            spans = self._spans(day)
            idle = 0 if spans else idle + 1
            if idle > _MAX_IDLE_DAYS:
                raise CalendarError(f"no working time in the {_MAX_IDLE_DAYS} days before {day}")
            for s, e in spans:
                if e <= start:
                    continue
                begin = max(s, start)
                if amount <= e - begin:
                    return (begin + amount).astimezone(self.tz)
                amount -= e - begin
            day += timedelta(days=1)

    def add_working_time(self, start: datetime, *, days: float = 0, hours: float = 0) -> datetime:
        """The instant, in the center's zone, when a limit of days + hours runs out.

        Work received after hours, at lunch or on a day off counts from the next session.
        """
        return self._advance(_aware(start, "start"), self._duration(days, hours))

    def due_date(
        self,
        received_at: datetime,
        *,
        days: float = 0,
        hours: float = 0,
        pauses: Sequence[Pause] = (),
        now: datetime | None = None,
    ) -> datetime:
        """When a dossier's result is due, with supplement requests stopping the clock.

        The clock runs from receipt and stops during every pause; the due date is the
        earliest instant at which the running clock reaches the limit, so a pause that
        starts after that instant changes nothing.  An open pause (the citizen has not
        supplied yet) counts until ``now`` (default: the current time): the result is
        the earliest possible due date, and it moves later while the pause stays open.
        """
        received = _aware(received_at, "received_at")
        limit = self._duration(days, hours)
        current = datetime.now(UTC) if now is None else _aware(now, "now")
        spans: list[tuple[datetime, datetime]] = []
        for i, (p_start, p_end) in enumerate(pauses):
            lo = _aware(p_start, f"pauses[{i}] start")
            hi = max(current, lo) if p_end is None else _aware(p_end, f"pauses[{i}] end")
            if hi < lo:
                raise ValueError(f"pauses[{i}]: ends {hi.isoformat()} before it starts")
            lo = max(lo, received)
            if hi > lo:
                spans.append((lo, hi))
        merged: list[tuple[datetime, datetime]] = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        cursor, remaining = received, limit
        for lo, hi in merged:
            before = self._between(cursor, lo)
            if remaining <= before:
                break
            remaining -= before
            cursor = hi
        return self._advance(cursor, remaining)

    def classify(self, due_at: datetime, finished_at: datetime) -> Timeliness:
        """Early / on time / late by the center's calendar date, not by the minute.

        One-stop reports count a dossier finished on its due date as on time even after
        the due hour; for an unfinished dossier, pass the current time: LATE = overdue.
        """
        due_day = self.local_date(due_at)
        done_day = self.local_date(finished_at)
        if done_day < due_day:
            return Timeliness.EARLY
        if done_day == due_day:
            return Timeliness.ON_TIME
        return Timeliness.LATE
