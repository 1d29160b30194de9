"""Working-day arithmetic for dossier due dates, against hand-computed cases.

Default calendar: Mon–Fri, 07:00–11:30 (4.5 h) and 13:30–17:00 (3.5 h) = 8 h a day,
Vietnamese public holidays from the ``holidays`` package.  October 2025: Mon 6 … Fri 10,
Sat 11, Sun 12, Mon 13.  All times below are Vietnam time (UTC+7) unless said.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.dossiers.calendar import CalendarError, Timeliness, WorkCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN)


def test_one_day_from_monday_morning_is_tuesday_same_hour():
    # Mon 08:00–11:30 = 3.5 h, 13:30–17:00 = 3.5 h → 7 h; the 8th hour is Tue 07:00–08:00.
    assert CAL.add_working_time(vn(2025, 10, 6, 8), days=1) == vn(2025, 10, 7, 8)


def test_friday_afternoon_skips_the_weekend():
    # Fri 16:00–17:00 = 1 h; Mon 07:00–11:30 = 4.5 h (5.5 h); 2.5 h more from 13:30 → 16:00.
    assert CAL.add_working_time(vn(2025, 10, 10, 16), days=1) == vn(2025, 10, 13, 16)


def test_limit_ending_at_a_session_end_returns_that_end():
    # 07:00 + 4.5 h = 11:30 exactly: the limit runs out at lunch, not at 13:30.
    assert CAL.add_working_time(vn(2025, 10, 6, 7), hours=4.5) == vn(2025, 10, 6, 11, 30)
    # Hours alone: 07:00 + 8 h = the whole Monday → Mon 17:00.
    assert CAL.add_working_time(vn(2025, 10, 6, 7), hours=8) == vn(2025, 10, 6, 17)
    # One day from an opening ends at the next opening (issue 16.16): Tue 07:00, the
    # same date as one received at 07:01 (due Tue 07:01).
    assert CAL.add_working_time(vn(2025, 10, 6, 7), days=1) == vn(2025, 10, 7, 7)


def test_receipt_after_hours_counts_from_next_morning():
    # Mon 17:45 is after hours → clock starts Tue 07:00; + 1 day → Wed 07:00.
    assert CAL.add_working_time(vn(2025, 10, 6, 17, 45), days=1) == vn(2025, 10, 8, 7)


def test_receipt_at_lunch_counts_from_afternoon_session():
    # Mon 12:15 → clock starts 13:30; + 2 h → 15:30.
    assert CAL.add_working_time(vn(2025, 10, 6, 12, 15), hours=2) == vn(2025, 10, 6, 15, 30)


def test_receipt_on_sunday_counts_from_monday():
    # Sun 12 Oct → Mon 07:00; 4.5 h to 11:30, 0.5 h more from 13:30 → 14:00.
    assert CAL.add_working_time(vn(2025, 10, 12, 10), hours=5) == vn(2025, 10, 13, 14)


def test_zero_limit_is_the_start_of_the_clock():
    # Nothing to count: the answer is when the clock starts — Sat 20:00 → Mon 07:00.
    assert CAL.add_working_time(vn(2025, 10, 11, 20)) == vn(2025, 10, 13, 7)
    assert CAL.add_working_time(vn(2025, 10, 6, 9, 10)) == vn(2025, 10, 6, 9, 10)


def test_hours_based_limits():
    # Tue 10:00–11:30 = 1.5 h; 2.5 h more from 13:30 → 16:00.
    assert CAL.add_working_time(vn(2025, 10, 7, 10), hours=4) == vn(2025, 10, 7, 16)
    # Half a day is 4 h: same answer.
    assert CAL.add_working_time(vn(2025, 10, 7, 10), days=0.5) == vn(2025, 10, 7, 16)
    # 24 h = 3 working days from Mon 07:00 → Mon, Tue, Wed in full → Wed 17:00.
    assert CAL.add_working_time(vn(2025, 10, 6, 7), hours=24) == vn(2025, 10, 8, 17)
    # days and hours add up: 1 day + 1 h from Mon 08:00 → Tue 08:00 + 1 h = Tue 09:00.
    assert CAL.add_working_time(vn(2025, 10, 6, 8), days=1, hours=1) == vn(2025, 10, 7, 9)


def test_national_day_2025_is_skipped():
    # holidays (VN, 2025): Mon 1 Sep and Tue 2 Sep are Quốc khánh.
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert not CAL.is_working_day(date(2025, 9, 2))
    assert CAL.is_working_day(date(2025, 9, 3))
    # Fri 29 Aug 09:00 + 2 days (16 h): Fri 2.5 h + 3.5 h = 6 h; Sat–Tue off;
    # Wed 3 Sep 8 h (14 h); Thu 4 Sep 07:00 + 2 h → 09:00.
    assert CAL.add_working_time(vn(2025, 8, 29, 9), days=2) == vn(2025, 9, 4, 9)


def test_tet_2026_is_skipped():
    # holidays (VN, 2026): Tết Mon 16 – Fri 20 Feb.  Fri 13 Feb 15:00 + 1 day:
    # Fri 15:00–17:00 = 2 h; 14–22 Feb off; Mon 23 Feb 4.5 h (6.5 h) + 1.5 h from 13:30 → 15:00.
    assert [CAL.is_working_day(date(2026, 2, d)) for d in range(16, 21)] == [False] * 5
    assert CAL.add_working_time(vn(2026, 2, 13, 15), days=1) == vn(2026, 2, 23, 15)


def test_official_swap_from_the_holidays_package():
    # 2025: Fri 2 May off, paid back by working Sat 26 Apr (both known to the package).
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert CAL.is_working_day(date(2025, 4, 26))
    assert not CAL.is_working_day(date(2025, 4, 19))  # an ordinary Saturday


def test_configured_extra_day_off():
    cal = WorkCalendar(holidays={date(2025, 10, 7)})
    # Mon 08:00–17:00 = 7 h; Tue off; Wed 07:00 + 1 h → 08:00.
    assert cal.add_working_time(vn(2025, 10, 6, 8), days=1) == vn(2025, 10, 8, 8)


def test_configured_make_up_saturday():
    cal = WorkCalendar(extra_workdays=["2025-10-11"])
    assert cal.is_working_day(date(2025, 10, 11))
    # Fri 16:00–17:00 = 1 h; Sat 07:00–11:30 = 4.5 h (5.5 h); 2.5 h from 13:30 → Sat 16:00.
    assert cal.add_working_time(vn(2025, 10, 10, 16), days=1) == vn(2025, 10, 11, 16)


def test_make_up_day_wins_over_a_package_holiday():
    cal = WorkCalendar(extra_workdays={date(2025, 9, 2)})
    assert cal.is_working_day(date(2025, 9, 2))
    assert not WorkCalendar(use_vn_holidays=False, holidays={date(2025, 10, 8)}).is_working_day(
        date(2025, 10, 8)
    )
    assert WorkCalendar(use_vn_holidays=False).is_working_day(date(2025, 9, 2))


def test_result_is_in_the_center_zone_whatever_the_input_zone():
    # Fri 09:00 UTC = Fri 16:00 in Vietnam → same as the Friday case above.
    due = CAL.add_working_time(datetime(2025, 10, 10, 9, tzinfo=UTC), days=1)
    assert due == vn(2025, 10, 13, 16)
    assert due.utcoffset() == timedelta(hours=7)


def test_working_seconds_between():
    # Same session: 08:00–09:15 = 75 min.
    assert CAL.working_seconds_between(vn(2025, 10, 6, 8), vn(2025, 10, 6, 9, 15)) == 4500
    # Across lunch: 11:00–11:30 + 13:30–14:00 = 1 h.
    assert CAL.working_seconds_between(vn(2025, 10, 6, 11), vn(2025, 10, 6, 14)) == 3600
    # Fri 16:00 → Mon 09:00: 1 h Friday + 2 h Monday.
    assert CAL.working_seconds_between(vn(2025, 10, 10, 16), vn(2025, 10, 13, 9)) == 10800
    # Fri 29 Aug 16:00 → Wed 3 Sep 08:00 over the weekend and Quốc khánh: 1 h + 1 h.
    assert CAL.working_seconds_between(vn(2025, 8, 29, 16), vn(2025, 9, 3, 8)) == 7200
    # Inputs in UTC: 02:00–03:00 UTC = 09:00–10:00 Vietnam.
    start = datetime(2025, 10, 6, 2, tzinfo=UTC)
    assert CAL.working_seconds_between(start, start + timedelta(hours=1)) == 3600
    assert CAL.working_seconds_between(vn(2025, 10, 11, 8), vn(2025, 10, 12, 16)) == 0


def test_working_days_between():
    # Fri 29 Aug → Wed 3 Sep: Sat, Sun, Mon (holiday), Tue (holiday), Wed → 1.
    assert CAL.working_days_between(date(2025, 8, 29), date(2025, 9, 3)) == 1
    # Mon 6 → Fri 10 Oct: Tue, Wed, Thu, Fri → 4.
    assert CAL.working_days_between(vn(2025, 10, 6, 16), vn(2025, 10, 10, 8)) == 4
    # Fri → Mon: 1; same day: 0.
    assert CAL.working_days_between(date(2025, 10, 10), date(2025, 10, 13)) == 1
    assert CAL.working_days_between(date(2025, 10, 10), date(2025, 10, 10)) == 0
    # 23:30 UTC on Fri 10 Oct is already Sat 11 Oct in Vietnam → Sat..Mon = 1.
    assert (
        CAL.working_days_between(datetime(2025, 10, 10, 23, 30, tzinfo=UTC), date(2025, 10, 13))
        == 1
    )


def test_supplement_pause_spanning_a_weekend():
    received = vn(2025, 10, 8, 7)
    # No pause: Wed 8 h, Thu 8 h, Fri 8 h → Fri's close, which is Mon's opening for a
    # limit in days (same date as a receipt at 07:01: Mon 07:01).
    assert CAL.due_date(received, days=3) == vn(2025, 10, 13, 7)
    # Pause Fri 09:00 → Mon 10:00 covers Fri 2.5 + 3.5 = 6 h and Mon 07:00–10:00 = 3 h = 9 h.
    # Before it: Wed 8 + Thu 8 + Fri 2 = 18 h; 6 h left from Mon 10:00:
    # Mon 10:00–11:30 1.5 h + 13:30–17:00 3.5 h = 5 h; 1 h on Tue → Tue 08:00.
    pauses = [(vn(2025, 10, 10, 9), vn(2025, 10, 13, 10))]
    assert CAL.due_date(received, days=3, pauses=pauses) == vn(2025, 10, 14, 8)


def test_open_pause_stops_the_clock_until_now():
    received = vn(2025, 10, 8, 7)
    pauses: list[tuple[datetime, datetime | None]] = [(vn(2025, 10, 9, 13, 30), None)]
    # Before the pause: Wed 8 h + Thu morning 4.5 h = 12.5 h; 11.5 h left.
    # now = Fri 09:00: the clock restarts there; Fri 09:00–17:00 = 6 h; Mon 4.5 h (10.5 h);
    # 1 h from 13:30 → Mon 14:30.
    due = CAL.due_date(received, days=3, pauses=pauses, now=vn(2025, 10, 10, 9))
    assert due == vn(2025, 10, 13, 14, 30)
    # Still open on Mon 07:00: 11.5 h from Mon 07:00 → Mon 8 h, Tue 3.5 h → Tue 10:30.
    later = CAL.due_date(received, days=3, pauses=pauses, now=vn(2025, 10, 13, 7))
    assert later == vn(2025, 10, 14, 10, 30)


def test_pauses_that_do_not_move_the_due_date():
    received = vn(2025, 10, 8, 7)
    # After the limit ran out (Fri's close = Mon 07:00): nothing to push.
    after = [(vn(2025, 10, 13, 8), vn(2025, 10, 14, 8))]
    assert CAL.due_date(received, days=3, pauses=after) == vn(2025, 10, 13, 7)
    # Over a weekend only: no working time covered.
    weekend = [(vn(2025, 10, 11, 8), vn(2025, 10, 12, 16))]
    assert CAL.due_date(received, days=3, pauses=weekend) == vn(2025, 10, 13, 7)
    # Before receipt: clipped away.
    before = [(vn(2025, 10, 6, 8), vn(2025, 10, 8, 7))]
    assert CAL.due_date(received, days=3, pauses=before) == vn(2025, 10, 13, 7)


def test_overlapping_pauses_count_once():
    received = vn(2025, 10, 8, 7)
    # Thu 08:00–10:00 and Thu 09:00–11:00 → one pause Thu 08:00–11:00 = 3 h → Mon 07:00 + 3 h.
    pauses = [(vn(2025, 10, 9, 8), vn(2025, 10, 9, 10)), (vn(2025, 10, 9, 9), vn(2025, 10, 9, 11))]
    assert CAL.due_date(received, days=3, pauses=pauses) == vn(2025, 10, 13, 10)


def test_classify_by_date_in_the_center_zone():
    due = vn(2025, 10, 10, 17)  # Fri 10 Oct 17:00 = 10:00 UTC
    # Thu 9 Oct 23:59 Vietnam → before the due date → early.
    assert CAL.classify(due, vn(2025, 10, 9, 23, 59)) is Timeliness.EARLY
    # 23:30 UTC on Thu 9 Oct = Fri 10 Oct 06:30 in Vietnam → the due date → on time
    # (a UTC date would wrongly say early).
    assert CAL.classify(due, datetime(2025, 10, 9, 23, 30, tzinfo=UTC)) == "on_time"
    # Same date, after the due hour: still on time.
    assert CAL.classify(vn(2025, 10, 10, 11, 30), vn(2025, 10, 10, 16)) is Timeliness.ON_TIME
    # 23:30 UTC on Fri 10 Oct = Sat 11 Oct 06:30 in Vietnam → late (UTC would say on time).
    assert CAL.classify(due, datetime(2025, 10, 10, 23, 30, tzinfo=UTC)) == "late"
    assert Timeliness.LATE.label() == "Trễ hạn"
    assert Timeliness.EARLY.label("en") == "Early"


def test_naive_datetimes_and_negative_limits_are_refused():
    naive = datetime(2025, 10, 6, 8)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_time(naive, days=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_seconds_between(vn(2025, 10, 6, 8), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.classify(naive, vn(2025, 10, 6, 8))
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(vn(2025, 10, 6, 8), days=-1)
    with pytest.raises(ValueError, match="negative"):
        CAL.due_date(vn(2025, 10, 6, 8), hours=-0.5)
    with pytest.raises(ValueError, match="before"):
        CAL.working_seconds_between(vn(2025, 10, 6, 9), vn(2025, 10, 6, 8))
    with pytest.raises(ValueError, match="before it starts"):
        CAL.due_date(vn(2025, 10, 6, 8), days=1, pauses=[(vn(2025, 10, 6, 9), vn(2025, 10, 6, 8))])


def test_bad_configuration_is_refused():
    with pytest.raises(CalendarError, match="HH:MM"):
        WorkCalendar(sessions=[("7h", "11:30")])
    with pytest.raises(CalendarError, match="ends before"):
        WorkCalendar(sessions=[("11:30", "07:00")])
    with pytest.raises(CalendarError, match="starts before"):
        WorkCalendar(sessions=[("07:00", "12:00"), ("11:00", "17:00")])
    with pytest.raises(CalendarError, match="workdays"):
        WorkCalendar(workdays=[])
    with pytest.raises(CalendarError, match="time zone"):
        WorkCalendar(tz="Asia/Hanoi_Nowhere")
    with pytest.raises(CalendarError, match="both"):
        WorkCalendar(holidays=[date(2025, 10, 7)], extra_workdays=[date(2025, 10, 7)])


def test_custom_sessions_keep_one_day_equal_to_the_session_day():
    # 07:30–11:30 (4 h) + 13:00–16:30 (3.5 h) = 7.5 h a day; Mon 08:00 + 1 day → Tue 08:00.
    cal = WorkCalendar(sessions=[(time(7, 30), time(11, 30)), ("13:00", "16:30")])
    assert cal.day_seconds == 7.5 * 3600
    assert cal.add_working_time(vn(2025, 10, 6, 8), days=1) == vn(2025, 10, 7, 8)
    # Forcing 8 h: Mon 08:00–16:30 = 7 h, Tue 07:30 + 1 h → 08:30.
    forced = WorkCalendar(sessions=[("07:30", "11:30"), ("13:00", "16:30")], day_hours=8)
    assert forced.add_working_time(vn(2025, 10, 6, 8), days=1) == vn(2025, 10, 7, 8, 30)


# --- properties ---------------------------------------------------------------------
_SESSION_MINUTES = list(range(7 * 60, 11 * 60 + 30)) + list(range(13 * 60 + 30, 17 * 60))


@st.composite
def working_instants(draw: st.DrawFn) -> datetime:
    day = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)))
    assume(CAL.is_working_day(day))
    minute = draw(st.sampled_from(_SESSION_MINUTES))
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=VN)


_FAST = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)


@_FAST
@given(start=working_instants(), quarters=st.integers(min_value=0, max_value=400))
def test_adding_then_measuring_gives_back_the_duration(start: datetime, quarters: int):
    hours = quarters / 4
    end = CAL.add_working_time(start, hours=hours)
    assert CAL.working_seconds_between(start, end) == quarters * 900


@_FAST
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(VN)
    ),
    a=st.integers(min_value=0, max_value=400),
    b=st.integers(min_value=0, max_value=400),
)
def test_longer_limits_never_end_earlier(start: datetime, a: int, b: int):
    short, long = sorted((a, b))
    assert CAL.add_working_time(start, hours=short / 4) <= CAL.add_working_time(
        start, hours=long / 4
    )


def test_a_calendar_without_working_time_fails_instead_of_looping():
    # Only Sundays are workdays and every Sunday of 2025–2029 is a day off.
    sundays = [date(2025, 1, 5) + timedelta(weeks=w) for w in range(5 * 53)]
    cal = WorkCalendar(workdays={6}, holidays=sundays, use_vn_holidays=False)
    with pytest.raises(CalendarError, match="no working time"):
        cal.add_working_time(vn(2025, 1, 1, 8), hours=1)
