"""Dossier use cases: create/update from a department (PUT or import), append timeline
events, record delays, supervisors' corrections, and links to queue tickets.

Every public function runs one write transaction; the ``apply_*`` variants work on a
caller's transaction (``state.Tx``) so the importer can put thousands of rows in one.
Rules, and why:
- a workflow event must be an allowed move (``check_transition``) — a 409 otherwise;
  a sync (PUT, import) carries only the latest status, so the implied steps are recorded
  (``transition_path``) instead of refusing a department's honest data;
- the same event sent twice (same event id, or same status + time + note) is recorded
  once and answered as a duplicate, so senders may retry freely;
- a supplement request needs what is missing, a refusal needs its reason, a delay needs
  a reason and a new return date — each is what the citizen's SMS must say;
- a supervisor's correction bypasses the workflow but is an event and an audit row
  (``corrections``); codes received at a counter link to its ticket (``links``).
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any

from server.clock import iso
from server.config import Config
from server.dossiers import settings as dsettings
from server.dossiers.codes import normalize_code
from server.dossiers.corrections import correct_status
from server.dossiers.inputs import DossierFields, EventInput
from server.dossiers.links import link_codes
from server.dossiers.ownership import check_agency, limits_for, procedure_for
from server.dossiers.result_dates import dated, step_times
from server.dossiers.state import (
    Outcome,
    Tx,
    checked_at,
    derive,
    event_key,
    existing,
    record,
    save,
    step,
    when,
    writable,
)
from server.dossiers.status import (
    PAUSED,
    DossierChannel,
    DossierStatus,
    check_transition,
    is_final,
    transition_path,
)
from server.errors import BadRequest, Conflict, Forbidden
from server.i18n import t
from server.notify.notices import NoticeKind
from server.notify.policy import check_free_text
from server.store import Database
from server.store import dossiers as store

log = logging.getLogger(__name__)
S = DossierStatus

#: The area's use cases; ``correct_status`` and ``link_codes`` live in their own modules.
__all__ = [
    "Outcome",
    "add_event",
    "apply_event",
    "apply_put",
    "correct_status",
    "day_end",
    "link_codes",
    "put_dossier",
]


def day_end(cfg: Config) -> time:
    """When a result "due on a date" may still be collected: the last session's end."""
    return max(end for _, end in dsettings.calendar(cfg).sessions)


def _check_scope(d: dict[str, Any], scope: str | None) -> None:
    if scope is not None and d["department"] != scope:
        raise Forbidden(
            t("dossier.error.other_department", "vi", code=d["code"]), code="other_department"
        )


def _require_details(status: DossierStatus, ev: EventInput) -> None:
    if status == S.SUPPLEMENT_REQUESTED and not ev.missing:
        raise BadRequest(
            t("dossier.error.missing_needed", "vi"), code="missing_needed", field="missing"
        )
    if status in (S.NOT_ACCEPTED, S.STOPPED) and not ev.reason:
        raise BadRequest(
            t("dossier.error.reason_needed", "vi"), code="reason_needed", field="reason"
        )


def _check_texts(tx: Tx, ev: EventInput) -> None:
    """Typed text that an SMS may carry (what is missing, a refusal's or a delay's
    reason) follows ``sms.free_text``: a length and no links but allowed hosts."""
    check_free_text(tx.cfg, "missing", ev.missing)
    check_free_text(tx.cfg, "reason", ev.reason)


def _key(ev: EventInput, at: str) -> str:
    if ev.event_id:
        return "id:" + ev.event_id
    if ev.kind == "delay":
        # The same new date for the same reason is the same delay, whenever it is resent.
        return event_key("delay", iso(ev.new_due_at) if ev.new_due_at else "", ev.reason)
    return event_key(ev.status, at, ev.note)


