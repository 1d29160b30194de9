"""Opening hours: when a service issues tickets, in the center's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from .config import DAY_NAMES, Config, Hours
from .workdays import for_config as day_rules


@dataclass(frozen=True)
class OpenState:
    open: bool
    reason: str | None = (
        None  # closed_day | before_hours | between_sessions | after_hours | closed_today
    )
    next_open: datetime | None = None


def is_day_off(cfg: Config, hours: Hours, day: date) -> bool:
    """Whether the service issues no tickets that date: the same days off and make-up
    working days as the dossier clock (``server.workdays``), then the service's weekdays."""
    return not day_rules(cfg).is_working_day(day, hours.days)


def service_hours(cfg: Config, service: dict[str, Any]) -> Hours:
    raw = service.get("hours")
    if not raw:
        return cfg.hours
    return Hours(
        days=frozenset(DAY_NAMES.index(d) for d in raw.get("days", [])) or cfg.hours.days,
        sessions=tuple(
            (time.fromisoformat(a), time.fromisoformat(b)) for a, b in raw.get("sessions", [])
        )
        or cfg.hours.sessions,
        issue_before_min=int(raw.get("issue_before_min", cfg.hours.issue_before_min)),
        stop_before_min=int(raw.get("stop_before_min", cfg.hours.stop_before_min)),
    )


def hours_to_json(h: Hours) -> dict[str, Any]:
    return {
        "days": [DAY_NAMES[d] for d in sorted(h.days)],
        "sessions": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in h.sessions],
        "issue_before_min": h.issue_before_min,
        "stop_before_min": h.stop_before_min,
    }


def issuing_state(cfg: Config, service: dict[str, Any], now: datetime) -> OpenState:
    """Whether a kiosk may issue a ticket for this service now, and if not, why and until when."""
    tz = cfg.tz
    local = now.astimezone(tz)
    today = local.date()
    if service.get("closed_on") == today.isoformat():
        return OpenState(False, "closed_today", _next_open(cfg, service, local, skip_today=True))
    h = service_hours(cfg, service)
    if is_day_off(cfg, h, today):
        return OpenState(False, "closed_day", _next_open(cfg, service, local))
    windows = _windows(h, today, tz)
    for start, end in windows:
        if start <= local < end:
            return OpenState(True)
    if windows and local < windows[0][0]:
        return OpenState(False, "before_hours", windows[0][0])
    later = [s for s, _ in windows if s > local]
    if later:
        return OpenState(False, "between_sessions", later[0])
    return OpenState(False, "after_hours", _next_open(cfg, service, local, skip_today=True))


def _windows(h: Hours, day: date, tz) -> list[tuple[datetime, datetime]]:
    out = []
    for a, b in h.sessions:
        start = datetime.combine(day, a, tz) - timedelta(minutes=h.issue_before_min)
        end = datetime.combine(day, b, tz) - timedelta(minutes=h.stop_before_min)
        if end > start:
            out.append((start, end))
    return out


def _next_open(
    cfg: Config, service: dict[str, Any], local: datetime, skip_today: bool = False
) -> datetime | None:
    h = service_hours(cfg, service)
    day = local.date() + timedelta(days=1 if skip_today else 0)
    for _ in range(60):
        if not is_day_off(cfg, h, day):
            for start, _end in _windows(h, day, cfg.tz):
                if start > local:
                    return start
        day += timedelta(days=1)
    return None
