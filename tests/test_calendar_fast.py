"""The working-day arithmetic counts by weeks and overrides (issue 15.1: a due date in
year 9999 walked and cached 2.9 million days).  Each fast answer is compared with a naive
walk over the days, on random calendars and ranges; and the boundary cases of issue 16.16
(receipt at 06:59, 07:00, 07:01, 11:30, 13:29, 17:00, 17:01, on a Saturday, a holiday).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.dossiers.calendar import WorkCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()
_FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN)


# --- the naive references: one day at a time ---------------------------------------------
def naive_count(cal: WorkCalendar, first: date, last: date) -> int:
    return sum(
        cal.is_working_day(first + timedelta(days=k)) for k in range((last - first).days + 1)
    )


def naive_between(cal: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    total, day = timedelta(0), start.astimezone(cal.tz).date()
    while day <= end.astimezone(cal.tz).date():
        for s, e in cal._spans(day):
            lo, hi = max(s, start), min(e, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def naive_advance(cal: WorkCalendar, start: datetime, amount: timedelta) -> datetime:
    day = start.astimezone(cal.tz).date()
    while True:
        for s, e in cal._spans(day):
            if e <= start:
                continue
            begin = max(s, start)
            if amount <= e - begin:
                return (begin + amount).astimezone(cal.tz)
            amount -= e - begin
        day += timedelta(days=1)


# --- random calendars ----------------------------------------------------------------------
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    workdays = draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))
    off = draw(st.sets(DAYS, max_size=30))
    extra = draw(st.sets(DAYS, max_size=10)) - off
    return WorkCalendar(
        workdays=workdays,
        holidays=off,
        extra_workdays=extra,
        use_vn_holidays=draw(st.booleans()),
    )


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    day = draw(DAYS)
    minute = draw(st.integers(0, 24 * 60 - 1))
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=VN)


@_FAST
@given(cal=calendars(), a=DAYS, b=DAYS)
def test_counting_matches_a_day_walk(cal: WorkCalendar, a: date, b: date):
    first, last = sorted((a, b))
    assert cal.count_working_days(first, last) == naive_count(cal, first, last)
    assert cal.working_days_between(first, last) == naive_count(
        cal, first + timedelta(days=1), last
    )


@_FAST
@given(cal=calendars(), a=instants(), b=instants())
def test_working_time_between_matches_a_day_walk(cal: WorkCalendar, a: datetime, b: datetime):
    start, end = sorted((a, b))
    assert cal.working_seconds_between(start, end) == naive_between(cal, start, end).total_seconds()


@_FAST
@given(cal=calendars(), start=instants(), quarters=st.integers(0, 4 * 8 * 200))
def test_adding_hours_matches_a_day_walk(cal: WorkCalendar, start: datetime, quarters: int):
    amount = timedelta(minutes=15 * quarters)
    assert cal.add_working_time(start, hours=quarters / 4) == naive_advance(cal, start, amount)


@_FAST
@given(cal=calendars(), d=DAYS, n=st.integers(1, 300))
def test_nth_working_day_matches_a_day_walk(cal: WorkCalendar, d: date, n: int):
    walk, found = d, 0
    while found < n:
        walk += timedelta(days=1)
        found += cal.is_working_day(walk)
    assert cal.working_day_after(d, n) == walk


def test_a_far_range_is_counted_without_walking_its_days():
    # Year 1 to year 9999: the weeks arithmetic, the package's years and nothing else.
    cal = WorkCalendar()
    total = cal.count_working_days(date(1, 1, 1), date(9999, 12, 30))
    walk_2026 = naive_count(cal, date(2026, 1, 1), date(2026, 12, 31))
    assert cal.count_working_days(date(2026, 1, 1), date(2026, 12, 31)) == walk_2026
    assert 2_500_000 < total < 2_700_000
    # Ten years of working days from now caches a handful of days, not thousands.
    due = cal.add_working_time(vn(2026, 11, 25, 9), days=2500)
    assert due.year == 2036
    assert len(cal._spans_cache) < 10


# --- issue 16.16: the receipt boundary ---------------------------------------------------
@pytest.mark.parametrize(
    ("received", "due"),
    [
        (vn(2026, 11, 23, 6, 59), vn(2026, 11, 25, 7)),  # before opening: counts from 07:00
        (vn(2026, 11, 23, 7, 0), vn(2026, 11, 25, 7)),  # at opening: the same
        (vn(2026, 11, 23, 7, 1), vn(2026, 11, 25, 7, 1)),  # a minute later: same date
        (vn(2026, 11, 23, 11, 30), vn(2026, 11, 25, 13, 30)),  # lunch: from 13:30
        (vn(2026, 11, 23, 13, 29), vn(2026, 11, 25, 13, 30)),
        (vn(2026, 11, 23, 17, 0), vn(2026, 11, 26, 7)),  # at close: next morning
        (vn(2026, 11, 23, 17, 1), vn(2026, 11, 26, 7)),  # after hours: next morning
        (vn(2026, 11, 21, 10, 0), vn(2026, 11, 25, 7)),  # Saturday: from Monday 07:00
        # Tue 24 Nov 2026 is Vietnam Cultural Day (a public holiday since 2026).
        (vn(2026, 11, 24, 9, 0), vn(2026, 11, 26, 7)),
    ],
)
def test_receipt_boundary_gives_one_due_date(received: datetime, due: datetime):
    # One working day from Mon 23 Nov 2026; Tue 24 is a holiday, so the day after Mon is Wed.
    assert CAL.add_working_time(received, days=1) == due
    assert CAL.due_date(received, days=1) == due


def test_receipt_at_or_before_opening_and_a_minute_later_share_a_due_date():
    # Two working days: Mon 07:00 and Mon 07:01 → Thu (Tue is a holiday) — one date.
    at_open = CAL.add_working_time(vn(2026, 11, 23, 7), days=2)
    later = CAL.add_working_time(vn(2026, 11, 23, 7, 1), days=2)
    assert at_open == vn(2026, 11, 26, 7)
    assert later == vn(2026, 11, 26, 7, 1)
    evening = CAL.add_working_time(vn(2026, 11, 20, 17, 30), days=2)  # Fri after hours
    assert evening == vn(2026, 11, 26, 7)
    assert CAL.add_working_time(vn(2026, 11, 23, 6, 59), days=2) == at_open
    # Hours alone keep the earliest instant: 8 h from Mon 07:00 is Mon 17:00.
    assert CAL.add_working_time(vn(2026, 11, 23, 7), hours=8) == vn(2026, 11, 23, 17)
    assert at_open.astimezone(UTC).date() == date(2026, 11, 26)
