"""Time in one place: UTC for storage, the center's zone for business days and hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """The real clock.  Tests use ``FixedClock`` to cross midnight on purpose."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


def iso(at: datetime) -> str:
    """The one storage format: UTC, microseconds, explicit offset (sorts as text)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return at


def local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz)


def business_day(at: datetime, tz: ZoneInfo) -> date:
    """The center's calendar day of an instant — what daily numbering restarts on."""
    return at.astimezone(tz).date()


class ShiftedClock(Clock):
    """Real time, moved so it starts at `start` — live demos and browser tests run at a
    working morning whatever the machine's date, while seconds still pass."""

    def __init__(self, start: datetime) -> None:
        import time as _time

        self._mono = _time.monotonic
        self._t0 = self._mono()
        self.start = start.astimezone(UTC)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self._mono() - self._t0)
