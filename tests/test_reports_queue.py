"""Queue report figures against a day computed by hand (tests/reports_fixtures.py)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import pytest

from server import tickets as q
from server.reports import parse_period, queue_report
from server.reports.period import Period
from server.reports.stats import percentiles, summary
from tests.reports_fixtures import DAY, TZ, at, build_day, next_day_ticket, staff_accounts


def _day_report(ctx, first=date(2026, 11, 25), last=date(2026, 11, 25)):
    staff_accounts(ctx.db, ctx.now())
    day = build_day(ctx.db, ctx.cfg)
    return queue_report(ctx.db, ctx.cfg, Period(first, last, TZ), day.end), day


def test_totals_and_times_match_the_hand_computed_day(ctx):
    r, _ = _day_report(ctx)
    tot = r["totals"]
    assert (tot["issued"], tot["served"], tot["no_show"], tot["cancelled"]) == (7, 4, 1, 1)
    assert (tot["transferred"], tot["open"]) == (1, 1)
    # waits 10, 19, 8 (C's first call, before its transfer), 26, 20 (F waited across a pause)
    assert tot["wait"] == {
        "count": 5,
        "mean_min": 16.6,
        "p50_min": 19.0,
        "p90_min": 26.0,
        "max_min": 26.0,
    }
    # services 9, 8, 14 (C's final visit at counter 2), 19
    assert tot["service_time"] == {
        "count": 4,
        "mean_min": 12.5,
        "p50_min": 9.0,
        "p90_min": 19.0,
        "max_min": 19.0,
    }
    assert (r["from"], r["to"], r["days"]) == ("2026-11-25", "2026-11-25", 1)


def test_by_service_counts_tickets_under_the_service_they_were_issued_for(ctx):
    r, _ = _day_report(ctx)
    rows = {s["service"]: s for s in r["by_service"]}
    assert set(rows) == {"DD", "HT"}
    dd, ht = rows["DD"], rows["HT"]
    assert dd["name"] == "Đất đai" and ht["name"] == "Hộ tịch – Tư pháp"
    assert (dd["issued"], dd["served"], dd["open"], dd["no_show"]) == (4, 3, 1, 0)
    assert dd["wait"]["mean_min"] == 18.3  # (10 + 19 + 26) / 3
    assert dd["service_time"]["mean_min"] == 12.0  # (9 + 8 + 19) / 3
    assert (ht["issued"], ht["served"], ht["no_show"], ht["cancelled"], ht["transferred"]) == (
        3,
        1,
        1,
        1,
        1,
    )
    assert (ht["wait"]["p50_min"], ht["wait"]["p90_min"]) == (8.0, 20.0)
    assert ht["service_time"]["max_min"] == 14.0


def test_per_counter_and_per_staff_with_transfers_no_shows_and_pauses(ctx):
    r, _ = _day_report(ctx)
    c = {row["counter"]: row for row in r["by_counter"]}
    assert (c[1]["served"], c[1]["service_time"]["mean_min"], c[1]["service_total_min"]) == (
        3,
        12.0,
        36.0,
    )
    assert (c[2]["served"], c[2]["service_time"]["mean_min"]) == (1, 14.0)
    assert (c[3]["served"], c[3]["no_show"], c[3]["transferred_out"]) == (0, 1, 1)
    assert (c[3]["pauses"], c[3]["pause_min"]) == (1, 15.0)  # break 09:19–09:34
    assert (c[2]["pauses"], c[2]["pause_min"]) == (1, 15.0)  # meeting 09:45, still on at 10:00
    assert c[1]["name"] == "Quầy 1"
    s = {row["staff"]: row for row in r["by_staff"]}
    assert s["staff1"]["full_name"] == "Nguyễn Văn An"
    assert (s["staff1"]["served"], s["staff2"]["served"], s["staff3"]["served"]) == (3, 1, 0)
    assert (s["staff3"]["no_show"], s["staff3"]["transferred_out"]) == (1, 1)
    assert s["staff2"]["service_time"]["max_min"] == 14.0


def test_pauses_by_reason(ctx):
    r, _ = _day_report(ctx)
    pauses = {p["reason"]: p for p in r["pauses"]}
    assert pauses["break"] == {
        "reason": "break",
        "label": "Nghỉ giải lao",
        "count": 1,
        "total_min": 15.0,
        "mean_min": 15.0,
        "max_min": 15.0,
    }
    assert pauses["meeting"]["label"] == "Họp" and pauses["meeting"]["total_min"] == 15.0


def test_tickets_by_local_hour(ctx):
    r, _ = _day_report(ctx)
    assert [(h["hour"], h["issued"]) for h in r["by_hour"]] == [(9, 7)]
    assert r["by_hour"][0]["wait"]["mean_min"] == 16.6


def test_a_range_of_days_includes_each_day_and_nothing_else(ctx):
    staff_accounts(ctx.db, ctx.now())
    day = build_day(ctx.db, ctx.cfg)
    next_day_ticket(ctx.db, ctx.cfg)
    one = queue_report(ctx.db, ctx.cfg, Period(date(2026, 11, 26), date(2026, 11, 26), TZ), day.end)
    assert one["totals"]["issued"] == 1 and one["totals"]["wait"]["mean_min"] == 3.0
    assert one["pauses"] == []
    both = queue_report(
        ctx.db, ctx.cfg, Period(date(2026, 11, 25), date(2026, 11, 26), TZ), day.end
    )
    assert both["totals"]["issued"] == 8 and both["totals"]["served"] == 5
    assert both["days"] == 2
    before = queue_report(
        ctx.db, ctx.cfg, Period(date(2026, 11, 1), date(2026, 11, 24), TZ), day.end
    )
    assert before["totals"]["issued"] == 0 and before["totals"]["wait"]["mean_min"] is None


def test_percentile_is_nearest_rank():
    assert percentiles(Counter([4, 3, 2, 1]), 0.5) == [2]
    assert percentiles(Counter(range(1, 11)), 0.5, 0.9) == [5, 9]
    assert percentiles(Counter([7]), 0.5, 0.9) == [7, 7]
    assert percentiles(Counter([5, 5, 5, 9]), 0.5, 0.75, 0.9) == [5, 5, 9]
    assert summary(Counter([60, 120, 120, 600])) == {
        "count": 4,
        "mean_min": 3.8,
        "p50_min": 2.0,
        "p90_min": 10.0,
        "max_min": 10.0,
    }
    assert summary(Counter()) == {
        "count": 0,
        "mean_min": None,
        "p50_min": None,
        "p90_min": None,
        "max_min": None,
    }


@pytest.mark.parametrize(
    ("frm", "to", "code"),
    [
        ("2026-11-31", None, "bad_date"),
        ("25/11/2026", None, "bad_date"),
        ("2026-11-25", "2026-11-01", "bad_range"),
        ("2025-01-01", "2026-11-25", "range_too_long"),
        ("9999-12-31", None, "bad_date"),
        ("0001-01-01", None, "bad_date"),
    ],
)
def test_bad_periods_are_refused_with_clear_codes(frm, to, code):
    from server.errors import BadRequest

    with pytest.raises(BadRequest) as err:
        parse_period(frm, to, TZ, DAY)
    assert err.value.code == code


def test_missing_dates_default_to_today_or_the_other_end():
    p = parse_period(None, None, TZ, DAY.replace(hour=23, minute=30))
    assert (p.day_from, p.day_to) == ("2026-11-25", "2026-11-25")
    p = parse_period("2026-11-01", None, TZ, DAY)
    assert (p.day_from, p.day_to) == ("2026-11-01", "2026-11-01")
    p = parse_period(None, "2026-11-03", TZ, DAY)
    assert (p.day_from, p.day_to) == ("2026-11-03", "2026-11-03")
    assert parse_period("2026-01-01", "2026-12-31", TZ, DAY).days == 365


def _cached_days(db) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute("SELECT day FROM report_day ORDER BY day")]


def test_past_days_are_cached_and_a_late_change_is_seen(ctx):
    """A past day's groups are kept after the first report; a later change to one of that
    day's tickets (G, left waiting, cancelled the next morning) drops them, so the next
    report counts it — and a cached report equals one computed from scratch."""
    staff_accounts(ctx.db, ctx.now())
    day = build_day(ctx.db, ctx.cfg)
    period = Period(date(2026, 11, 25), date(2026, 11, 25), TZ)
    next_morning = at(8, 0, DAY + timedelta(days=1))

    first = queue_report(ctx.db, ctx.cfg, period, next_morning)
    assert _cached_days(ctx.db) == ["2026-11-25"]
    again = queue_report(ctx.db, ctx.cfg, period, next_morning)
    assert again == first
    assert (first["totals"]["cancelled"], first["totals"]["open"]) == (1, 1)

    q.cancel(ctx.db, ctx.cfg, day.tickets["G"]["id"], "staff1", next_morning)
    later = queue_report(ctx.db, ctx.cfg, period, next_morning + timedelta(minutes=5))
    assert (later["totals"]["cancelled"], later["totals"]["open"]) == (2, 0)
    with ctx.db.write() as conn:
        conn.execute("DELETE FROM report_day")
    fresh = queue_report(ctx.db, ctx.cfg, period, next_morning + timedelta(minutes=5))
    assert {k: v for k, v in fresh.items() if k != "generated_at"} == {
        k: v for k, v in later.items() if k != "generated_at"
    }


def test_today_is_never_cached(ctx):
    staff_accounts(ctx.db, ctx.now())
    day = build_day(ctx.db, ctx.cfg)
    queue_report(ctx.db, ctx.cfg, Period(date(2026, 11, 25), date(2026, 11, 25), TZ), day.end)
    assert _cached_days(ctx.db) == []


def test_reports_racing_late_changes_never_keep_a_stale_day(ctx):
    """Threads taking reports over a past day while another cancels that day's leftover
    tickets one by one: whatever interleaving happens, the report taken after the last
    change counts every cancellation (a day cached from a snapshot older than a change
    must not survive it)."""
    staff_accounts(ctx.db, ctx.now())
    leftovers = [
        q.issue(ctx.db, ctx.cfg, service="DD", now=at(16, minute)) for minute in range(0, 40)
    ]
    period = Period(date(2026, 11, 25), date(2026, 11, 25), TZ)
    later = at(8, 0, DAY + timedelta(days=1))
    stop = threading.Event()
    errors: list[BaseException] = []

    def reporter() -> None:
        while not stop.is_set():
            try:
                queue_report(ctx.db, ctx.cfg, period, later)
            except BaseException as exc:  # a failed report must fail the test
                errors.append(exc)
                return

    readers = [threading.Thread(target=reporter) for _ in range(3)]
    for r in readers:
        r.start()
    for i, t in enumerate(leftovers):
        q.cancel(ctx.db, ctx.cfg, t["id"], "boss", later + timedelta(seconds=i))
    stop.set()
    for r in readers:
        r.join(timeout=30)
    assert not errors
    final = queue_report(ctx.db, ctx.cfg, period, later + timedelta(minutes=5))
    assert (final["totals"]["cancelled"], final["totals"]["open"]) == (40, 0)