def _seen(tx: Tx, d: dict[str, Any], ev: EventInput) -> tuple[str, str, bool]:
    """The event's time and key, and whether the dossier already has it (a resend)."""
    at = checked_at(ev.at, tx.now)
    key = _key(ev, at)
    return at, key, store.event_by_key(tx.conn, d["id"], key) is not None


# --- create / update (sync) ------------------------------------------------------------
def _create(tx: Tx, code: str, f: DossierFields, ev: EventInput | None, scope: str | None):
    ev = dated(ev, tx.now, tx.cfg.tz, day_end(tx.cfg))
    p, dep = procedure_for(tx, f, f.department, scope)
    check_agency(tx, code, dep)
    target = ev.status if ev and ev.status else S.RECEIVED
    if ev is not None and ev.kind == "delay":
        raise Conflict(t("dossier.error.delay_new", "vi"), code="delay_not_allowed")
    at = checked_at(ev.at if ev else None, tx.now)
    start = S.REGISTERED if target in (S.REGISTERED, S.NOT_ACCEPTED) else S.RECEIVED
    received = iso(f.received_at) if f.received_at else (at if start == S.RECEIVED else None)
    if received is not None and received > at:
        raise BadRequest(
            t("dossier.error.received_after_status", "vi"),
            code="bad_received_at",
            field="received_at",
        )
    first_at = received if start == S.RECEIVED and received else at
    if ev is not None:
        _require_details(target, ev)
    days, hours = limits_for(tx, f, p, received)
    row = {
        "limit_cutoff": None if f.due_at is not None else p.get("cutoff"),
        "procedure": p["code"],
        "department": dep,
        "applicant": f.applicant or "",
        "phone": f.phone,
        "channel": str(f.channel or DossierChannel.DIRECT),
        "status": str(start),
        "status_at": first_at,
        "received_at": received,
        "limit_days": days,
        "limit_hours": hours,
        "pauses": [],
        "ticket_id": store.latest_ticket_link(tx.conn, code),
        "created_at": iso(tx.now),
        "updated_at": iso(tx.now),
        "import_job": tx.job,
        "due_at": None,
        "promised_at": None,
        "missing": None,
        "reason": None,
    }
    row.update(derive(tx.cfg, row, start, first_at))
    d = {"id": store.insert_dossier(tx.conn, code, row), "code": code, **row}
    if tx.job is not None:
        tx.touched.add(d["id"])  # new, and tagged with the job already: nothing former
    out = Outcome(d, created=True)
    key = _key(ev, at) if ev else event_key("create", start, first_at)
    path = [] if target == start else transition_path(start, target)
    first = record(
        tx,
        d,
        kind="status",
        status=start,
        at=first_at,
        key=key if not path else key + "#" + str(start),
        note=(ev.note if ev and not path else None),
        notice=NoticeKind.RECEIVED if start == S.RECEIVED and not path else None,
    )
    out.events.append(first)
    _walk(tx, out, path, at, key, ev)
    return out


def _walk(
    tx: Tx,
    out: Outcome,
    path: list[DossierStatus],
    at: str,
    key: str,
    ev: EventInput | None,
    since: str | None = None,
) -> None:
    """Record each step of a path; only the last one carries the details and the SMS."""
    times = step_times(path, at, ev, since or out.dossier["status_at"])
    for i, status in enumerate(path):
        last = i == len(path) - 1
        d, event = step(
            tx,
            out.dossier,
            status,
            times[i],
            key=key if last else f"{key}#{status}",
            note=ev.note if (ev and last) else t("dossier.note.implied", "vi"),
            missing=ev.missing if (ev and last) else None,
            reason=ev.reason if (ev and last) else None,
            notify=last,
        )
        out.dossier = d
        out.events.append(event)


