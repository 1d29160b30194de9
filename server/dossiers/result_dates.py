"""When a sync's implied steps happened (issue 16.20): files from the provincial system
give the date the result was ready (Ngày có kết quả) and the date it was returned (Ngày
trả kết quả); the resolved and returned steps take those dates, so early / on time /
late and the report's month come from them, not from the moment of the import."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from server.clock import iso
from server.dossiers.inputs import EventInput
from server.dossiers.status import DossierStatus
from server.errors import BadRequest
from server.i18n import t

S = DossierStatus


def step_times(path: list[DossierStatus], at: str, ev: EventInput | None, since: str) -> list[str]:
    """When each step of a path happened: the resolved step at the result date and the
    returned step at the return date when the sender gives them, the other steps at the
    event's time — never after the step that follows, and never before ``since`` (the
    dossier's receipt or last status: a 400 naming the date)."""
    result = iso(ev.result_at) if ev is not None and ev.result_at is not None else None
    returned = iso(ev.returned_at) if ev is not None and ev.returned_at is not None else None
    times = []
    for status in path:
        if status == S.RETURNED and returned is not None:
            times.append(returned)
        elif status == S.RESOLVED and result is not None:
            times.append(result)
        else:
            times.append(at)
    for i in range(len(times) - 2, -1, -1):  # implied steps happen no later than the next
        times[i] = min(times[i], times[i + 1])
    if times and times[0] < since:
        field = "result_at" if result is not None and result < since else "status_at"
        raise BadRequest(
            t("dossier.error.result_before", "vi", at=times[0], last=since),
            code="out_of_order",
            field=field,
        )
    return times


def _by_now(value: datetime | None, now: datetime, tz: ZoneInfo, day_end: time) -> datetime | None:
    """A bare date (the day's closing time, see ``inputs``) given for today means "today,
    by now": a result returned today is not a time in the future."""
    if value is None or value <= now:
        return value
    local = value.astimezone(tz)
    if local.time() == day_end and local.date() == now.astimezone(tz).date():
        return now
    return value


def dated(ev: EventInput | None, now: datetime, tz: ZoneInfo, day_end: time) -> EventInput | None:
    """The event with today's bare dates read as "by now"."""
    if ev is None or (ev.result_at is None and ev.returned_at is None and ev.at is None):
        return ev
    return replace(
        ev,
        at=_by_now(ev.at, now, tz, day_end),
        result_at=_by_now(ev.result_at, now, tz, day_end),
        returned_at=_by_now(ev.returned_at, now, tz, day_end),
    )
