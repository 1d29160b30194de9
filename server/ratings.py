"""Citizens' satisfaction ratings: three levels, a reason when unsatisfied, one per ticket.

Provinces judge centers by these figures ("99.71% hài lòng"), so a rating is only
accepted for a service that really happened: the ticket must be done, a counter pad
may only rate the ticket just finished at its own counter, and the ticket's public
token (printed as a QR code) is what lets a citizen rate from a phone.  No Flask here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .clock import business_day, iso, parse_iso
from .config import Config
from .errors import BadRequest, Conflict, Forbidden, NotFound
from .i18n import bundle
from .i18n import t as text
from .protocol import TicketStatus
from .store import Database
from .store import dossiers as dossier_store
from .store import ratings as store
from .store import tickets as ticket_store


class Level(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"


class Reason(StrEnum):
    """Why a citizen is unsatisfied: a short list, so reports can count them."""

    LONG_WAIT = "long_wait"
    ATTITUDE = "attitude"
    UNCLEAR_GUIDANCE = "unclear_guidance"
    MANY_RETURNS = "many_returns"
    OTHER = "other"


LEVELS = tuple(str(level) for level in Level)
REASONS = tuple(str(r) for r in Reason)
#: A counter pad shows the faces right after the service; later ratings come from phones.
PAD_WINDOW = timedelta(minutes=30)
#: A phone may rate a finished service for this long (the QR code stays on the ticket).
PUBLIC_WINDOW = timedelta(days=7)
MAX_TEXT = 500


def options(lang: str = "vi") -> dict[str, Any]:
    """Levels and reasons with their words, for the pad and the tracking-page widget."""
    return {
        "levels": [{"code": c, "label": text(f"rating.level.{c}", lang)} for c in LEVELS],
        "reasons": [{"code": c, "label": text(f"rating.reason.{c}", lang)} for c in REASONS],
        "texts": bundle("rating.", lang),
    }


def _validate(level: Any, reason: Any, reason_text: Any) -> tuple[str, str | None, str | None]:
    if level not in LEVELS:
        raise BadRequest(
            f"Mức độ hài lòng không hợp lệ: {level!r} (chọn: {', '.join(LEVELS)}).",
            code="bad_level",
        )
    if reason in (None, ""):
        reason = None
    elif reason not in REASONS:
        raise BadRequest(
            f"Lý do không hợp lệ: {reason!r} (chọn: {', '.join(REASONS)}).", code="bad_reason"
        )
    if level == Level.UNSATISFIED and reason is None:
        raise BadRequest(
            "Xin chọn lý do không hài lòng.", code="reason_required", reasons=list(REASONS)
        )
    if level != Level.UNSATISFIED:
        reason = None  # a reason only explains dissatisfaction
    if reason_text is not None and not isinstance(reason_text, str):
        raise BadRequest("Nội dung góp ý phải là chuỗi ký tự.", code="bad_text")
    cleaned = " ".join((reason_text or "").split())[:MAX_TEXT] or None
    if level != Level.UNSATISFIED:
        cleaned = None
    return str(level), reason, cleaned


def _dossier(conn: Any, ticket_id: int) -> str | None:
    detail = store.finish_detail(conn, ticket_id)
    codes = detail.get("dossiers")
    found: list[str] = []
    if isinstance(codes, list):
        found = [c.strip().upper() for c in codes if isinstance(c, str) and c.strip()]
    elif isinstance(codes, str) and codes.strip():
        found = [codes.strip().upper()]
    if not found:  # codes linked to the ticket by the dossier area (e.g. at reception)
        found = dossier_store.dossiers_for_ticket(conn, ticket_id)
    return ",".join(found) if found else None


def rate(
    db: Database,
    cfg: Config,
    *,
    token: Any,
    level: Any,
    reason: Any = None,
    reason_text: Any = None,
    pad_counter: int | None = None,
    device_id: int | None = None,
    now: datetime,
) -> dict[str, Any]:
    """Record the rating of one finished ticket (from a counter pad when `pad_counter`
    is given, else from the citizen's phone); a second rating is a 409."""
    if not isinstance(token, str) or not token:
        raise BadRequest("Thiếu mã phiếu (ticket).", code="missing_ticket")
    lvl, why, why_text = _validate(level, reason, reason_text)
    with db.write() as conn:
        t = ticket_store.ticket_by_token(conn, token)
        if t is None:
            raise NotFound("Không tìm thấy phiếu.", code="unknown_ticket")
        if t["status"] != TicketStatus.DONE or not t["finished_at"]:
            raise Conflict(
                "Chỉ đánh giá được sau khi đã phục vụ xong.",
                code="not_finished",
                status=t["status"],
            )
        finished = parse_iso(t["finished_at"])
        if pad_counter is not None:
            if t["counter"] != pad_counter:
                raise Forbidden("Phiếu này không được phục vụ ở quầy này.", code="not_this_counter")
            if now - finished > PAD_WINDOW:
                raise Conflict("Đã quá thời gian đánh giá tại quầy.", code="rating_expired")
        elif now - finished > PUBLIC_WINDOW:
            raise Conflict("Đã quá thời gian đánh giá.", code="rating_expired")
        if store.rating_for_ticket(conn, t["id"]) is not None:
            raise Conflict("Phiếu này đã được đánh giá.", code="already_rated")
        row = {
            "ticket_id": t["id"],
            "level": lvl,
            "reason": why,
            "reason_text": why_text,
            "dossier": _dossier(conn, t["id"]),
            "service": t["queue_service"],
            "counter": t["counter"],
            "staff": t["staff"],
            "source": "pad" if pad_counter is not None else "web",
            "device_id": device_id,
            "day": business_day(now, cfg.tz).isoformat(),
            "at": iso(now),
        }
        rating_id = store.insert_rating(conn, row)
        if rating_id is None:
            raise Conflict("Phiếu này đã được đánh giá.", code="already_rated")
    return {**row, "id": rating_id, "token": token, "label": t["label"]}


def public_state(db: Database, token: str, now: datetime) -> dict[str, Any] | None:
    """Whether the holder of a ticket's token may rate it now (for the phone widget)."""
    with db.read() as conn:
        t = ticket_store.ticket_by_token(conn, token)
        if t is None:
            return None
        existing = store.rating_for_ticket(conn, t["id"])
    done = t["status"] == TicketStatus.DONE and bool(t["finished_at"])
    expired = done and now - parse_iso(t["finished_at"]) > PUBLIC_WINDOW
    return {
        "status": t["status"],
        "rated": existing is not None,
        "level": existing["level"] if existing else None,
        "can_rate": done and existing is None and not expired,
        "expired": bool(expired),
    }


def pending_at_counter(db: Database, counter: int, now: datetime) -> dict[str, Any] | None:
    """The ticket a pad should still offer to rate after (re)connecting: finished at its
    counter in the last few minutes and not rated yet."""
    since = iso(now - timedelta(minutes=2))
    with db.read() as conn:
        return store.last_finished_at_counter(conn, counter, since)