def _update_fields(
    tx: Tx, d: dict[str, Any], f: DossierFields, scope: str | None
) -> dict[str, Any]:
    upd: dict[str, Any] = {}
    if f.department is not None and f.department != d["department"]:
        raise Conflict(t("dossier.error.department_change", "vi"), code="department_change")
    if f.procedure is not None and f.procedure != d["procedure"]:
        p, _ = procedure_for(tx, f, d["department"], scope)
        upd["procedure"] = p["code"]
        upd["limit_days"], upd["limit_hours"] = p["limit_days"], p["limit_hours"]
        upd["limit_cutoff"] = p.get("cutoff")
    for name in ("applicant", "phone"):
        value = getattr(f, name)
        if value is not None and value != d[name]:
            upd[name] = value
    if f.channel is not None and str(f.channel) != d["channel"]:
        upd["channel"] = str(f.channel)
    if f.received_at is not None and iso(f.received_at) != d["received_at"]:
        upd["received_at"] = iso(f.received_at)
    new_due = f.due_at is not None and iso(f.due_at) != d["due_at"]
    if new_due or f.limit_days is not None or f.limit_hours is not None:
        given = f if new_due else DossierFields(limit_days=f.limit_days, limit_hours=f.limit_hours)
        days, hours = limits_for(
            tx, given, None, upd.get("received_at", d["received_at"]), d["pauses"]
        )
        if (days, hours) != (d["limit_days"], d["limit_hours"]):
            upd["limit_days"], upd["limit_hours"] = days, hours
        if new_due and d.get("limit_cutoff"):
            upd["limit_cutoff"] = None  # an explicit due date is the date, no cut-off
    if not upd:
        return d
    merged = {**d, **upd}
    upd.update(derive(tx.cfg, merged, S(d["status"]), d["status_at"]))
    return save(tx, d, upd)


def apply_put(
    tx: Tx, code: str, f: DossierFields, ev: EventInput | None, scope: str | None
) -> Outcome:
    code = normalize_code(code)
    if ev is not None:
        _check_texts(tx, ev)
    d = store.dossier_by_code(tx.conn, code)
    if d is None:
        return _create(tx, code, f, ev, scope)
    d = writable(tx.conn, d, tx.job)
    ev = dated(ev, tx.now, tx.cfg.tz, day_end(tx.cfg))
    _check_scope(d, scope)
    d = _update_fields(tx, d, f, scope)
    out = Outcome(d)
    if ev is None:
        return out
    if ev.kind == "delay":
        return _delay(tx, out, ev)
    assert ev.status is not None
    at, key, seen = _seen(tx, d, ev)
    if seen or ev.status == S(d["status"]):
        out.duplicate = not out.events
        return out
    _require_details(ev.status, ev)
    _check_order(d, at)
    _walk(tx, out, transition_path(S(d["status"]), ev.status), at, key, ev)
    return out


def _check_order(d: dict[str, Any], at: str) -> None:
    if at < d["status_at"]:
        raise Conflict(
            t("dossier.error.out_of_order", "vi", at=at, last=d["status_at"]), code="out_of_order"
        )


# --- workflow events ------------------------------------------------------------------
def _delay(tx: Tx, out: Outcome, ev: EventInput) -> Outcome:
    d = out.dossier
    if not ev.reason:
        raise BadRequest(
            t("dossier.error.late_needs_reason", "vi"), code="delay_needs_reason", field="reason"
        )
    if ev.new_due_at is None:
        raise BadRequest(
            t("dossier.error.late_needs_new_due", "vi"),
            code="delay_needs_new_due",
            field="new_due_at",
        )
    at, key, seen = _seen(tx, d, ev)
    if seen:
        out.duplicate = True
        return out
    status = S(d["status"])
    if is_final(status) or status in (S.RESOLVED, S.REGISTERED):
        raise Conflict(
            t("dossier.error.delay_status", "vi", status=status.label("vi")),
            code="delay_not_allowed",
        )
    _check_new_date(tx, ev.new_due_at, at)
    new_due = iso(ev.new_due_at)
    current = d.get("promised_at") or d.get("due_at")
    if new_due <= at or (current is not None and new_due <= current):
        raise Conflict(t("dossier.error.delay_date", "vi"), code="delay_date")
    d = save(tx, d, {"promised_at": new_due})
    event = record(
        tx,
        d,
        kind="delay",
        status=status,
        at=at,
        key=key,
        from_status=d["status"],
        note=ev.note,
        reason=ev.reason,
        new_due_at=new_due,
        notice=NoticeKind.LATE,
        notice_extra={"reason": ev.reason, "new_due": ev.new_due_at},
    )
    out.dossier = d
    out.events.append(event)
    return out


