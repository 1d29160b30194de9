"""OpenAPI description of the dossier routes (added to the shared document at import)."""

from __future__ import annotations

from typing import Any

from .openapi import (
    BOOL,
    EXTRA_PATHS,
    EXTRA_SCHEMAS,
    INT,
    NSTR,
    STR,
    _obj,
    _op,
    _path_str,
    _ref,
    _resp,
)

TIME = {"type": ["string", "null"], "description": "ISO 8601, or dd/mm/yyyy hh:mm (center time)"}
STATUS = {
    "type": "string",
    "description": "a status code (registered, received, in_progress, supplement_requested, "
    "fees_due, transferred, not_accepted, withdrawn, stopped, resolved, returned) or its "
    "Vietnamese label",
}


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
            "result_at": {
                **TIME,
                "description": "when the result was ready (Ngày có kết quả): the resolved "
                "step's time, which decides early / on time / late",
            },
            "returned_at": {
                **TIME,
                "description": "when the result was handed back (Ngày trả kết quả): the "
                "returned step's time",
            },
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
            "sms_held": {
                "type": "array",
                "items": STR,
                "description": "why SMS of this write were not sent (a limit of sms.limits); "
                "the write itself is saved",
            },
        },
        ["dossier", "created", "duplicate", "events"],
    ),
    "ImportJob": _obj(
        {
            "id": STR,
            "file": STR,
            "stored_as": STR,
            "actor": STR,
            "policy": {"enum": ["all-or-nothing", "skip-bad"]},
            "dry_run": BOOL,
            "status": {
                "enum": ["running", "done", "failed"],
                "description": "poll until it is not 'running'",
            },
            "phase": {
                "enum": [
                    "queued",
                    "reading",
                    "validating",
                    "applying",
                    "undoing",
                    "done",
                    "failed",
                ],
                "description": "reading: the file is parsed (header first); validating: "
                "every row is tried aside, nothing saved; applying: rows are saved in short "
                "batches (a restart resumes after the last batch), shown to readers all at "
                "once when the job is done; undoing: a job that failed while applying has "
                "what it saved removed (never shown) before it ends 'failed'",
            },
            "processed": INT,
            "total": {"type": ["integer", "null"], "description": "rows, once read"},
            "report": {
                "oneOf": [{"type": "null"}, _ref("ImportReport")],
                "description": "while applying: the counts so far; at the end: the report",
            },
            "error": {
                "oneOf": [{"type": "null"}, _obj({"code": STR, "message": STR})],
                "description": "why the file was refused (status 'failed'): e.g. "
                "missing_columns, too_many_rows, xlsx_too_large, bad_xlsx, bad_csv",
            },
            "started_at": STR,
            "finished_at": NSTR,
        },
        ["id", "status", "phase"],
    ),
    "ImportReport": _obj(
        {
            "file": STR,
            "format": {"enum": ["csv", "xlsx"]},
            "encoding": NSTR,
            "policy": STR,
            "dry_run": BOOL,
            "rows": INT,
            "accepted": INT,
            "created": INT,
            "updated": INT,
            "unchanged": INT,
            "events": INT,
            "notifications": INT,
            "committed": {
                "type": "boolean",
                "description": "false: nothing was saved (dry run, or all-or-nothing with "
                "a bad row)",
            },
            "seconds": {"type": "number"},
            "ignored_columns": {"type": "array", "items": STR},
            "rejected": {
                "type": "array",
                "description": "the first 1,000 rejected rows",
                "items": _obj({"line": INT, "code": NSTR, "reason": STR, "error": STR}),
            },
            "rejected_total": INT,
        },
        ["rows", "accepted", "committed", "rejected", "rejected_total"],
    ),
}

_CODE = [_path_str("code")]
_WRITTEN = _ref("DossierWritten")


def _query(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "schema": STR} for n in names]


