"""Whose a dossier is and how long it may take: its procedure (created on the fly when
the sender names one), its department (checked against the sender's scope), its code's
agency (one department's agency codes are its own), and its time limit (an explicit due
date, the sender's limit, or the procedure's).  Used by ``service`` on the caller's
transaction."""

from __future__ import annotations

from typing import Any

from server.clock import iso
from server.dossiers import settings as dsettings
from server.dossiers.codes import agency_of
from server.dossiers.inputs import DossierFields
from server.dossiers.state import Tx, when
from server.errors import BadRequest, Forbidden
from server.i18n import t
from server.store import dossiers as store


def procedure_for(tx: Tx, f: DossierFields, department: str | None, scope: str | None):
    """The dossier's procedure (created on the fly when the sender names it)."""
    if f.procedure is None:
        raise BadRequest(
            t("dossier.error.procedure_needed", "vi"), code="procedure_needed", field="procedure"
        )
    p = tx.procedure(f.procedure)
    if p is None and not f.procedure_name:
        raise BadRequest(
            t("dossier.error.unknown_procedure", "vi", code=f.procedure),
            code="unknown_procedure",
            field="procedure",
        )
    dep = department or (p["department"] if p else None) or scope
    if dep is None:
        raise BadRequest(
            t("dossier.error.department_needed", "vi"), code="department_needed", field="department"
        )
    if scope is not None and dep != scope:
        raise Forbidden(
            t("dossier.error.other_department", "vi", code=dep), code="other_department"
        )
    if tx.department(dep) is None:
        raise BadRequest(
            t("dossier.error.unknown_department", "vi", code=dep),
            code="unknown_department",
            field="department",
        )
    if p is None:
        p = {
            "code": f.procedure,
            "name": f.procedure_name,
            "department": dep,
            "limit_days": f.limit_days,
            "limit_hours": f.limit_hours,
            "created_at": iso(tx.now),
        }
        store.upsert_procedure(tx.conn, p)
        tx.forget("procedure", p["code"])
    elif p["department"] != dep:
        raise BadRequest(
            t("dossier.error.procedure_department", "vi", code=p["code"], dep=dep),
            code="procedure_department",
            field="procedure",
        )
    return p, dep


def limits_for(
    tx: Tx,
    f: DossierFields,
    p: dict[str, Any] | None,
    received: str | None,
    pauses: list[list[str | None]] | None = None,
):
    """(limit_days, limit_hours): an explicit due date wins (converted to working hours
    from receipt, minus closed supplement pauses, so a later pause still moves it), then
    the sender's limit, then the procedure's."""
    if f.due_at is not None and received is not None:
        start = when(received)
        assert start is not None
        if f.due_at <= start:
            raise BadRequest(
                t("dossier.error.due_before_received", "vi"), code="bad_due", field="due_at"
            )
        cal = dsettings.calendar(tx.cfg)
        seconds = cal.working_seconds_between(start, f.due_at)
        for a, b in pauses or []:
            lo, hi = when(a), when(b)
            if lo is not None and hi is not None and start <= lo < hi <= f.due_at:
                seconds -= cal.working_seconds_between(lo, hi)
        return 0.0, round(max(seconds, 0.0) / 3600, 4)
    if f.limit_days is not None or f.limit_hours is not None:
        return f.limit_days, f.limit_hours
    if p is not None:
        return p["limit_days"], p["limit_hours"]
    return None, None


def check_agency(tx: Tx, code: str, department: str) -> None:
    """A one-stop code's agency prefix must be the dossier's department's: a code from an
    agency registered to another department is theirs (403), and a department that
    registered its agencies writes only codes with one of them.  Codes in other formats,
    and departments with no agency registered, are not checked (older keys keep working
    but still cannot take a registered agency's codes)."""
    agency = agency_of(code)
    if agency is None:
        return
    owner = tx.agency_owner(agency)
    if owner is not None and owner != department:
        raise Forbidden(
            t(
                "dossier.error.other_agency",
                "vi",
                code=code,
                agency=agency,
                owner=owner,
                department=department,
            ),
            code="other_agency",
        )
    own = tx.agencies(department)
    if owner is None and own:
        raise Forbidden(
            t(
                "dossier.error.foreign_agency",
                "vi",
                code=code,
                agency=agency,
                department=department,
                own=", ".join(own),
            ),
            code="other_agency",
        )
