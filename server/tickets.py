"""The queue engine: numbering, the ticket state machine and call selection.

No Flask here.  Every function takes the database, the config and ``now`` (so tests
can cross midnight), runs one write transaction, and returns plain dicts; the caller
publishes realtime events after it returns (i.e. after commit).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import estimates, hours, kiosk_limit, remote_queue
from .clock import business_day, iso
from .config import Config
from .counters import counter_or_404
from .errors import BadRequest, Conflict, NotFound
from .protocol import AT_COUNTER, CounterState, TicketAction, TicketStatus
from .store import Database, catalog
from .store import tickets as store

S = TicketStatus


@dataclass(frozen=True)
class CallResult:
    ticket: dict[str, Any]
    call: dict[str, Any]
    finished: dict[str, Any] | None = None  # the ticket closed automatically by "call next"
    lapsed: tuple[dict[str, Any], ...] = ()  # remote tickets this call passed over for good


@dataclass(frozen=True)
class Issued:
    """A ticket just issued (with its people ahead and estimate) and its service."""

    ticket: dict[str, Any]
    service: dict[str, Any]  # its service's row, as the issuing transaction read it


def label_for(service: dict[str, Any], number: int) -> str:
    return f"{service['prefix']}{number:0{service['width']}d}"


def _service_code(code: Any) -> str:
    if not isinstance(code, str) or not code:
        raise BadRequest("Thiếu mã lĩnh vực (service).", code="missing_service")
    return code


def _unknown_service(code: str) -> NotFound:
    return NotFound(f"Không có lĩnh vực '{code}'.", code="unknown_service")


def _service_or_404(conn: sqlite3.Connection, code: Any) -> dict[str, Any]:
    svc = catalog.service(conn, _service_code(code))
    if svc is None or not svc["active"]:
        raise _unknown_service(code)
    return svc


def _ticket_or_404(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any]:
    t = store.ticket(conn, ticket_id)
    if t is None:
        raise NotFound(f"Không có phiếu #{ticket_id}.", code="unknown_ticket")
    return t


def _move(
    conn: sqlite3.Connection,
    t: dict[str, Any],
    action: TicketAction,
    to: TicketStatus,
    at: str,
    actor: str | None,
    where: int | None,
    detail: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    store.update_ticket(conn, t["id"], status=str(to), **fields)
    store.add_event(conn, t["id"], str(action), t["status"], str(to), at, actor, where, detail)
    return {**t, "status": str(to), **fields}


def _refuse(t: dict[str, Any], action: str) -> Conflict:
    return Conflict(
        f"Không thể {action} phiếu {t['label']} đang ở trạng thái '{t['status']}'.",
        code="invalid_transition",
        ticket=t["id"],
        status=t["status"],
    )


# --- issuing ------------------------------------------------------------------------------


def issue(db: Database, cfg: Config, **request: Any) -> dict[str, Any]:
    """Issue the next number of a service; returns the ticket with people ahead and
    estimate.  Takes `issue_with_service`'s keywords (service, priority, channel,
    device_id, phone, staff, now)."""
    return issue_with_service(db, cfg, **request).ticket


def issue_with_service(
    db: Database,
    cfg: Config,
    *,
    service: Any,
    priority: Any = "normal",
    channel: str = "kiosk",
    device_id: int | None = None,
    phone: str | None = None,
    staff: tuple[int, str] | None = None,
    now: datetime,
) -> Issued:
    """`issue`, also handing back the service's row (the kiosk's answer and printed ticket
    show its names), so the caller need not read it again after the commit."""
    if not isinstance(priority, str) or (priority != "normal" and cfg.priority(priority) is None):
        raise BadRequest(f"Đối tượng ưu tiên không hợp lệ: {priority!r}.", code="unknown_priority")
    code = _service_code(service)
    with db.write() as conn:
        if device_id is not None:
            limited = kiosk_limit.take(conn, cfg, device_id, now)
        elif staff is not None:  # a person issuing: (user id, username)
            limited = kiosk_limit.take_staff(conn, cfg, *staff, now)
        else:
            limited = None
        if limited is None:
            return _issue(
                conn,
                cfg,
                code=code,
                priority=priority,
                channel=channel,
                device_id=device_id,
                phone=phone,
                now=now,
            )
    # refused: raised after the commit that keeps the alert's audit entry
    raise limited


def _issue(
    conn: sqlite3.Connection,
    cfg: Config,
    *,
    code: str,
    priority: str,
    channel: str,
    device_id: int | None,
    phone: str | None,
    now: datetime,
    pending_checkin: bool = False,
) -> Issued:
    """Number and insert a ticket (inside the caller's write transaction); a remote one
    (`pending_checkin`) waits in the queue from now but is called only after check-in."""
    at = iso(now)
    day = business_day(now, cfg.tz).isoformat()
    since = estimates.window_start(cfg, now)
    # the service and what its estimate needs (its queue's load), in one read
    found = store.issue_context(conn, code, day, priority, at, since)
    if found is None or not found[0]["active"]:
        raise _unknown_service(code)
    svc, load = found
    state = hours.issuing_state(cfg, svc, now)
    if not state.open:
        raise Conflict(
            "Tạm ngừng nhận số cho lĩnh vực này.",
            code="service_closed",
            reason=state.reason,
            next_open=iso(state.next_open) if state.next_open else None,
        )
    n = store.next_number(conn, svc["code"], day, svc["first_number"])
    if n > svc["last_number"]:
        store.undo_number(conn, svc["code"], day)
        raise Conflict("Hết số hôm nay cho lĩnh vực này.", code="range_exhausted")
    if svc["daily_cap"] and n - svc["first_number"] + 1 > svc["daily_cap"]:
        store.undo_number(conn, svc["code"], day)
        raise Conflict("Hết số hôm nay cho lĩnh vực này.", code="daily_cap_reached")
    t = {
        "service": svc["code"],
        "day": day,
        "number": n,
        "label": label_for(svc, n),
        "priority": priority,
        "status": str(S.WAITING),
        "queue_service": svc["code"],
        "target_counter": None,
        "queued_at": at,
        "channel": channel,
        "device_id": device_id,
        "token": secrets.token_urlsafe(16),
        "phone": phone,
        "issued_at": at,
        "pending_checkin": int(pending_checkin),
    }
    t["id"] = store.insert_ticket(conn, t)
    store.add_event(conn, t["id"], str(TicketAction.ISSUE), None, str(S.WAITING), at, channel, None)
    t.update(estimates.for_new_ticket(cfg, load, now, svc))
    return Issued(t, svc)


# --- calling ------------------------------------------------------------------------------


def _make_call(
    conn: sqlite3.Connection, t: dict[str, Any], counter: dict[str, Any], at: str, recall: bool
) -> dict[str, Any]:
    call = {
        "ticket_id": t["id"],
        "label": t["label"],
        "counter": counter["number"],
        "counter_name": counter["name"],
        "zone": counter["zone"],
        "service": t["queue_service"],
        "recall": int(recall),
        "at": at,
    }
    call["seq"] = store.insert_call(conn, call)
    return call


def _close_current(
    conn: sqlite3.Connection, counter: int, at: str, actor: str | None
) -> dict[str, Any] | None:
    """ "Call next" ends the previous citizen's service — staff need not press Finish first."""
    cur = store.at_counter(conn, counter)
    if cur is None:
        return None
    fields: dict[str, Any] = {"finished_at": at}
    if cur["started_at"] is None:
        fields["started_at"] = cur["called_at"]
    return _move(
        conn, cur, TicketAction.FINISH, S.DONE, at, actor, counter, {"auto": "next"}, **fields
    )


def _require_open(counter: dict[str, Any]) -> None:
    if counter["state"] != CounterState.OPEN:
        raise Conflict(
            f"{counter['name']} đang tạm nghỉ hoặc đã đóng; hãy bấm Tiếp tục trước.",
            code="counter_not_open",
            state=counter["state"],
        )


def call_next(
    db: Database, cfg: Config, counter_number: int, actor: str | None, now: datetime
) -> CallResult | None:
    """Pick and call the next ticket for a counter in one transaction (None: nobody waits).

    Priority tickets first, unless the counter has already taken `priority_cap` of them
    in a row while normal tickets waited; then the counter's service preference; then
    queue time.  Remote tickets not checked in are never called: the call passes them
    over (`remote_queue.pass_over`), and they lapse after `remote.grace_calls` passes."""
    at = iso(now)
    day = business_day(now, cfg.tz).isoformat()
    with db.write() as conn:
        counter = counter_or_404(conn, counter_number)
        _require_open(counter)
        finished = _close_current(conn, counter_number, at, actor)
        services = counter["services"]
        prio = store.first_waiting(conn, day, services, counter_number, priority=True)
        normal = store.first_waiting(conn, day, services, counter_number, priority=False)
        streak = counter["priority_streak"]
        # the normal tickets' turn: where a remote ticket not checked in is passed over
        normal_turn = prio is None or streak >= cfg.priority_cap
        if prio and (streak < cfg.priority_cap or normal is None):
            chosen, streak = prio, (streak + 1 if normal else 0)
        elif normal:
            chosen, streak = normal, 0
        else:
            return None  # the auto-finish above still commits
        catalog.set_priority_streak(conn, counter_number, streak)
        lapsed: list[dict[str, Any]] = []
        if normal_turn:
            lapsed = remote_queue.pass_over(
                conn,
                cfg,
                day=day,
                services=services,
                counter=counter_number,
                before=normal,
                now=now,
                actor=actor,
            )
        t = _move(
            conn,
            chosen,
            TicketAction.CALL,
            S.CALLED,
            at,
            actor,
            counter_number,
            called_at=at,
            counter=counter_number,
            staff=actor,
            recall_count=0,
        )
        call = _make_call(conn, t, counter, at, recall=False)
        remote_queue.near_turn(conn, cfg, day=day, services=services, now=now)
        return CallResult(t, call, finished, tuple(lapsed))


def recall(
    db: Database, cfg: Config, counter_number: int, actor: str | None, now: datetime
) -> CallResult:
    at = iso(now)
    with db.write() as conn:
        counter = counter_or_404(conn, counter_number)
        t = store.at_counter(conn, counter_number)
        if t is None:
            raise Conflict(f"{counter['name']} chưa gọi số nào.", code="nothing_to_recall")
        if t["status"] != S.CALLED:
            raise _refuse(t, "gọi lại")
        if t["recall_count"] >= cfg.recall_limit:
            raise Conflict(
                f"Đã gọi lại số {t['label']} {cfg.recall_limit} lần; hãy đánh dấu Vắng mặt.",
                code="recall_limit_reached",
                limit=cfg.recall_limit,
            )
        n = t["recall_count"] + 1
        store.update_ticket(conn, t["id"], recall_count=n)
        store.add_event(
            conn,
            t["id"],
            str(TicketAction.RECALL),
            t["status"],
            t["status"],
            at,
            actor,
            counter_number,
            {"recall": n},
        )
        t = {**t, "recall_count": n}
        return CallResult(t, _make_call(conn, t, counter, at, recall=True))


def call_label(
    db: Database, cfg: Config, counter_number: int, label: Any, actor: str | None, now: datetime
) -> CallResult:
    if not isinstance(label, str) or not label.strip():
        raise BadRequest("Thiếu số thứ tự cần gọi (label).", code="missing_label")
    at = iso(now)
    day = business_day(now, cfg.tz).isoformat()
    with db.write() as conn:
        counter = counter_or_404(conn, counter_number)
        _require_open(counter)
        found = store.ticket_by_label(conn, day, label.strip(), counter["services"])
        if not found:
            raise NotFound(
                f"Không có số {label} hôm nay ở các lĩnh vực của quầy này.", code="unknown_label"
            )
        if len(found) > 1:
            raise Conflict(f"Số {label} trùng ở nhiều lĩnh vực.", code="ambiguous_label")
        t = found[0]
        if t["status"] != S.WAITING:
            raise _refuse(t, "gọi")
        if t["pending_checkin"]:
            raise Conflict(
                f"Số {t['label']} lấy trực tuyến, công dân chưa xác nhận đã đến (check-in).",
                code="not_checked_in",
            )
        if t["target_counter"] is not None and t["target_counter"] != counter_number:
            # transferred to one counter: "call next" elsewhere skips it, so must this
            raise Conflict(
                f"Số {t['label']} đã được chuyển đến quầy số {t['target_counter']}.",
                code="transferred_elsewhere",
                counter=t["target_counter"],
            )
        finished = _close_current(conn, counter_number, at, actor)
        t = _move(
            conn,
            t,
            TicketAction.CALL,
            S.CALLED,
            at,
            actor,
            counter_number,
            {"by_label": True},
            called_at=at,
            counter=counter_number,
            staff=actor,
            recall_count=0,
        )
        call = _make_call(conn, t, counter, at, recall=False)
        remote_queue.near_turn(conn, cfg, day=day, services=[t["queue_service"]], now=now)
        return CallResult(t, call, finished)


# --- serving ------------------------------------------------------------------------------


def start(
    db: Database, cfg: Config, ticket_id: int, actor: str | None, now: datetime
) -> dict[str, Any]:
    at = iso(now)
    with db.write() as conn:
        t = _ticket_or_404(conn, ticket_id)
        if t["status"] != S.CALLED:
            raise _refuse(t, "bắt đầu phục vụ")
        return _move(conn, t, TicketAction.START, S.SERVING, at, actor, t["counter"], started_at=at)


def finish(
    db: Database,
    cfg: Config,
    ticket_id: int,
    actor: str | None,
    now: datetime,
    *,
    dossiers: list[str] | None = None,
) -> dict[str, Any]:
    """Serving → done.  A called ticket may be finished directly (the service simply
    started when it was called).  `dossiers`: codes of the dossiers received, kept in
    the finish event's detail (the dossier area links ticket and dossier from it)."""
    at = iso(now)
    with db.write() as conn:
        t = _ticket_or_404(conn, ticket_id)
        if t["status"] not in AT_COUNTER:
            raise _refuse(t, "hoàn thành")
        return _move(
            conn,
            t,
            TicketAction.FINISH,
            S.DONE,
            at,
            actor,
            t["counter"],
            {"dossiers": dossiers} if dossiers else None,
            started_at=t["started_at"] or t["called_at"],
            finished_at=at,
        )


def no_show(
    db: Database, cfg: Config, ticket_id: int, actor: str | None, now: datetime
) -> dict[str, Any]:
    at = iso(now)
    with db.write() as conn:
        t = _ticket_or_404(conn, ticket_id)
        if t["status"] not in AT_COUNTER:
            raise _refuse(t, "đánh dấu vắng mặt")
        return _move(
            conn, t, TicketAction.NO_SHOW, S.NO_SHOW, at, actor, t["counter"], finished_at=at
        )


def cancel(
    db: Database, cfg: Config, ticket_id: int, actor: str | None, now: datetime
) -> dict[str, Any]:
    at = iso(now)
    with db.write() as conn:
        t = _ticket_or_404(conn, ticket_id)
        if t["status"] != S.WAITING:
            raise _refuse(t, "huỷ")
        return _move(conn, t, TicketAction.CANCEL, S.CANCELLED, at, actor, None, finished_at=at)


def transfer(
    db: Database,
    cfg: Config,
    ticket_id: int,
    *,
    to_service: Any = None,
    to_counter: Any = None,
    actor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Send a citizen at a counter to another service or counter, keeping the number.

    The ticket waits again in the target queue at its original issue time or at the
    back (config ``queue.transfer_position``)."""
    if (to_service is None) == (to_counter is None):
        raise BadRequest(
            "Chọn một lĩnh vực (service) hoặc một quầy (counter) để chuyển.",
            code="bad_transfer_target",
        )
    at = iso(now)
    with db.write() as conn:
        t = _ticket_or_404(conn, ticket_id)
        if t["status"] not in AT_COUNTER:
            raise _refuse(t, "chuyển")
        if to_counter is not None:
            if (
                not isinstance(to_counter, int)
                or isinstance(to_counter, bool)
                or not 0 < to_counter < 2**63  # SQLite's range: beyond it no counter exists
            ):
                raise BadRequest("Số quầy phải là số nguyên dương.", code="bad_transfer_target")
            target = counter_or_404(conn, to_counter)
            if target["number"] == t["counter"]:
                raise Conflict("Không thể chuyển sang chính quầy này.", code="same_counter")
            if not target["services"]:
                raise Conflict(
                    f"{target['name']} không phục vụ lĩnh vực nào.", code="counter_serves_nothing"
                )
            queue_service = (
                t["queue_service"]
                if t["queue_service"] in target["services"]
                else target["services"][0]
            )
            target_counter: int | None = target["number"]
        else:
            queue_service = _service_or_404(conn, to_service)["code"]
            target_counter = None
        queued_at = t["issued_at"] if cfg.transfer_position == "original" else at
        detail = {
            "from_counter": t["counter"],
            "from_service": t["queue_service"],
            "to_service": queue_service,
            "to_counter": target_counter,
        }
        return _move(
            conn,
            t,
            TicketAction.TRANSFER,
            S.WAITING,
            at,
            actor,
            t["counter"],
            detail,
            queue_service=queue_service,
            target_counter=target_counter,
            queued_at=queued_at,
            transferred_from=t["queue_service"],
            counter=None,
            called_at=None,
            started_at=None,
            recall_count=0,
        )
