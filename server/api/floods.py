"""Kiosk floods, for supervisors: the recent alerts (a kiosk over its ticket limit) and
cancelling in one action the still-waiting tickets one device issued in a window."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from .. import floods
from ..clock import iso
from ..context import ctx
from ..kiosk_limit import AUDIT_ACTION as LIMIT_ACTION
from ..kiosk_limit import STAFF_AUDIT_ACTION as STAFF_LIMIT_ACTION
from ..store import staff as staff_store
from . import api
from .common import SUPERVISOR_ROLES, client_ip, current_identity, json_body, requires
from .openapi import EXTRA_PATHS

#: How far back the hall page's alert list reaches when it (re)loads.
ALERTS_SINCE = timedelta(hours=2)
ALERTS_MAX = 20


@api.get("/alerts")
@requires(roles=SUPERVISOR_ROLES)
def recent_alerts():
    c = ctx()
    since = iso(c.now() - ALERTS_SINCE)
    with c.db.read() as conn:
        rows = [
            r
            for action in (LIMIT_ACTION, STAFF_LIMIT_ACTION)
            for r in staff_store.search_audit(conn, action=action, since=since, limit=ALERTS_MAX)
        ]
        devices = {r["name"]: r["id"] for r in staff_store.device_ids(conn)}
    rows = sorted(rows, key=lambda r: r["id"], reverse=True)[:ALERTS_MAX]
    alerts = []
    for r in rows:
        target = r["target"] or ""
        if r["action"] == STAFF_LIMIT_ACTION:
            who = {"device": None, "user_name": target.removeprefix("user:")}
        else:
            name = target.removeprefix("device:")
            who = {"device": devices.get(name), "device_name": name}
        alerts.append({"kind": r["action"], **who, "at": r["at"], **(r["detail"] or {})})
    return jsonify({"alerts": alerts})


@api.post("/devices/<int:device_id>/cancel-waiting")
@requires(roles=SUPERVISOR_ROLES)
def cancel_waiting(device_id: int):
    data = json_body()
    who = current_identity()
    assert who is not None
    c = ctx()
    out = floods.cancel_waiting_from_device(
        c.db,
        c.cfg,
        device_id,
        since=data.get("since"),
        until=data.get("until"),
        reason=data.get("reason"),
        actor=who.actor,
        now=c.now(),
        ip=client_ip(),
    )
    rt = c.realtime
    if out.tickets:
        rt.queue_changed(*{t["queue_service"] for t in out.tickets})
    for t in out.tickets:
        rt.publish_ticket(t)
    return jsonify(
        {
            "device_name": out.device_name,
            "cancelled": len(out.tickets),
            "labels": [t["label"] for t in out.tickets],
            "more": out.more,
        }
    )


_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ERRORS = {"400": "Bad input", "401": "Not authenticated", "403": "Supervisors only"}


def _responses(ok: str, schema: dict, *errors: str) -> dict:
    names = {**_ERRORS, "404": "No such device"}
    return {
        "200": {"description": ok, "content": {"application/json": {"schema": schema}}},
        **{e: {"description": names[e], **_ERR} for e in errors},
    }


EXTRA_PATHS["/alerts"] = {
    "get": {
        "summary": "Recent hall alerts for supervisors (kiosks over their ticket limit)",
        "tags": ["supervisor"],
        "security": [{"bearer": []}],
        "responses": _responses(
            "Newest first",
            {
                "type": "object",
                "properties": {"alerts": {"type": "array", "items": {"type": "object"}}},
                "required": ["alerts"],
            },
            "401",
            "403",
        ),
    }
}
EXTRA_PATHS["/devices/{device_id}/cancel-waiting"] = {
    "post": {
        "summary": "Cancel every still-waiting ticket a device issued in a window (a kiosk "
        "flood), with a reason; audited, each ticket through the state machine",
        "tags": ["supervisor"],
        "security": [{"bearer": []}],
        "parameters": [
            {
                "name": "device_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "since": {"type": "string", "format": "date-time"},
                            "until": {"type": "string", "format": "date-time"},
                            "reason": {"type": "string", "maxLength": floods.MAX_REASON},
                        },
                        "required": ["since", "until", "reason"],
                    }
                }
            },
        },
        "responses": _responses(
            "What was cancelled",
            {
                "type": "object",
                "properties": {
                    "device_name": {"type": "string"},
                    "cancelled": {"type": "integer"},
                    "labels": {"type": "array", "items": {"type": "string"}},
                    "more": {"type": "boolean"},
                },
                "required": ["device_name", "cancelled", "labels", "more"],
            },
            "400",
            "401",
            "403",
            "404",
        ),
    }
}