def _check_new_date(tx: Tx, new_due: datetime, at: str) -> None:
    """An apology's new return date must be after the day it is given — today, for a
    live request (an import replays history: the day of its event).  A new date of
    today or earlier promises the citizen nothing."""
    tz = tx.cfg.tz
    given = when(at)
    assert given is not None
    today = given.astimezone(tz).date()
    if tx.source == "api":
        today = max(today, tx.now.astimezone(tz).date())
    if new_due.astimezone(tz).date() <= today:
        raise BadRequest(
            t(
                "dossier.error.delay_not_after_today",
                "vi",
                new_due=new_due.astimezone(tz).strftime("%d/%m/%Y"),
                today=today.strftime("%d/%m/%Y"),
            ),
            code="delay_date_past",
            field="new_due_at",
        )


def apply_event(tx: Tx, code: str, ev: EventInput, scope: str | None) -> Outcome:
    d = existing(tx.conn, normalize_code(code), tx.job)
    _check_scope(d, scope)
    _check_texts(tx, ev)
    out = Outcome(d)
    if ev.kind == "delay":
        return _delay(tx, out, ev)
    assert ev.status is not None
    at, key, seen = _seen(tx, d, ev)
    if seen:
        out.duplicate = True
        return out
    current = S(d["status"])
    if ev.status == current and not is_final(current):
        # The same status again is news, not a move: keep it on the timeline only.
        _check_order(d, at)
        if current == S.SUPPLEMENT_REQUESTED and ev.missing:
            store.update_dossier(
                tx.conn, d["id"], {"missing": ev.missing, "updated_at": iso(tx.now)}
            )
            d = {**d, "missing": ev.missing}
        out.events.append(
            record(
                tx,
                d,
                kind="note",
                status=current,
                at=at,
                key=key,
                from_status=d["status"],
                note=ev.note,
                missing=ev.missing,
                reason=ev.reason,
            )
        )
        out.dossier = d
        return out
    check_transition(current, ev.status)
    _require_details(ev.status, ev)
    _check_order(d, at)
    d, event = step(
        tx, d, ev.status, at, key=key, note=ev.note, missing=ev.missing, reason=ev.reason
    )
    out.dossier = d
    out.events.append(event)
    return out


def _run(db: Database, cfg: Config, now: datetime, actor: str, source: str, fn, *args) -> Outcome:
    with db.write() as conn:
        tx = Tx(conn, cfg, now, actor, source)
        out: Outcome = fn(tx, *args)
    out.notifications = tx.queued
    out.sms_held = tx.sms_held
    return out


def put_dossier(
    db: Database,
    cfg: Config,
    code: str,
    fields: DossierFields,
    event: EventInput | None,
    *,
    actor: str,
    source: str = "api",
    scope: str | None = None,
    now: datetime,
) -> Outcome:
    return _run(db, cfg, now, actor, source, apply_put, code, fields, event, scope)


def add_event(
    db: Database,
    cfg: Config,
    code: str,
    event: EventInput,
    *,
    actor: str,
    source: str = "api",
    scope: str | None = None,
    now: datetime,
) -> Outcome:
    return _run(db, cfg, now, actor, source, apply_event, code, event, scope)


def paused(d: dict[str, Any]) -> bool:
    return S(d["status"]) in PAUSED
