"""OpenAPI description of the dossier routes (added to the shared document at import)."""

from __future__ import annotations

from typing import Any

from .openapi import EXTRA_PATHS, EXTRA_SCHEMAS, _obj, _op, _path_str, _resp

STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NSTR = {"type": ["string", "null"]}
TIME = {"type": ["string", "null"], "description": "ISO 8601, or dd/mm/yyyy hh:mm (center time)"}
STATUS = {
    "type": "string",
    "description": "a status code (registered, received, in_progress, supplement_requested, "
    "fees_due, not_accepted, withdrawn, stopped, resolved, returned) or its Vietnamese label",
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "PublicDossier": _obj(
        {
            "code": STR,
            "status": STR,
            "status_label": STR,
            "summary": STR,
            "procedure": STR,
            "department": STR,
            "applicant": {"type": "string", "description": "masked: Nguyễn V** A*"},
            "channel": STR,
            "received_text": NSTR,
            "due_text": NSTR,
            "delayed": BOOL,
            "clock_paused": BOOL,
            "overdue": BOOL,
            "ready": BOOL,
            "collect_place": NSTR,
            "missing": NSTR,
            "timeline": {"type": "array", "items": {"type": "object"}},
        },
        ["code", "status", "status_label", "timeline"],
    ),
    "DossierWrite": _obj(
        {
            "procedure": STR,
            "procedure_name": {"type": "string", "description": "creates an unknown procedure"},
            "department": STR,
            "applicant": STR,
            "phone": STR,
            "channel": {"enum": ["direct", "online", "postal"]},
            "received_at": TIME,
            "due_at": TIME,
            "limit_days": {"type": "number"},
            "limit_hours": {"type": "number"},
            "status": STATUS,
            "at": TIME,
            "note": STR,
            "missing": STR,
            "reason": STR,
            "event_id": {"type": "string", "description": "idempotency key"},
        }
    ),
    "DossierEvent": _obj(
        {
            "type": {"enum": ["status", "delay"]},
            "status": STATUS,
            "at": TIME,
            "note": STR,
            "missing": {"type": "string", "description": "required for supplement_requested"},
            "reason": {"type": "string", "description": "required for refusals and delays"},
            "new_due_at": {"type": "string", "description": "required for a delay"},
            "event_id": {
                "type": "string",
                "description": "idempotency key (default: hash of status, at, note)",
            },
        }
    ),
    "DossierWritten": _obj(
        {
            "dossier": {"type": "object"},
            "created": BOOL,
            "duplicate": BOOL,
            "events": {"type": "array", "items": {"type": "object"}},
            "notifications": INT,
        },
        ["dossier", "created", "duplicate", "events"],
    ),
    "ImportJob": _obj(
        {
            "id": STR,
            "status": {"enum": ["running", "done", "failed"]},
            "processed": INT,
            "total": INT,
            "report": {"type": ["object", "null"]},
            "error": {"type": ["object", "null"]},
        },
        ["id", "status"],
    ),
}

_CODE = [_path_str("code")]
_WRITTEN = _ref("DossierWritten")


def _query(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": STR} for n in names]


PATHS: dict[str, Any] = {
    "/dossiers/{code}": {
        "get": _op(
            "Public lookup by code (personal data masked, rate limited)",
            {"200": _resp("The dossier", _obj({"dossier": _ref("PublicDossier")}))},
            params=_CODE + _query("lang", "phone"),
            errors=(400, 404, 429),
            tag="dossiers",
        ),
        "put": _op(
            "Create or update a dossier (staff, or a department's API key with dossiers:write)",
            {"200": _resp("Updated", _WRITTEN), "201": _resp("Created", _WRITTEN)},
            secured=True,
            body=_ref("DossierWrite"),
            params=_CODE,
            errors=(400, 401, 403, 409),
            tag="dossiers",
        ),
    },
    "/dossiers/{code}/events": {
        "post": _op(
            "Append a status change or a delay (idempotent by event_id)",
            {"201": _resp("Recorded", _WRITTEN), "200": _resp("Already recorded", _WRITTEN)},
            secured=True,
            body=_ref("DossierEvent"),
            params=_CODE,
            errors=(400, 401, 403, 404, 409),
            tag="dossiers",
        )
    },
    "/dossiers/{code}/detail": {
        "get": _op(
            "Full dossier with timeline and SMS delivery status (staff, dossiers:read)",
            {"200": _resp("The dossier", _obj({"dossier": {"type": "object"}}))},
            secured=True,
            params=_CODE,
            errors=(400, 401, 403, 404),
            tag="dossiers",
        )
    },
    "/dossiers/{code}/correction": {
        "post": _op(
            "Supervisor's correction of a status, with a reason (audited)",
            {"200": _resp("Corrected", _WRITTEN)},
            secured=True,
            body=_obj({"status": STATUS, "reason": STR, "at": TIME}, ["status", "reason"]),
            params=_CODE,
            errors=(400, 401, 403, 404, 409),
            tag="dossiers",
        )
    },
    "/dossiers/watch": {
        "get": _op(
            "Dossiers idle for N working days or due within N working days",
            {"200": _resp("Watch list", _obj({"items": {"type": "array"}}))},
            secured=True,
            params=_query("department", "stale_days", "due_days"),
            errors=(400, 401, 403),
            tag="dossiers",
        )
    },
    "/dossiers/export": {
        "get": {
            **_op(
                "Export dossiers in the import format (CSV or XLSX)",
                {"200": {"description": "CSV (UTF-8 with BOM) or XLSX"}},
                secured=True,
                params=_query("format", "from", "to", "department"),
                errors=(400, 401, 403),
                tag="dossiers",
            )
        }
    },
    "/dossiers/imports": {
        "post": {
            **_op(
                "Upload a CSV/XLSX file to import (runs in the background)",
                {"202": _resp("The started job", _obj({"job": _ref("ImportJob")}))},
                secured=True,
                errors=(400, 401, 403),
                tag="dossiers",
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": _obj(
                            {
                                "file": {"type": "string", "format": "binary"},
                                "policy": {"enum": ["all-or-nothing", "skip-bad"]},
                                "dry_run": BOOL,
                                "notify": BOOL,
                            },
                            ["file"],
                        )
                    }
                },
            },
        }
    },
    "/dossiers/imports/{job_id}": {
        "get": _op(
            "Progress and report of an import",
            {"200": _resp("The job", _obj({"job": _ref("ImportJob")}))},
            secured=True,
            params=[_path_str("job_id")],
            errors=(401, 403, 404),
            tag="dossiers",
        )
    },
    "/notifications/{notification_id}/retry": {
        "post": _op(
            "Send a failed SMS again (supervisor)",
            {"200": _resp("Queued again", {"type": "object"})},
            secured=True,
            params=[
                {
                    "name": "notification_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                }
            ],
            errors=(401, 403, 404, 409),
            tag="dossiers",
        )
    },
}


def document_routes() -> None:
    EXTRA_PATHS.update(PATHS)
    EXTRA_SCHEMAS.update(SCHEMAS)
