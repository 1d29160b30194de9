"""How one timeline entry changes a dossier row: the derived fields (clock pauses, due
date, finish and timeliness), the event row and the SMS it causes — all on the caller's
connection, inside the caller's write transaction.

Kept apart from ``service`` (which decides *whether* a change is allowed) so the normal
workflow, a department's sync that skips steps, and a supervisor's correction all
derive the row the same way.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from server.clock import iso, parse_iso
from server.config import Config
from server.dossiers import settings as dsettings
from server.dossiers.status import PAUSED, DossierStatus
from server.errors import BadRequest, Busy, NotFound
from server.i18n import t
from server.notify import outbox
from server.notify.notices import NoticeKind
from server.store import dossier_keys as key_store
from server.store import dossiers as store
from server.store import import_publish

S = DossierStatus
#: Statuses that close a dossier without a result.
ENDED = frozenset({S.NOT_ACCEPTED, S.WITHDRAWN, S.STOPPED})
#: The SMS each status sends (when the dossier has a phone).
NOTICE_FOR: dict[DossierStatus, NoticeKind] = {
    S.RECEIVED: NoticeKind.RECEIVED,
    S.RESOLVED: NoticeKind.READY,
    S.SUPPLEMENT_REQUESTED: NoticeKind.SUPPLEMENT,
    S.NOT_ACCEPTED: NoticeKind.REJECTED,
    S.STOPPED: NoticeKind.REJECTED,
}


@dataclass
class Tx:
    """One write transaction's shared context (an import reuses it for every row)."""

    conn: sqlite3.Connection
    cfg: Config
    now: datetime
    actor: str
    source: str
    notify: bool = True
    texts: dict[str, str] | None = None
    queued: list[int] = field(default_factory=list)
    #: Why SMS of this transaction were not sent (a limit of ``sms.limits``).
    sms_held: list[str] = field(default_factory=list)
    #: Departments and procedures read in this transaction (an import reads each once).
    cache: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    #: The import job applying in this transaction: what it writes stays hidden from
    #: readers until the job is published (``store.import_publish``).
    job: str | None = None
    #: Dossiers this transaction's job has tagged already.
    touched: set[int] = field(default_factory=set)

    def touch(self, dossier_id: int) -> None:
        """Before the job changes a dossier or its timeline: keep its former row."""
        if self.job is not None and dossier_id not in self.touched:
            import_publish.touch(self.conn, self.job, dossier_id)
            self.touched.add(dossier_id)

    def department(self, code: str) -> dict[str, Any] | None:
        key = ("department", code)
        if key not in self.cache:
            self.cache[key] = store.department(self.conn, code)
        return self.cache[key]

    def procedure(self, code: str) -> dict[str, Any] | None:
        key = ("procedure", code)
        if key not in self.cache:
            self.cache[key] = store.procedure(self.conn, code)
        return self.cache[key]

    def agency_owner(self, agency: str) -> str | None:
        key = ("agency", agency)
        if key not in self.cache:
            owner = key_store.agency_owner(self.conn, agency)
            self.cache[key] = {"department": owner} if owner else None
        hit = self.cache[key]
        return hit["department"] if hit else None

    def agencies(self, department: str) -> list[str]:
        key = ("agencies", department)
        if key not in self.cache:
            owned = key_store.agencies(self.conn, department).get(department, [])
            self.cache[key] = {"agencies": owned}
        hit = self.cache[key]
        return list(hit["agencies"]) if hit else []

    @property
    def sms_sender(self) -> str | None:
        """Whose SMS quota this transaction's messages count against: the API key or
        staff account; the server's own operators (``cli:…``) have none."""
        return None if self.actor.startswith("cli:") else self.actor

    def forget(self, kind: str, code: str) -> None:
        self.cache.pop((kind, code), None)

    def templates(self) -> dict[str, str]:
        if self.texts is None:
            self.texts = outbox.templates(self.conn, self.cfg)
        return self.texts


def event_key(*parts: Any) -> str:
    """A stable key from an event's content, for senders that give no event id."""
    blob = "\x1f".join("" if p is None else str(p) for p in parts)
    return "h:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


