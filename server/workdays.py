"""Which dates are working days: one source for the kiosks' opening days and the dossier
clock, so a make-up Saturday that counts on a dossier's due date also issues tickets.

A date's status beyond the weekly pattern (``override``) comes from, in this order:
the center's make-up working days (config ``extra_workdays``, then what an admin saved on
/admin/days), its extra days off (``holidays``), then Vietnam's public holidays and
official make-up Saturdays from the ``holidays`` package.  The Government's yearly day
swaps (a bridge day off paid back on a Saturday) are announced each year and the package
does not always know them, so config.yaml ships them as a holiday plus an extra workday.

Counting working days must not walk the calendar: a range costs the number of years that
hold overrides, not the number of days (issue 15: a due date in year 9999 walked 2.9
million days).  The package is consulted for ``VN_YEARS`` only; outside them only the
weekly pattern and the configured days apply.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

import holidays as holidays_pkg

from server.per_config import PerConfig

if TYPE_CHECKING:
    from server.config import Config

log = logging.getLogger(__name__)

#: Years for which Vietnam's public holidays are read from the ``holidays`` package (its
#: lunar calendar ends with 2100).
VN_YEARS = range(1990, 2101)


@lru_cache(maxsize=512)
def _vn_table(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off dated in ``year``, every make-up day the package lists with that year)."""
    table = holidays_pkg.country_holidays("VN", years=year)
    return frozenset(d for d in table if d.year == year), frozenset(table.weekend_workdays)


@lru_cache(maxsize=512)
def vn_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """Vietnam's days off and make-up working Saturdays dated in one year.

    A swap can cross New Year (the 2 Jan 2015 day off was paid back on Saturday
    27 Dec 2014, and ``holidays`` files it under 2015), so the next year's table is read
    for its make-up days too.
    """
    if year not in VN_YEARS:
        return frozenset(), frozenset()
    closed = _vn_table(year)[0]
    makeup = (
        frozenset(d for d in _vn_table(year)[1] | _vn_table(year + 1)[1] if d.year == year) - closed
    )
    if not closed:
        log.warning("the holidays package knows no Vietnamese holiday in %d", year)
    return closed, makeup


class DayRules:
    """Days off and make-up working days that override the weekly pattern."""

    def __init__(
        self,
        holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        use_vn_holidays: bool = True,
    ) -> None:
        self.holidays = frozenset(holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self.use_vn_holidays = use_vn_holidays
        self._configured_years = sorted({d.year for d in self.holidays | self.extra_workdays})
        self._years: dict[int, tuple[tuple[date, bool], ...]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, cfg: Config) -> DayRules:
        return cls(cfg.holidays, cfg.extra_workdays, getattr(cfg, "use_vn_holidays", True))

    def override(self, d: date) -> bool | None:
        """True: a working day whatever its weekday; False: a day off; None: the weekly
        pattern decides."""
        if d in self.extra_workdays:
            return True
        if d in self.holidays:
            return False
        if self.use_vn_holidays:
            closed, makeup = vn_year(d.year)
            if d in closed:
                return False
            if d in makeup:
                return True
        return None

    def is_working_day(self, d: date, weekdays: frozenset[int]) -> bool:
        kind = self.override(d)
        return d.weekday() in weekdays if kind is None else kind

    def year_overrides(self, year: int) -> tuple[tuple[date, bool], ...]:
        """The overrides dated in ``year``, sorted (cached; a few dozen at most)."""
        hit = self._years.get(year)
        if hit is None:
            days: set[date] = {d for d in self.holidays | self.extra_workdays if d.year == year}
            if self.use_vn_holidays:
                closed, makeup = vn_year(year)
                days |= closed | makeup
            found = []
            for d in sorted(days):
                kind = self.override(d)
                if kind is not None:
                    found.append((d, kind))
            hit = tuple(found)
            with self._lock:
                self._years[year] = hit
        return hit

    def years_with_overrides(self, first: int, last: int) -> list[int]:
        """The years in [first, last] that may hold overrides: the package's years and
        the years of configured days — never every year of a long range."""
        years: set[int] = set()
        if self.use_vn_holidays:
            years.update(range(max(first, VN_YEARS.start), min(last, VN_YEARS.stop - 1) + 1))
        lo = bisect_left(self._configured_years, first)
        hi = bisect_right(self._configured_years, last)
        years.update(self._configured_years[lo:hi])
        return sorted(years)


def weekday_count(first: date, last: date, weekdays: frozenset[int]) -> int:
    """How many dates in [first, last] fall on one of ``weekdays`` — weeks arithmetic."""
    if last < first:
        return 0
    weeks, rest = divmod((last - first).days + 1, 7)
    start = first.weekday()
    return weeks * len(weekdays) + sum((start + i) % 7 in weekdays for i in range(rest))


_rules: PerConfig[DayRules] = PerConfig(DayRules.from_config)


def for_config(cfg: Config) -> DayRules:
    """The day rules of a configuration (the effective one: admin-saved days included),
    built once per Config object."""
    return _rules(cfg)
