"""A supervisor's correction of a dossier's status — the "late because of a wrong click"
fix.  It bypasses the workflow (any status may be set, at the time it really took
effect) but never silently: it is a timeline event with its reason, and an audit row.
"""

from __future__ import annotations

from datetime import datetime

from server.clock import iso
from server.config import Config
from server.dossiers.codes import normalize_code
from server.dossiers.state import (
    ENDED,
    Outcome,
    Tx,
    checked_at,
    derive,
    event_key,
    existing,
    record,
    save,
)
from server.dossiers.status import DossierStatus
from server.errors import BadRequest, Conflict
from server.i18n import t
from server.store import Database
from server.store import accounts as account_store

S = DossierStatus
AUDIT_ACTION = "dossier_corrected"


def correct_status(
    db: Database,
    cfg: Config,
    code: str,
    status: DossierStatus,
    *,
    reason: str | None,
    at: datetime | None,
    actor: str,
    now: datetime,
    ip: str | None = None,
) -> Outcome:
    """Set a status directly (the "late because of a wrong click" fix), with a reason.

    ``at`` is when the status really took effect (default now): correcting a resolve
    that was clicked days late to its true time re-classifies the dossier.  No SMS.
    """
    if not reason:
        raise BadRequest(
            t("dossier.error.correction_reason", "vi"), code="reason_needed", field="reason"
        )
    code = normalize_code(code)
    when_at = checked_at(at, now)
    with db.write() as conn:
        tx = Tx(conn, cfg, now, actor, "correction", notify=False)
        d = existing(conn, code)
        if (
            d["received_at"]
            and when_at < d["received_at"]
            and status not in (S.REGISTERED, S.NOT_ACCEPTED)
        ):
            raise Conflict(t("dossier.error.before_received", "vi"), code="before_received")
        if status == S(d["status"]) and when_at == d["status_at"]:
            raise Conflict(t("dossier.error.nothing_to_correct", "vi"), code="nothing_to_correct")
        upd = derive(cfg, d, status, when_at)
        if status not in ENDED:
            upd["reason"] = None
        merged = save(tx, d, upd)
        key = event_key("correction", status, when_at, reason, iso(now))
        event = record(
            tx,
            merged,
            kind="correction",
            status=status,
            at=when_at,
            key=key,
            from_status=d["status"],
            reason=reason,
            note=t(
                "dossier.note.correction",
                "vi",
                old=S(d["status"]).label("vi"),
                new=status.label("vi"),
            ),
        )
        account_store.add_audit(
            conn,
            iso(now),
            actor,
            AUDIT_ACTION,
            code,
            {
                "from": d["status"],
                "to": str(status),
                "at": when_at,
                "was_at": d["status_at"],
                "reason": reason,
                "timeliness": [d["timeliness"], upd.get("timeliness")],
            },
            ip,
        )
    return Outcome(merged, events=[event])