def when(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def recompute_due(cfg: Config, d: dict[str, Any]) -> str | None:
    """The legal due date: receipt + limit in working time, supplement pauses excluded.

    An open pause counts as ending at its start (so the stored date is the earliest
    possible one); the lookup screen says the clock is stopped while it stays open.
    """
    days, hours = d.get("limit_days"), d.get("limit_hours")
    cutoff = d.get("limit_cutoff")
    if not d.get("received_at") or (days is None and hours is None and not cutoff):
        return d.get("due_at")
    closed = tuple((a, b) for a, b in d["pauses"] if b is not None and b > a)
    return _due(cfg, d["received_at"], days or 0, hours or 0, closed, cutoff)


_due_cache: dict[tuple[Any, ...], str] = {}


def _due(
    cfg: Config, received: str, days: float, hours: float, pauses: tuple, cutoff: str | None
) -> str:
    """Memoised per (calendar, receipt, limit, closed pauses): an import of a day's
    dossiers, all received at the same desk hours, computes each due date once."""
    cal = dsettings.calendar(cfg)
    key = (cal, received, days, hours, pauses, cutoff)  # the calendar itself: ids can be reused
    hit = _due_cache.get(key)
    if hit is None:
        spans = [(parse_iso(a), parse_iso(b)) for a, b in pauses]
        start = parse_iso(received)
        hit = iso(
            cal.due_date(
                start,
                days=days,
                hours=hours,
                pauses=spans,
                now=start,
                cutoff=time.fromisoformat(cutoff) if cutoff else None,
            )
        )
        if len(_due_cache) > 20_000:
            _due_cache.clear()
        _due_cache[key] = hit
    return hit


def derive(cfg: Config, d: dict[str, Any], new: DossierStatus, at: str) -> dict[str, Any]:
    """The fields that change when ``d`` takes status ``new`` at ``at`` (no checks)."""
    old = DossierStatus(d["status"])
    upd: dict[str, Any] = {"status": str(new), "status_at": at}
    pauses = [list(p) for p in d["pauses"]]
    if new in PAUSED and not (pauses and pauses[-1][1] is None):
        pauses.append([at, None])
    elif new not in PAUSED and pauses and pauses[-1][1] is None:
        pauses[-1][1] = max(at, pauses[-1][0])
    if pauses != d["pauses"]:
        upd["pauses"] = pauses
    if new not in (S.REGISTERED, S.NOT_ACCEPTED) and not d.get("received_at"):
        upd["received_at"] = at
    if new != S.SUPPLEMENT_REQUESTED and old == S.SUPPLEMENT_REQUESTED:
        upd["missing"] = None
    if new == S.RESOLVED:
        upd["finished_at"] = at
    elif new == S.RETURNED:
        upd["returned_at"] = at
        upd["finished_at"] = d.get("finished_at") or at
    else:
        upd.update(finished_at=None, returned_at=None)
    upd["ended_at"] = at if new in ENDED else None
    merged = {**d, **upd}
    inputs = ("received_at", "limit_days", "limit_hours", "limit_cutoff")
    closed_pauses = [p for p in merged["pauses"] if p[1] is not None]
    if (
        d.get("due_at") is None
        or any(merged.get(k) != d.get(k) for k in inputs)
        or closed_pauses != [p for p in d["pauses"] if p[1] is not None]
    ):
        upd["due_at"] = recompute_due(cfg, merged)
        merged["due_at"] = upd["due_at"]
    finished = when(merged.get("finished_at"))
    due = when(merged["due_at"])
    upd["timeliness"] = (
        str(dsettings.calendar(cfg).classify(due, finished)) if finished and due else None
    )
    return upd


def notice_params(tx: Tx, d: dict[str, Any], **extra: Any) -> dict[str, Any]:
    dep = tx.department(d["department"]) or {}
    cfg_d = dsettings.settings(tx.cfg)
    due = when(d.get("promised_at") or d.get("due_at"))
    return {
        "code": d["code"],
        "due": due,
        "place": dep.get("place") or cfg_d.place,
        "contact": dep.get("contact") or cfg_d.contact,
        "unit": dep.get("name") or tx.cfg.center_name,
        "missing": d.get("missing"),
        "reason": d.get("reason"),
        **extra,
    }


def record(
    tx: Tx,
    d: dict[str, Any],
    *,
    kind: str,
    status: DossierStatus,
    at: str,
    key: str,
    from_status: str | None = None,
    note: str | None = None,
    missing: str | None = None,
    reason: str | None = None,
    new_due_at: str | None = None,
    notice: NoticeKind | None = None,
    notice_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert one event row (and its SMS) for ``d`` as it is after the event, which
    moved it from ``from_status`` (None: the dossier's first event); returns the event."""
    event = {
        "dossier_id": d["id"],
        "kind": kind,
        "from_status": from_status,
        "status": str(status),
        "at": at,
        "note": note,
        "actor": tx.actor,
        "source": tx.source,
        "new_due_at": new_due_at,
        "missing": missing,
        "reason": reason,
        "event_key": key,
        "created_at": iso(tx.now),
    }
    if tx.job is not None:
        tx.touch(d["id"])
        event["import_job"] = tx.job
    event["id"] = store.insert_event(tx.conn, event)
    if notice is not None and tx.notify:
        if notice is NoticeKind.RECEIVED and not (d.get("promised_at") or d.get("due_at")):
            return event
        queued = outbox.enqueue(
            tx.conn,
            tx.cfg,
            kind=notice,
            dossier=d,
            event_id=event["id"],
            event_at=parse_iso(at),
            params=notice_params(tx, d, **(notice_extra or {})),
            now=tx.now,
            texts=tx.templates(),
            sender=tx.sms_sender,
            held=tx.sms_held,
            job=tx.job,
        )
        if queued is not None:
            tx.queued.append(queued)
    return event


def step(
    tx: Tx,
    d: dict[str, Any],
    new: DossierStatus,
    at: str,
    *,
    key: str,
    kind: str = "status",
    note: str | None = None,
    missing: str | None = None,
    reason: str | None = None,
    notify: bool = True,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move ``d`` to ``new`` (already allowed by the caller); returns (dossier, event)."""
    upd = derive(tx.cfg, d, new, at)
    if new == S.SUPPLEMENT_REQUESTED and missing:
        upd["missing"] = missing
    if new in ENDED and reason:
        upd["reason"] = reason
    merged = save(tx, d, upd)
    event = record(
        tx,
        merged,
        kind=kind,
        status=new,
        at=at,
        key=key,
        from_status=d["status"],
        note=note,
        missing=missing,
        reason=reason,
        notice=NOTICE_FOR.get(new) if notify else None,
    )
    return merged, event


def save(tx: Tx, d: dict[str, Any], upd: dict[str, Any]) -> dict[str, Any]:
    """Write ``upd`` (stamped with the transaction's time) to the dossier's row; returns
    the dossier as it now is."""
    upd["updated_at"] = iso(tx.now)
    tx.touch(d["id"])
    store.update_dossier(tx.conn, d["id"], upd)
    return {**d, **upd}


@dataclass
class Outcome:
    """What a use case did: the dossier after it, and what was recorded and queued."""

    dossier: dict[str, Any]
    created: bool = False
    duplicate: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)
    sms_held: list[str] = field(default_factory=list)


#: Clocks differ a little between a department's server and ours.
FUTURE_SLACK = timedelta(minutes=10)


def not_found(code: str) -> NotFound:
    return NotFound(t("dossier.error.not_found", "vi", code=code), code="unknown_dossier")


def existing(conn: sqlite3.Connection, code: str, job: str | None = None) -> dict[str, Any]:
    """The dossier with this (normalized) code, to change; a 404 when there is none."""
    d = store.dossier_by_code(conn, code)
    if d is None:
        raise not_found(code)
    return writable(conn, d, job)


def writable(conn: sqlite3.Connection, d: dict[str, Any], job: str | None) -> dict[str, Any]:
    """``d``, unless an import job other than ``job`` holds it unpublished: then a 503
    the sender retries (changing it now would be lost, or half-seen, when the job is
    published or undone — its whole file lands at once, soon)."""
    held = d.get("import_job")
    if held is not None and held != job and import_publish.is_pending(conn, held):
        raise Busy(
            t("dossier.error.import_pending", "vi", code=d["code"]),
            code="import_pending",
            retry_after=5,
        )
    return d


def checked_at(ev_at: datetime | None, now: datetime, field_name: str = "at") -> str:
    """An event's time (default: now), refused when it lies in the future."""
    at = ev_at or now
    if at > now + FUTURE_SLACK:
        raise BadRequest(t("dossier.error.future", "vi", field=field_name), code="future_time")
    return iso(at)
