"""The OpenAPI 3.1 document of /api/v1 (kept beside the routes it describes; a test
checks that every route of the blueprint appears here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import jsonify

from . import api

_ERROR = {"$ref": "#/components/schemas/Error"}


def _resp(desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": desc}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def _errors(*codes: int) -> dict[str, Any]:
    names = {
        400: "Bad input",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found",
        409: "Invalid transition or state",
        429: "Rate limited (a department key: api_keys in config; Retry-After)",
        503: "Busy: the database, or the dossier held by a file import being applied "
        "(import_pending); retry after Retry-After",
    }
    return {str(c): _resp(names[c], _ERROR) for c in codes}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    secured: bool = False,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (),
    tag: str = "queue",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {**ok, **_errors(*errors)},
    }
    if secured:
        op["security"] = [{"bearer": []}]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


def _path_int(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }


def _path_str(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query_enum(name: str, values: Iterable[str]) -> dict[str, Any]:
    """A query parameter that takes one of `values` (a language, a file format …)."""
    return {"name": name, "in": "query", "schema": {"enum": list(values)}}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NSTR, NINT = {"type": ["string", "null"]}, {"type": ["integer", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        {
            "error": _obj(
                {"code": STR, "message": STR, "details": {"type": "object"}}, ["code", "message"]
            )
        },
        ["error"],
    ),
    "Service": _obj(
        {
            "code": STR,
            "name_vi": STR,
            "name_en": STR,
            "open": BOOL,
            "closed_reason": NSTR,
            "next_open": NSTR,
            "waiting": INT,
            "estimated_wait_min": INT,
            "hours": {"type": "object"},
        },
        ["code", "name_vi", "open", "waiting", "estimated_wait_min"],
    ),
    "Counter": _obj(
        {
            "number": INT,
            "name": STR,
            "zone": STR,
            "services": {"type": "array", "items": STR},
            "state": {"enum": ["open", "paused", "closed"]},
            "pause_reason": NSTR,
            "state_since": NSTR,
            "serving": {"type": ["object", "null"]},
        },
        ["number", "name", "zone", "services", "state"],
    ),
    "IssuedTicket": _obj(
        {
            "id": INT,
            "label": STR,
            "number": INT,
            "service": STR,
            "status": STR,
            "issued_at": STR,
            "people_ahead": INT,
            "estimated_wait_min": INT,
            "token": STR,
            "tracking_url": STR,
            "priority": STR,
            "service_name_vi": STR,
            "service_name_en": STR,
        },
        [
            "id",
            "label",
            "number",
            "service",
            "status",
            "issued_at",
            "people_ahead",
            "estimated_wait_min",
            "token",
            "tracking_url",
        ],
    ),
    "PublicTicket": _obj(
        {
            "label": STR,
            "status": STR,
            "service": STR,
            "people_ahead": NINT,
            "estimated_wait_min": NINT,
            "counter": NINT,
            "counter_name": NSTR,
        },
        ["label", "status", "service"],
    ),
    "Ticket": _obj(
        {
            "id": INT,
            "label": STR,
            "status": STR,
            "counter": NINT,
            "service": STR,
            "queue_service": STR,
            "recall_count": INT,
        },
        ["id", "label", "status"],
    ),
    "Call": _obj(
        {
            "seq": INT,
            "ticket_id": INT,
            "label": STR,
            "counter": INT,
            "counter_name": STR,
            "service": STR,
            "service_name": STR,
            "recall": BOOL,
            "at": STR,
            "text": STR,
            "audio_url": NSTR,
            "zone": STR,
            "state": {
                "enum": ["called", "serving", "done", "no_show", "transferred", "cancelled"],
                "description": "How the call stands now (see server/protocol.py, EV_CALL)",
            },
        },
        ["seq", "label", "counter", "counter_name", "recall", "at", "state"],
    ),
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ticket_action(summary: str) -> dict[str, Any]:
    return {
        "post": _op(
            summary,
            {"200": _resp("The ticket after the change", _obj({"ticket": _ref("Ticket")}))},
            secured=True,
            params=[_path_int("ticket_id")],
            errors=(401, 403, 404, 409),
        )
    }


def _counter_action(
    summary: str,
    body: dict[str, Any] | None = None,
    ok: dict[str, Any] | None = None,
    errors: tuple[int, ...] = (401, 403, 404, 409),
) -> dict[str, Any]:
    return {
        "post": _op(
            summary,
            ok or {"200": _resp("Done", {"type": "object"})},
            secured=True,
            body=body,
            params=[_path_int("number")],
            errors=errors,
        )
    }


CALLED = {
    "200": _resp(
        "The called ticket and the call", _obj({"ticket": _ref("Ticket"), "call": _ref("Call")})
    )
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": _op("Liveness", {"200": _resp("OK", _obj({"status": {"const": "ok"}}, ["status"]))})
    },
    "/services": {
        "get": _op(
            "Services with waiting counts and estimated waits",
            {
                "200": _resp(
                    "Services", _obj({"services": {"type": "array", "items": _ref("Service")}})
                )
            },
        )
    },
    "/counters": {
        "get": _op(
            "Counters and what they serve now",
            {
                "200": _resp(
                    "Counters", _obj({"counters": {"type": "array", "items": _ref("Counter")}})
                )
            },
            params=[{"name": "zone", "in": "query", "schema": STR}],
        )
    },
    "/tickets": {
        "post": _op(
            "Issue a ticket (kiosk device token or staff); a kiosk over its allowance "
            "(config queue.kiosk_limit) gets 429 kiosk_limited with Retry-After; a staff "
            "member issuing over the same allowance gets 429 staff_limited",
            {"201": _resp("The issued ticket", _ref("IssuedTicket"))},
            secured=True,
            body=_obj({"service": STR, "priority": STR, "phone": STR}, ["service"]),
            errors=(400, 401, 403, 404, 409, 429),
        )
    },
    "/tickets/{token}": {
        "get": _op(
            "Public live status of a ticket",
            {"200": _resp("Status", _obj({"ticket": _ref("PublicTicket")}))},
            params=[_path_str("token")],
            errors=(404, 429),
        )
    },
    "/tickets/{ticket_id}/start": _ticket_action("Start serving a called ticket"),
    "/tickets/{ticket_id}/finish": {
        "post": {
            **_ticket_action("Finish a ticket being served")["post"],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": _obj(
                            {
                                "dossiers": {
                                    "type": "array",
                                    "items": STR,
                                    "maxItems": 20,
                                    "description": "codes of the dossiers received (kept on "
                                    "the finish event)",
                                }
                            }
                        )
                    }
                },
            },
            "responses": {
                "200": _resp("The finished ticket", _obj({"ticket": _ref("Ticket")})),
                **_errors(400, 401, 403, 404, 409),
            },
        }
    },
    "/tickets/{ticket_id}/no-show": _ticket_action("Mark a called ticket as no-show"),
    "/tickets/{ticket_id}/cancel": _ticket_action("Cancel a waiting ticket (supervisor)"),
    "/tickets/{ticket_id}/transfer": {
        "post": {
            **_ticket_action("Transfer a ticket to another service or counter")["post"],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _obj({"service": STR, "counter": INT})}},
            },
            "responses": {
                "200": _resp("The ticket, waiting again", _obj({"ticket": _ref("Ticket")})),
                **_errors(400, 401, 403, 404, 409),
            },
        }
    },
    "/counters/{number}/next": _counter_action(
        "Call the next ticket", ok={**CALLED, "204": _resp("Nobody is waiting")}
    ),
    "/counters/{number}/recall": _counter_action("Recall the current ticket", ok=CALLED),
    "/counters/{number}/call": _counter_action(
        "Call a specific number",
        body=_obj({"label": STR}, ["label"]),
        ok=CALLED,
        errors=(400, 401, 403, 404, 409),
    ),
    "/counters/{number}/pause": _counter_action(
        "Pause the counter with a reason",
        body=_obj({"reason": {"enum": ["break", "meeting", "assisting", "technical"]}}, ["reason"]),
        ok={"200": _resp("The counter", _obj({"counter": _ref("Counter")}))},
        errors=(400, 401, 403, 404, 409),
    ),
    "/counters/{number}/resume": _counter_action(
        "Resume the counter", ok={"200": _resp("The counter", _obj({"counter": _ref("Counter")}))}
    ),
    "/counters/{number}/close": _counter_action(
        "Close the counter for the day",
        ok={"200": _resp("The counter", _obj({"counter": _ref("Counter")}))},
    ),
    "/calls": {
        "get": _op(
            "Call history after a seq (board catch-up)",
            {
                "200": _resp(
                    "Calls",
                    _obj({"calls": {"type": "array", "items": _ref("Call")}, "last_seq": INT}),
                )
            },
            params=[
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 2**53},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                },
                {"name": "zone", "in": "query", "schema": STR},
            ],
            errors=(400,),
        )
    },
    "/audio/chime.wav": {
        "get": {
            "summary": "The chime before every announcement",
            "tags": ["board"],
            "responses": {"200": {"description": "WAV", "content": {"audio/wav": {}}}},
        }
    },
    "/audio/{key}.wav": {
        "get": {
            "summary": "The voice of one announcement",
            "tags": ["board"],
            "parameters": [_path_str("key")],
            "responses": {
                "200": {"description": "WAV", "content": {"audio/wav": {}}},
                **_errors(404),
            },
        }
    },
}

#: Other blueprints (dossiers, ratings, reports …) add their paths here at import time.
EXTRA_PATHS: dict[str, Any] = {}
EXTRA_SCHEMAS: dict[str, Any] = {}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "motcua API",
            "version": "1",
            "description": "Queue tickets, hall boards and dossier status for one-stop centers.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {**PATHS, **EXTRA_PATHS},
        "components": {
            "schemas": {**SCHEMAS, **EXTRA_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@api.get("/openapi.json")
def openapi_json():
    return jsonify(document())
