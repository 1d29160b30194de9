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
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.i18n import t
from server.workdays import DayRules, weekday_count
from server.workdays import for_config as day_rules

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
    """The center's working time: sessions on working days.

    Which dates are working days is ``server.workdays.DayRules`` — the same rules the
    kiosks open by: a make-up working day (``extra_workdays``) works; a day off
    (``holidays``) or a Vietnamese public holiday does not; an official make-up Saturday
    works; otherwise the weekday decides (``workdays``).
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
        days: DayRules | None = None,
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
        if days is None:
            off = frozenset(_day(d, "holidays") for d in holidays)
            extra = frozenset(_day(d, "extra_workdays") for d in extra_workdays)
            days = DayRules(off, extra, use_vn_holidays)
        both = days.holidays & days.extra_workdays
        if both:
            raise CalendarError(f"{min(both)} is both a day off and a make-up working day")
        self.days = days
        self.holidays = days.holidays
        self.extra_workdays = days.extra_workdays
        self.use_vn_holidays = days.use_vn_holidays
        self.session_time = sum(
            (
                datetime.combine(date.min, e) - datetime.combine(date.min, s)
                for s, e in self.sessions
            ),
            timedelta(0),
        )
        if day_hours is not None and not (math.isfinite(day_hours) and day_hours > 0):
            raise CalendarError(f"day_hours: must be a positive number, got {day_hours!r}")
        seconds = self.session_time.total_seconds()
        self.day_seconds = day_hours * 3600 if day_hours is not None else seconds
        self._spans_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}
        #: Per year: the dates whose status differs from the weekly pattern, with the
        #: running sum of +1 (works anyway) / -1 (off anyway), and the year's total.
        self._year_deltas: dict[int, tuple[list[date], list[int]]] = {}

    @classmethod
    def from_config(cls, config: Config, *, use_vn_holidays: bool = True) -> WorkCalendar:
        """The calendar of a loaded configuration (its opening hours are the working hours).

        The dates come from ``server.workdays.for_config`` — the kiosks' own rules."""
        hours = config.work_hours or config.hours
        rules = day_rules(config)
        if rules.use_vn_holidays != use_vn_holidays:
            rules = DayRules(rules.holidays, rules.extra_workdays, use_vn_holidays)
        return cls(tz=config.timezone, sessions=hours.sessions, workdays=hours.days, days=rules)

    # --- days -------------------------------------------------------------------------
    def local_date(self, at: datetime) -> date:
        """The center's calendar date of an instant."""
        return _aware(at, "at").astimezone(self.tz).date()

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` has working sessions (an aware datetime means its local date)."""
        if isinstance(d, datetime):
            d = self.local_date(d)
        return self.days.is_working_day(d, self.workdays)

    def _deltas(self, year: int) -> tuple[list[date], list[int]]:
        hit = self._year_deltas.get(year)
        if hit is None:
            dates: list[date] = []
            sums: list[int] = []
            total = 0
            for d, works in self.days.year_overrides(year):
                delta = int(works) - int(d.weekday() in self.workdays)
                if delta:
                    total += delta
                    dates.append(d)
                    sums.append(total)
            hit = (dates, sums)
            if len(self._year_deltas) > 512:
                self._year_deltas.clear()
            self._year_deltas[year] = hit
        return hit

    def count_working_days(self, first: date, last: date) -> int:
        """Working days in [first, last]: weeks arithmetic, then the overrides in range
        (found by bisection in each year that has any) — never a walk over the days."""
        if last < first:
            return 0
        count = weekday_count(first, last, self.workdays)
        for year in self.days.years_with_overrides(first.year, last.year):
            dates, sums = self._deltas(year)
            if not dates:
                continue
            lo = bisect_left(dates, first) if year == first.year else 0
            hi = bisect_right(dates, last) if year == last.year else len(dates)
            if hi > lo:
                count += sums[hi - 1] - (sums[lo - 1] if lo else 0)
        return count

    def working_day_after(self, d: date, n: int = 1) -> date:
        """The ``n``-th working day after ``d`` (n ≥ 1), found by bisection on the count."""
        if n < 1:
            raise ValueError(f"working_day_after: n must be at least 1, got {n}")
        if (date.max - d).days <= 7 * n + 2 * _MAX_IDLE_DAYS:
            raise CalendarError(f"no {n} working days after {d} in the calendar")
        if self.count_working_days(d + timedelta(days=1), d + timedelta(days=_MAX_IDLE_DAYS)) == 0:
            raise CalendarError(f"no working time in the {_MAX_IDLE_DAYS} days after {d}")
        # A first guess a little past the answer (weeks of workdays, plus room for a
        # year's holidays), so the count never reads the package for years beyond it.
        span = n * 7 // len(self.workdays) * 11 // 10 + 21
        while True:
            if (date.max - d).days <= span:
                raise CalendarError(f"no {n} working days after {d} in the calendar")
            hi = d + timedelta(days=span)
            if self.count_working_days(d + timedelta(days=1), hi) >= n:
                break
            if span > _MAX_IDLE_DAYS * (n + 1):
                raise CalendarError(f"no working time in the {span} days after {d}")
            span *= 2
        lo_days, hi_days = 1, span  # the answer is d + k days with lo_days <= k <= hi_days
        while lo_days < hi_days:
            mid = (lo_days + hi_days) // 2
            if self.count_working_days(d + timedelta(days=1), d + timedelta(days=mid)) >= n:
                hi_days = mid
            else:
                lo_days = mid + 1
        return d + timedelta(days=lo_days)

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days after ``a``'s date up to and including ``b``'s date.

        The staleness watch asks "how many working days has this dossier sat since its
        last event": last touched Friday, asked Monday → 1 (the weekend does not count).
        """
        first = self.local_date(a) if isinstance(a, datetime) else a
        last = self.local_date(b) if isinstance(b, datetime) else b
        if last < first:
            raise ValueError(f"working_days_between: {last} is before {first}")
        if first == date.max:
            return 0
        return self.count_working_days(first + timedelta(days=1), last)

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
            if len(self._spans_cache) > 4096:
                self._spans_cache.clear()
            self._spans_cache[d] = spans
        return spans

    def _opening(self, d: date) -> datetime:
        """The first session's start on a working date (UTC)."""
        return self._spans(d)[0][0]

    def day_end(self, at: datetime) -> datetime:
        """The end of the last session of the working day an instant falls on."""
        return self._spans(self.local_date(at))[-1][1].astimezone(self.tz)

    # --- working time -----------------------------------------------------------------
    def is_working_time(self, at: datetime) -> bool:
        """Whether the instant lies inside a session (start included, end excluded)."""
        moment = _aware(at, "at")
        return any(s <= moment < e for s, e in self._spans(self.local_date(moment)))

    def _within(self, d: date, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        for s, e in self._spans(d):
            lo, hi = max(s, start), min(e, end)
            if hi > lo:
                total += hi - lo
        return total

    def _between(self, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return timedelta(0)
        first, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        if first == last:
            return self._within(first, start, end)
        whole = self.count_working_days(first + timedelta(days=1), last - timedelta(days=1))
        return (
            self._within(first, start, end)
            + whole * self.session_time
            + self._within(last, start, end)
        )

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

    def _fill(self, d: date, start: datetime | None, amount: timedelta) -> datetime | None:
        """Where ``amount`` of working time runs out on date ``d`` counting from ``start``
        (None: from the day's opening), or None when the day holds less than that."""
        for s, e in self._spans(d):
            if start is not None and e <= start:
                continue
            begin = s if start is None else max(s, start)
            if amount <= e - begin:
                return begin + amount
            amount -= e - begin
        return None

    def _advance(self, start: datetime, amount: timedelta, *, whole_days: bool = False) -> datetime:
        """The earliest instant at which ``amount`` of working time has passed since start.

        "Earliest" is what makes a limit that runs out exactly at 11:30 end at 11:30 and
        not at 13:30; a zero amount gives the start of the clock (the next working instant).
        With ``whole_days`` (a limit counted in days), a limit that runs out exactly at a
        session's close ends at the next session's opening instead: the close and the next
        opening are the same point of working time, and N days from an opening must end
        at an opening — otherwise a dossier received at 07:00 (or after hours, whose clock
        starts at 07:00 next morning) would be due a date earlier than one received at
        07:01.
        """
        day = start.astimezone(self.tz).date()
        rest = self._within(day, start, datetime.max.replace(tzinfo=UTC))
        if amount <= rest and (amount or rest):
            end = self._fill(day, start, amount)
            assert end is not None
        else:
            remaining = amount - rest
            if not remaining:
                return self._opening(self.working_day_after(day)).astimezone(self.tz)
            whole, part = divmod(remaining, self.session_time)
            if not part:
                whole, part = whole - 1, self.session_time
            day = self.working_day_after(day, whole + 1)
            end = self._fill(day, None, part)
            assert end is not None
        if whole_days and amount:
            spans = self._spans(day)
            ends = [e for _, e in spans]
            if end in ends:
                i = ends.index(end)
                end = (
                    spans[i + 1][0]
                    if i + 1 < len(spans)
                    else self._opening(self.working_day_after(day))
                )
        return end.astimezone(self.tz)

    def add_working_time(self, start: datetime, *, days: float = 0, hours: float = 0) -> datetime:
        """The instant, in the center's zone, when a limit of days + hours runs out.

        Work received after hours, at lunch or on a day off counts from the next session.
        """
        return self._advance(
            _aware(start, "start"), self._duration(days, hours), whole_days=days > 0
        )

    def clock_start(self, received_at: datetime, cutoff: time | None = None) -> datetime:
        """When a dossier's clock starts: the next working instant at or after receipt, or
        — for a procedure with a same-day cut-off received at or after it — the next
        working day's opening."""
        start = self._advance(_aware(received_at, "received_at"), timedelta(0))
        if cutoff is not None and start.astimezone(self.tz).time() >= cutoff:
            start = self._opening(self.working_day_after(start.astimezone(self.tz).date()))
        return start.astimezone(self.tz)

    def due_date(
        self,
        received_at: datetime,
        *,
        days: float = 0,
        hours: float = 0,
        pauses: Sequence[Pause] = (),
        now: datetime | None = None,
        cutoff: time | None = None,
    ) -> datetime:
        """When a dossier's result is due, with supplement requests stopping the clock.

        The clock runs from receipt and stops during every pause; the due date is the
        earliest instant at which the running clock reaches the limit, so a pause that
        starts after that instant changes nothing.  An open pause (the citizen has not
        supplied yet) counts until ``now`` (default: the current time): the result is
        the earliest possible due date, and it moves later while the pause stays open.

        A same-day ``cutoff`` (chứng thực: received before 15:00, returned the same day,
        Decree 23/2015) moves a receipt at or after it to the next working morning, and
        makes a limit shorter than one working day (or none) end by the close of the day
        the clock starts on.
        """
        received = _aware(received_at, "received_at")
        limit = self._duration(days, hours)
        whole_days = days > 0
        if cutoff is not None:
            received = self.clock_start(received, cutoff).astimezone(UTC)
            if limit < timedelta(seconds=self.day_seconds):
                rest = self._between(received, self.day_end(received))
                limit, whole_days = (min(limit, rest) if limit else rest), False
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
        return self._advance(cursor, remaining, whole_days=whole_days)

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