def _dossier_op(
    summary: str,
    ok: dict[str, Any],
    errors: tuple[int, ...],
    *,
    params: list[dict[str, Any]] | None = _CODE,
    secured: bool = True,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A route of the dossier area: by default staff or a key's, on one dossier's code."""
    return _op(
        summary, ok, secured=secured, body=body, params=params, errors=errors, tag="dossiers"
    )


PATHS: dict[str, Any] = {
    "/dossiers/{code}": {
        "get": _dossier_op(
            "Public lookup by code (personal data masked, rate limited)",
            {"200": _resp("The dossier", _obj({"dossier": _ref("PublicDossier")}))},
            (400, 404, 429),
            params=_CODE + _query("lang", "phone"),
            secured=False,
        ),
        "put": _dossier_op(
            "Create or update a dossier (staff, or a department's API key with dossiers:write)",
            {"200": _resp("Updated", _WRITTEN), "201": _resp("Created", _WRITTEN)},
            (400, 401, 403, 409, 429, 503),
            body=_ref("DossierWrite"),
        ),
    },
    "/dossiers/{code}/events": {
        "post": _dossier_op(
            "Append a status change or a delay (idempotent by event_id)",
            {"201": _resp("Recorded", _WRITTEN), "200": _resp("Already recorded", _WRITTEN)},
            (400, 401, 403, 404, 409, 429, 503),
            body=_ref("DossierEvent"),
        )
    },
    "/dossiers/{code}/detail": {
        "get": _dossier_op(
            "Full dossier with timeline and SMS delivery status (staff, dossiers:read)",
            {"200": _resp("The dossier", _obj({"dossier": {"type": "object"}}))},
            (400, 401, 403, 404),
        )
    },
    "/dossiers/{code}/correction": {
        "post": _dossier_op(
            "Supervisor's correction of a status, with a reason (audited)",
            {"200": _resp("Corrected", _WRITTEN)},
            (400, 401, 403, 404, 409),
            body=_obj({"status": STATUS, "reason": STR, "at": TIME}, ["status", "reason"]),
        )
    },
    "/dossiers/watch": {
        "get": _dossier_op(
            "Dossiers idle for N working days or due within N working days",
            {"200": _resp("Watch list", _obj({"items": {"type": "array"}}))},
            (400, 401, 403),
            params=_query("department", "stale_days", "due_days"),
        )
    },
    "/dossiers/export": {
        "get": _dossier_op(
            "Export dossiers in the import format (CSV or XLSX); one is built at a time "
            "(429 export_busy meanwhile)",
            {"200": {"description": "CSV (UTF-8 with BOM) or XLSX"}},
            (400, 401, 403, 429),
            params=_query("format", "from", "to", "department"),
        )
    },
    "/dossiers/imports": {
        "post": {
            **_dossier_op(
                "Upload a CSV/XLSX file to import (runs in the background)",
                {
                    "202": _resp(
                        "The job, queued; poll the URL in Location "
                        "(GET /dossiers/imports/{job_id}) until its status is not 'running'",
                        _obj({"job": _ref("ImportJob")}),
                    ),
                    "413": _resp(
                        "Over a limit checked before parsing (dossiers.imports in config): "
                        "file_too_large, xlsx_too_large (unzipped sheet or shared strings)",
                        _ref("Error"),
                    ),
                    "503": _resp(
                        "The database stayed busy (retry after Retry-After)", _ref("Error")
                    ),
                },
                (400, 401, 403, 429),
                params=None,
            ),
            "description": "The request only checks what the file may cost and stores it "
            "(0600 under DATA/imports); parsing, validation and saving run in a worker "
            "process (under gevent) in short transactions, so the server keeps answering. "
            "A file without the `code` and `status` columns, or with more rows than "
            "`dossiers.imports.max_rows` (default 100,000), ends as a failed job "
            "(missing_columns, too_many_rows). At most 4 jobs wait at once (429).",
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
        "get": _dossier_op(
            "Progress and report of an import",
            {"200": _resp("The job", _obj({"job": _ref("ImportJob")}))},
            (401, 403, 404),
            params=[_path_str("job_id")],
        )
    },
    "/notifications/{notification_id}/retry": {
        "post": _dossier_op(
            "Send a failed SMS again (supervisor)",
            {"200": _resp("Queued again", {"type": "object"})},
            (401, 403, 404, 409),
            params=[{"name": "notification_id", "in": "path", "required": True, "schema": INT}],
        )
    },
}


def document_routes() -> None:
    EXTRA_PATHS.update(PATHS)
    EXTRA_SCHEMAS.update(SCHEMAS)
