"""Supervisor actions on the hall: the live overview, which services a counter calls,
and closing or reopening a service for the day.  Every change is audited and pushed
to consoles, boards and kiosks after it commits."""

from __future__ import annotations

from flask import jsonify

from .. import accounts, administration, console, hall
from ..accounts import Identity
from ..clock import business_day
from ..context import ctx
from ..store import catalog
from . import api
from .common import SUPERVISOR_ROLES, client_ip, current_identity, json_body, requires
from .openapi import EXTRA_PATHS


def _who() -> Identity:
    who = current_identity()
    assert who is not None
    return who


def _audit(action: str, target: str, detail: dict) -> None:
    c = ctx()
    accounts.audit(c.db, c.now(), _who().actor, action, target, detail, client_ip())


def connected_devices() -> set[int]:
    """Ids of devices with an open Socket.IO connection right now."""
    rt = ctx().realtime
    return {who.id for who in list(rt.identities.values()) if who.kind == "device"}


@api.get("/hall")
@requires(roles=SUPERVISOR_ROLES)
def hall_overview():
    c = ctx()
    return jsonify(console.hall_overview(c.db, c.cfg, c.now(), connected_devices()))


@api.post("/counters/<int:number>/services")
@requires(roles=SUPERVISOR_ROLES)
def reassign_services(number: int):
    data = json_body()
    c = ctx()
    old, new = administration.set_counter_services(c.db, number, data.get("services"))
    _audit("counter_services", f"counter:{number}", {"from": old, "to": new})
    c.realtime.publish_counter(number)
    c.realtime.queue_changed(*set(old) | set(new))
    with c.db.read() as conn:
        return jsonify({"counter": hall.one_counter(conn, number)})


def _service_closed(code: str, closed: bool):
    c = ctx()
    day = business_day(c.now(), c.cfg.tz).isoformat()
    administration.set_service_closed(c.db, code, day if closed else None)
    _audit("service_closed" if closed else "service_reopened", f"service:{code}", {"day": day})
    c.realtime.queue_changed(code)
    with c.db.read() as conn:
        svc = catalog.service(conn, code)
    return jsonify({"service": {"code": code, "closed_on": svc["closed_on"] if svc else None}})


@api.post("/services/<code>/close")
@requires(roles=SUPERVISOR_ROLES)
def close_service(code: str):
    return _service_closed(code, True)


@api.post("/services/<code>/open")
@requires(roles=SUPERVISOR_ROLES)
def open_service(code: str):
    return _service_closed(code, False)


# --- OpenAPI ------------------------------------------------------------------------------------
_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_NAMES = {
    400: "Bad input",
    401: "Not authenticated",
    403: "Supervisors only",
    404: "Not found",
}


def _op(summary: str, ok: str, params: list[dict], errors: tuple[int, ...], body=None) -> dict:
    op = {
        "summary": summary,
        "tags": ["supervisor"],
        "security": [{"bearer": []}],
        "parameters": params,
        "responses": {
            "200": {
                "description": ok,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **{str(e): {"description": _NAMES[e], **_ERR} for e in errors},
        },
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


_CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]
_NUMBER = [{"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}]

EXTRA_PATHS["/hall"] = {
    "get": _op(
        "The whole hall: counters (who, state, since), queues (longest wait), devices (online)",
        "counters, services, devices, now",
        [],
        (401, 403),
    )
}
EXTRA_PATHS["/counters/{number}/services"] = {
    "post": _op(
        "Reassign the services a counter calls, in order of preference (audited)",
        "The counter",
        _NUMBER,
        (400, 401, 403, 404),
        body={
            "type": "object",
            "properties": {"services": {"type": "array", "items": {"type": "string"}}},
            "required": ["services"],
        },
    )
}
EXTRA_PATHS["/services/{code}/close"] = {
    "post": _op(
        "Stop issuing tickets for a service today (audited)", "The service", _CODE, (401, 403, 404)
    )
}
EXTRA_PATHS["/services/{code}/open"] = {
    "post": _op(
        "Issue tickets for a service again today (audited)", "The service", _CODE, (401, 403, 404)
    )
}
