"""Undoing a kiosk flood: a supervisor cancels, in one action, every ticket one device
issued in a time window that nobody has called yet.

Each ticket goes through the state machine (`tickets._move`: waiting → cancelled, with
its event), so its history, the waiting counts and the reports' day cache stay right;
one audit entry records who, when, which device, the window, the reason and the
numbers cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .clock import business_day, iso, parse_iso
from .config import Config
from .errors import BadRequest, NotFound
from .protocol import TicketAction, TicketStatus
from .store import Database
from .store import accounts as accounts_store
from .store import floods as store
from .tickets import _move

#: The longest window one action covers: a flood is minutes, a day is the outer bound.
MAX_WINDOW = timedelta(hours=24)
#: Tickets one action cancels at most (a service's whole range is 999 by default); the
#: answer says when more remain, and the supervisor repeats the action.
MAX_TICKETS = 5000
MAX_REASON = 500
#: The years a window may name (like reports' periods).
MIN_YEAR, MAX_YEAR = 2000, 2999
AUDIT_ACTION = "tickets_cancelled_flood"


@dataclass(frozen=True)
class Cancelled:
    device_name: str
    tickets: list[dict[str, Any]]  # as they are now (cancelled)
    more: bool  # more waiting tickets of that window remain (over MAX_TICKETS)


def _when(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise BadRequest(f"'{name}' phải là thời điểm ISO-8601 có múi giờ.", code="bad_window")
    try:
        at = parse_iso(value)
    except ValueError:
        raise BadRequest(
            f"'{name}' phải là thời điểm ISO-8601 có múi giờ, ví dụ 2026-11-25T09:00:00+07:00.",
            code="bad_window",
        ) from None
    # Years 1 and 9999 have no neighbour: moved to UTC or the center's zone they overflow.
    if not MIN_YEAR <= at.year <= MAX_YEAR:
        raise BadRequest(f"'{name}' phải trong các năm {MIN_YEAR}–{MAX_YEAR}.", code="bad_window")
    return at


def _reason(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise BadRequest("Cần nêu lý do huỷ.", code="missing_reason", field="reason")
    if len(text) > MAX_REASON:
        raise BadRequest(f"Lý do dài quá {MAX_REASON} ký tự.", code="bad_field", field="reason")
    return text


def cancel_waiting_from_device(
    db: Database,
    cfg: Config,
    device_id: int,
    *,
    since: Any,
    until: Any,
    reason: Any,
    actor: str,
    now: datetime,
    ip: str | None = None,
) -> Cancelled:
    start, end = _when(since, "since"), _when(until, "until")
    if end <= start or end - start > MAX_WINDOW:
        raise BadRequest(
            "Giờ kết thúc (until) phải sau giờ bắt đầu (since), cách nhau không quá 24 giờ.",
            code="bad_window",
        )
    why = _reason(reason)
    days = sorted({business_day(start, cfg.tz).isoformat(), business_day(end, cfg.tz).isoformat()})
    at = iso(now)
    with db.write() as conn:
        name = store.device_name(conn, device_id)
        if name is None:
            raise NotFound(f"Không có thiết bị #{device_id}.", code="unknown_device")
        found = store.waiting_from_device(
            conn, days, device_id, iso(start), iso(end), MAX_TICKETS + 1
        )
        more = len(found) > MAX_TICKETS
        detail = {"reason": why, "flood": device_id}
        done = [
            _move(
                conn,
                t,
                TicketAction.CANCEL,
                TicketStatus.CANCELLED,
                at,
                actor,
                None,
                detail,
                finished_at=at,
            )
            for t in found[:MAX_TICKETS]
        ]
        labels = [t["label"] for t in done]
        accounts_store.add_audit(
            conn,
            at,
            actor,
            AUDIT_ACTION,
            f"device:{name}",
            {
                "reason": why,
                "since": iso(start),
                "until": iso(end),
                "count": len(done),
                "labels": ", ".join(labels[:50]) + (" …" if len(labels) > 50 else ""),
            },
            ip,
        )
    return Cancelled(name, done, more)
