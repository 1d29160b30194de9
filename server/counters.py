"""A counter's own state: open, paused (with a reason) or closed.

Like the queue engine (`tickets`), each function runs one write transaction and returns
the counter as it is after it; the caller publishes the change after commit.  A counter
with someone at it cannot pause or close: that citizen would be left at a desk nobody
serves."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from .clock import iso
from .config import Config
from .errors import BadRequest, Conflict, NotFound
from .protocol import CounterState, PauseReason
from .store import Database, catalog
from .store import tickets as store


def counter_or_404(conn: sqlite3.Connection, number: int) -> dict[str, Any]:
    c = catalog.counter(conn, number)
    if c is None:
        raise NotFound(f"Không có quầy số {number}.", code="unknown_counter")
    return c


def pause(
    db: Database, cfg: Config, counter_number: int, reason: Any, actor: str | None, now: datetime
) -> dict[str, Any]:
    # a dict or list is unhashable: test the type before looking it up in the set
    if not isinstance(reason, str) or reason not in {str(r) for r in PauseReason}:
        shown = repr(reason)[:40] if isinstance(reason, str) else type(reason).__name__
        raise BadRequest(
            f"Lý do tạm nghỉ không hợp lệ: {shown} (chọn: {', '.join(r.value for r in PauseReason)}).",
            code="bad_pause_reason",
        )
    with db.write() as conn:
        c = counter_or_404(conn, counter_number)
        if c["state"] != CounterState.OPEN:
            raise Conflict(
                f"{c['name']} không ở trạng thái đang mở.",
                code="counter_not_open",
                state=c["state"],
            )
        _nobody_at(conn, counter_number, "tạm nghỉ")
        return _set_state(conn, counter_number, CounterState.PAUSED, reason, now, actor)


def resume(
    db: Database, cfg: Config, counter_number: int, actor: str | None, now: datetime
) -> dict[str, Any]:
    with db.write() as conn:
        c = counter_or_404(conn, counter_number)
        if c["state"] == CounterState.OPEN:
            raise Conflict(f"{c['name']} đang mở.", code="counter_already_open")
        return _set_state(conn, counter_number, CounterState.OPEN, None, now, actor)


def close_counter(
    db: Database, cfg: Config, counter_number: int, actor: str | None, now: datetime
) -> dict[str, Any]:
    with db.write() as conn:
        c = counter_or_404(conn, counter_number)
        if c["state"] == CounterState.CLOSED:
            raise Conflict(f"{c['name']} đã đóng.", code="counter_already_closed")
        _nobody_at(conn, counter_number, "đóng quầy")
        return _set_state(conn, counter_number, CounterState.CLOSED, None, now, actor)


def _nobody_at(conn: sqlite3.Connection, number: int, doing: str) -> None:
    if store.at_counter(conn, number):
        raise Conflict(
            f"Hãy hoàn thành hoặc chuyển công dân đang phục vụ trước khi {doing}.",
            code="counter_busy",
        )


def _set_state(
    conn: sqlite3.Connection,
    number: int,
    state: CounterState,
    reason: str | None,
    now: datetime,
    actor: str | None,
) -> dict[str, Any]:
    catalog.set_counter_state(conn, number, str(state), reason, iso(now), actor)
    return counter_or_404(conn, number)
