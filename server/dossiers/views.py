"""What each audience sees of a dossier.

``public_view`` is what the lookup touchscreen and a citizen's phone get for a code: the
status in plain words, the timeline, the due date, where to collect the result, what is
missing — and no personal data.  The code printed on a receipt is not a secret (codes
are sequential), so the name is masked, the phone is left out entirely (even its last
digits: some centers use them as the lookup's second factor), and staff notes, actors
and ticket ids never leave the building.  ``staff_view`` is the supervisor's full view,
including the SMS delivery status.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from server.clock import parse_iso
from server.config import Config
from server.dossiers import settings as dsettings
from server.dossiers.calendar import Timeliness
from server.dossiers.codes import mask_name
from server.dossiers.state import ENDED
from server.dossiers.status import PAUSED, RUNNING, DossierChannel, DossierStatus
from server.i18n import t
from server.store import dossiers as store
from server.store import notifications as notification_store

S = DossierStatus
DATE = "%d/%m/%Y"
DATETIME = "%d/%m/%Y %H:%M"


def _local(cfg: Config, text: str | None, fmt: str) -> str | None:
    return parse_iso(text).astimezone(cfg.tz).strftime(fmt) if text else None


def _summary(status: DossierStatus, d: dict[str, Any], overdue: bool, lang: str) -> str:
    """One plain sentence a citizen understands at a glance."""
    if status == S.RESOLVED:
        return t("lookup.summary.ready", lang)
    if status in PAUSED:
        return t(f"lookup.summary.{status.value}", lang)
    if status in ENDED or status == S.RETURNED:
        return t(f"lookup.summary.{status.value}", lang)
    if d.get("promised_at"):
        return t("lookup.summary.delayed", lang)
    if overdue:
        return t("lookup.summary.overdue", lang)
    return t(f"lookup.summary.{status.value}", lang)


def public_view(
    conn: sqlite3.Connection, cfg: Config, code: str, now: datetime, lang: str = "vi"
) -> dict[str, Any] | None:
    d = store.dossier_for_lookup(conn, code)
    if d is None:
        return None
    status = S(d["status"])
    settings = dsettings.settings(cfg)
    effective_due = d["promised_at"] or d["due_at"]
    running = status in RUNNING
    overdue = bool(running and effective_due and parse_iso(effective_due) < now)
    timeline = []
    for e in store.events(conn, d["id"]):
        entry: dict[str, Any] = {
            "kind": e["kind"],
            "status": e["status"],
            "status_label": S(e["status"]).label(lang),
            "at": e["at"],
            "at_text": _local(cfg, e["at"], DATETIME),
        }
        if e["kind"] == "delay":
            entry["new_due_text"] = _local(cfg, e["new_due_at"], DATE)
            entry["reason"] = e["reason"]
        if e["missing"] and e["status"] == S.SUPPLEMENT_REQUESTED:
            entry["missing"] = e["missing"]
        if e["reason"] and S(e["status"]) in ENDED and e["kind"] != "correction":
            entry["reason"] = e["reason"]
        timeline.append(entry)
    timeliness = d["timeliness"]
    return {
        "code": d["code"],
        "status": status.value,
        "status_label": status.label(lang),
        "summary": _summary(status, d, overdue, lang),
        "procedure": d["procedure_name"] or d["procedure"],
        "department": d["department_name"] or d["department"],
        "applicant": mask_name(d["applicant"] or ""),
        "channel": d["channel"],
        "channel_label": DossierChannel(d["channel"]).label(lang),
        "received_at": d["received_at"],
        "received_text": _local(cfg, d["received_at"], DATETIME),
        "due_at": effective_due,
        "due_text": _local(cfg, effective_due, DATE),
        "original_due_text": _local(cfg, d["due_at"], DATE) if d["promised_at"] else None,
        "delayed": bool(d["promised_at"]),
        "clock_paused": status in PAUSED,
        "overdue": overdue,
        "ready": status == S.RESOLVED,
        "returned": status == S.RETURNED,
        "final": status in ENDED or status == S.RETURNED,
        "collect_place": (d["department_place"] or settings.place)
        if status == S.RESOLVED
        else None,
        "missing": d["missing"] if status == S.SUPPLEMENT_REQUESTED else None,
        "contact": (d["department_contact"] or settings.contact) if status in PAUSED else None,
        "reason": d["reason"] if status in ENDED else None,
        "finished_text": _local(cfg, d["finished_at"], DATETIME),
        "timeliness": timeliness,
        "timeliness_label": Timeliness(timeliness).label(lang) if timeliness else None,
        "timeline": timeline,
    }


def staff_view(
    conn: sqlite3.Connection, cfg: Config, code: str, now: datetime
) -> dict[str, Any] | None:
    d = store.dossier_for_lookup(conn, code)
    if d is None:
        return None
    public = public_view(conn, cfg, code, now)
    assert public is not None
    notes = notification_store.for_dossier(conn, d["id"])
    return {
        **{k: v for k, v in d.items() if k not in ("department_place", "department_contact")},
        "status_label": public["status_label"],
        "summary": public["summary"],
        "due_text": public["due_text"],
        "overdue": public["overdue"],
        "clock_paused": public["clock_paused"],
        "linked_tickets": store.tickets_for_code(conn, d["code"]),
        "events": [
            {
                **e,
                "status_label": S(e["status"]).label("vi"),
                "at_text": _local(cfg, e["at"], DATETIME),
            }
            for e in store.events(conn, d["id"])
        ],
        "notifications": [
            {
                k: n[k]
                for k in (
                    "id",
                    "kind",
                    "status",
                    "attempts",
                    "error",
                    "text",
                    "created_at",
                    "sent_at",
                    "next_attempt_at",
                )
            }
            for n in notes
        ],
    }
