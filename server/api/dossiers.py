"""Dossier endpoints: the public lookup (masked, rate limited), departments' sync (PUT a
dossier, POST its events), the supervisor's detail, correction and watch list.

Who may do what:
- anyone: ``GET /dossiers/{code}`` — masked, rate limited per client (per paired device);
- staff, supervisors, and department API keys with ``dossiers:write``: PUT and events
  (an API key only for its own department's dossiers);
- staff, supervisors, and keys with ``dossiers:read``: the full detail and watch list;
- supervisors only: corrections and re-sending a failed SMS.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from ..auth import session_device
from ..clock import iso
from ..context import ctx
from ..dossiers import service
from ..dossiers import settings as dsettings
from ..dossiers.apikeys import READ, WRITE
from ..dossiers.codes import InvalidDossierCode, looks_like_onestop, normalize_code
from ..dossiers.inputs import clean_text, dossier_fields, event_input, parse_when
from ..dossiers.state import not_found
from ..dossiers.stats import watch
from ..dossiers.status import parse_status
from ..dossiers.views import public_view, staff_view
from ..errors import BadRequest, Conflict, NotFound, is_whole
from ..i18n import LANGS, t
from ..notify import worker as notify_worker
from ..protocol import DeviceKind
from ..store import dossiers as dossier_store
from ..store import notifications as notification_store
from . import api
from .common import (
    STAFF_ROLES,
    SUPERVISOR_ROLES,
    client_ip,
    current_identity,
    json_body,
    rate_limit,
    requires,
)
from .dossiers_doc import document_routes

document_routes()


def _scope() -> str | None:
    """The department an API key is limited to (None for staff: every department)."""
    who = current_identity()
    return who.department if who is not None and who.kind == "apikey" else None


def _actor() -> str:
    who = current_identity()
    return who.actor if who is not None else "public"


def _lang() -> str:
    lang = request.args.get("lang", "vi")
    return lang if lang in LANGS else "vi"


def _brief(d: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "code",
        "department",
        "procedure",
        "channel",
        "status",
        "status_at",
        "received_at",
        "due_at",
        "promised_at",
        "finished_at",
        "timeliness",
        "returned_at",
        "missing",
        "reason",
        "ticket_id",
    )
    return {k: d.get(k) for k in keys}


def _written(out: service.Outcome) -> dict[str, Any]:
    if out.notifications:
        notify_worker.poke(current_app)
    return {
        "dossier": _brief(out.dossier),
        "created": out.created,
        "duplicate": out.duplicate,
        "events": [
            {"id": e["id"], "kind": e["kind"], "status": e["status"], "at": e["at"]}
            for e in out.events
        ],
        "notifications": len(out.notifications),
        "sms_held": out.sms_held,
    }


# --- public lookup --------------------------------------------------------------------
@api.get("/dossiers/<code>")
def lookup(code: str):
    device = session_device()
    is_screen = device is not None and device.device_kind == DeviceKind.LOOKUP
    rate_limit("lookup", f"device:{device.id}" if is_screen and device else client_ip())
    lang = _lang()
    try:
        normal = normalize_code(code)
    except InvalidDossierCode as exc:
        raise BadRequest(t(f"dossier.error.{exc.key}", lang, max=64), code=exc.code) from None
    c = ctx()
    digits_needed = dsettings.settings(c.cfg).phone_digits
    digits = "".join(ch for ch in request.args.get("phone", "") if ch.isdigit())
    if digits_needed and len(digits) != digits_needed:
        raise BadRequest(
            t("lookup.phone_digits_needed", lang, n=digits_needed),
            code="phone_digits_required",
            digits=digits_needed,
        )
    with c.db.read() as conn:
        view = public_view(conn, c.cfg, normal, c.now(), lang)
        phone = _phone_of(conn, normal) if view is not None and digits_needed else None
    if view is None or (phone and not phone.endswith(digits)):
        raise NotFound(
            t("lookup.not_found", lang, code=normal),
            code="unknown_dossier",
            looks_like_onestop=looks_like_onestop(normal),
        )
    resp = jsonify({"dossier": view})
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _phone_of(conn, code: str) -> str | None:
    d = dossier_store.dossier_for_lookup(conn, code)
    return d["phone"] if d else None


# --- departments' sync ----------------------------------------------------------------
@api.put("/dossiers/<code>")
@requires(roles=STAFF_ROLES, scopes=(WRITE,))
def put_dossier(code: str):
    data = json_body()
    c = ctx()
    end = service.day_end(c.cfg)
    fields = dossier_fields(data, c.cfg.tz, end)
    event = event_input(data, c.cfg.tz, end)
    out = service.put_dossier(
        c.db, c.cfg, code, fields, event, actor=_actor(), scope=_scope(), now=c.now()
    )
    return jsonify(_written(out)), 201 if out.created else 200


@api.post("/dossiers/<code>/events")
@requires(roles=STAFF_ROLES, scopes=(WRITE,))
def post_event(code: str):
    data = json_body()
    c = ctx()
    event = event_input(data, c.cfg.tz, service.day_end(c.cfg))
    if event is None:
        raise BadRequest(
            t("dossier.error.event_needed", "vi"), code="missing_field", field="status"
        )
    out = service.add_event(c.db, c.cfg, code, event, actor=_actor(), scope=_scope(), now=c.now())
    return jsonify(_written(out)), 200 if out.duplicate else 201


# --- supervisors and departments' read access -----------------------------------------
@api.get("/dossiers/<code>/detail")
@requires(roles=STAFF_ROLES, scopes=(READ,))
def detail(code: str):
    c = ctx()
    normal = normalize_code(code)
    with c.db.read() as conn:
        view = staff_view(conn, c.cfg, normal, c.now())
    scope = _scope()
    if view is None or (scope is not None and view["department"] != scope):
        raise not_found(normal)  # another department's dossier is not theirs to see
    return jsonify({"dossier": view})


@api.post("/dossiers/<code>/correction")
@requires(roles=SUPERVISOR_ROLES)
def correction(code: str):
    data = json_body()
    c = ctx()
    status = data.get("status")
    if not isinstance(status, str) or not status:
        raise BadRequest("Thiếu trạng thái (status).", code="missing_field", field="status")
    out = service.correct_status(
        c.db,
        c.cfg,
        code,
        parse_status(status),
        reason=clean_text(data.get("reason"), "reason"),
        at=parse_when(data.get("at"), c.cfg.tz, "at"),
        actor=_actor(),
        now=c.now(),
        ip=client_ip(),
    )
    return jsonify(_written(out))


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not is_whole(raw):
        raise BadRequest(f"{name} phải là số nguyên.", code="bad_query", field=name)
    return int(raw)


@api.get("/dossiers/watch")
@requires(roles=SUPERVISOR_ROLES, scopes=(READ,))
def watch_list():
    c = ctx()
    department = _scope() or (request.args.get("department") or None)
    result = watch(
        c.db,
        c.cfg,
        c.now(),
        department=department,
        stale_days=_int_arg("stale_days"),
        due_days=_int_arg("due_days"),
    )
    return jsonify(result)


@api.post("/notifications/<int:notification_id>/retry")
@requires(roles=SUPERVISOR_ROLES)
def retry_notification(notification_id: int):
    c = ctx()
    with c.db.write() as conn:
        n = notification_store.get(conn, notification_id)
        if n is None:
            raise NotFound(f"Không có tin nhắn #{notification_id}.", code="unknown_notification")
        if not notification_store.requeue(conn, notification_id, iso(c.now())):
            raise Conflict(
                "Chỉ gửi lại được tin nhắn đã thất bại và có nội dung.", code="not_retryable"
            )
    notify_worker.poke(current_app)
    return jsonify({"notification": {"id": notification_id, "status": "queued"}})
