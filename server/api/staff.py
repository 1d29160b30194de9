"""What a counter's console reads: the queue it may call and what it did today.

Staff only, and only for counters they work at (supervisors and admins: any).  The
waiting list carries labels, services and priority classes — no phone numbers or
tracking tokens, which staff never need to call a citizen."""

from __future__ import annotations

from flask import jsonify

from .. import console
from ..context import ctx
from ..errors import Forbidden, NotFound
from ..store import catalog
from . import api
from .common import STAFF_ROLES, current_identity, requires
from .openapi import EXTRA_PATHS, EXTRA_SCHEMAS


def _allowed(number: int) -> None:
    who = current_identity()
    assert who is not None
    if not who.may_use_counter(number):
        raise Forbidden(f"Bạn không được phân công ở quầy số {number}.", code="not_your_counter")


@api.get("/counters/<int:number>/queue")
@requires(roles=STAFF_ROLES)
def counter_queue(number: int):
    _allowed(number)
    c = ctx()
    c.realtime.queue_read()
    body = console.counter_queue(c.db, c.cfg, number, c.now())
    if body is None:
        raise NotFound(f"Không có quầy số {number}.", code="unknown_counter")
    return jsonify(body)


@api.get("/counters/<int:number>/history")
@requires(roles=STAFF_ROLES)
def counter_history(number: int):
    _allowed(number)
    c = ctx()
    with c.db.connection() as conn:
        if catalog.counter(conn, number) is None:
            raise NotFound(f"Không có quầy số {number}.", code="unknown_counter")
    return jsonify(console.counter_history(c.db, c.cfg, number, c.now()))


# --- OpenAPI ------------------------------------------------------------------------------------
_STR, _INT = {"type": "string"}, {"type": "integer"}
_NINT = {"type": ["integer", "null"]}
_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _errors(*codes: int) -> dict:
    names = {401: "Not authenticated", 403: "Not your counter", 404: "No such counter"}
    return {str(c): {"description": names[c], **_ERR} for c in codes}


def _number() -> list[dict]:
    return [{"name": "number", "in": "path", "required": True, "schema": _INT}]


EXTRA_SCHEMAS["CounterQueue"] = {
    "type": "object",
    "properties": {
        "counter": {"$ref": "#/components/schemas/Counter"},
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": _STR,
                    "name_vi": _STR,
                    "waiting": _INT,
                    "longest_wait_min": _NINT,
                },
            },
        },
        "waiting": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": _INT,
                    "label": _STR,
                    "service": _STR,
                    "service_name": _STR,
                    "priority": _STR,
                    "priority_name": {"type": ["string", "null"]},
                    "queued_at": _STR,
                    "waited_min": _INT,
                    "transferred_from": {"type": ["string", "null"]},
                    "for_this_counter": {"type": "boolean"},
                    "remote_pending": {"type": "boolean"},
                },
            },
        },
        "waiting_total": _INT,
        "more": {"type": "boolean"},
        "recall_limit": _INT,
        "recalls_left": _NINT,
        "now": _STR,
    },
    "required": ["counter", "services", "waiting", "recall_limit"],
}
EXTRA_PATHS["/counters/{number}/queue"] = {
    "get": {
        "summary": "The counter's waiting tickets in call order, and counts per service (staff)",
        "tags": ["staff"],
        "security": [{"bearer": []}],
        "parameters": _number(),
        "responses": {
            "200": {
                "description": "The queue",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/CounterQueue"}}
                },
            },
            **_errors(401, 403, 404),
        },
    }
}
EXTRA_PATHS["/counters/{number}/history"] = {
    "get": {
        "summary": "Today's finished, no-show and transferred tickets of the counter (staff)",
        "tags": ["staff"],
        "security": [{"bearer": []}],
        "parameters": _number(),
        "responses": {
            "200": {
                "description": "Newest first; `dossiers` are the codes received at finish",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "history": {"type": "array", "items": {"type": "object"}},
                                "today": {
                                    "type": "object",
                                    "properties": {
                                        "finish": _INT,
                                        "no_show": _INT,
                                        "transfer": _INT,
                                        "avg_min": {"type": ["number", "null"]},
                                    },
                                },
                            },
                        }
                    }
                },
            },
            **_errors(401, 403, 404),
        },
    }
}
