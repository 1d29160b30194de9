"""Flags the dossier clock raises for supervisors (issue 16): a dossier late without a
timely apology, an apology given after the date it moved, and a supplement asked for
more than once.

Decree 61/2018 (art. 12, kept by Decree 118/2025): a dossier that will be late needs a
written apology with a new return date *before* its due date; the citizen may be asked
to supplement a dossier once.  Neither is refused when it happens — the citizen must
still get the late apology, and the second request may be the only way forward — but
each is flagged on the watch list and counted in the dossier report.

Timeliness here is by the center's calendar date, as for early/on time/late: an
apology given on its due date is timely.  An apology counts from when it was given:
its ``at`` for an import (history), and never before it was recorded for a live API
call (a backdated ``at`` cannot make a late apology timely).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.clock import parse_iso

#: Watch-list reasons and report columns, in the order a page shows them.
NO_APOLOGY = "no_apology"  # late, and no apology given in time covers it
LATE_APOLOGY = "late_apology"  # an apology given after the date it moved
REPEAT_SUPPLEMENT = "repeat_supplement"  # asked for a supplement two times or more


def _day(text: str, tz: ZoneInfo) -> date:
    return parse_iso(text).astimezone(tz).date()


def _given(delay: dict[str, Any]) -> str:
    at = delay["at"]
    if delay.get("source") == "api" and delay.get("created_at"):
        return max(at, delay["created_at"])
    return at


def _walk(tz: ZoneInfo, due_at: str, delays: Iterable[dict[str, Any]]) -> tuple[date, bool]:
    """(the date the dossier is judged against, whether any apology came late): each
    timely apology moves that date to its new date; a late one does not."""
    deadline = _day(due_at, tz)
    late = False
    for delay in delays:
        if _day(_given(delay), tz) <= deadline:
            if delay.get("new_due_at"):
                deadline = max(deadline, _day(delay["new_due_at"], tz))
        else:
            late = True
    return deadline, late


def apology_flags(
    tz: ZoneInfo, due_at: str | None, delays: Iterable[dict[str, Any]], end: datetime | None
) -> list[str]:
    """``LATE_APOLOGY`` (an apology came after the date it moved) or else ``NO_APOLOGY``
    (late at ``end`` with no timely apology covering it) for one dossier.

    ``delays`` are its delay events oldest first; ``end`` is when it finished, or now
    for an open dossier (None: do not judge lateness).
    """
    if not due_at:
        return []
    deadline, late = _walk(tz, due_at, delays)
    if late:
        return [LATE_APOLOGY]
    if end is not None and end.astimezone(tz).date() > deadline:
        return [NO_APOLOGY]
    return []


def late_without_apology(tz: ZoneInfo, d: dict[str, Any], delays: list[dict[str, Any]]) -> bool:
    """Whether a dossier finished after every date a timely apology gave the citizen
    (its due date when there was none)."""
    if not d.get("finished_at") or not d.get("due_at"):
        return False
    deadline, _ = _walk(tz, d["due_at"], delays)
    return _day(d["finished_at"], tz) > deadline
