"""Supervisors' reports as JSON, CSV or XLSX (the same numbers in each), and today's
live figures for the dashboard."""

from __future__ import annotations

import json

from flask import Response, request

from .. import reports
from ..context import ctx
from ..errors import BadRequest, NotFound
from ..i18n import LANGS
from ..reports.tables import to_csv, to_xlsx, view
from . import api
from .common import SUPERVISOR_ROLES, requires
from .openapi import EXTRA_PATHS, _errors, _obj, _op, _query_enum, _resp

KINDS = {
    "queue": reports.queue_report,
    "dossiers": reports.dossier_report,
    "satisfaction": reports.satisfaction_report,
}
#: json: the report's figures and codes; csv/xlsx: the files a supervisor downloads;
#: view: what the report page shows (the figures, and each table as a person reads it).
FORMATS = ("json", "csv", "xlsx", "view")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _lang() -> str:
    lang = request.args.get("lang", "vi")
    if lang not in LANGS:
        raise BadRequest(f"Ngôn ngữ không hợp lệ: {lang!r} (vi hoặc en).", code="bad_lang")
    return lang


def _ordered_json(body: dict) -> Response:
    """JSON in the report's own order (columns as the supervisor reads them: issued,
    served … wait, service time), not alphabetical as Flask's default sorts keys."""
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )


@api.get("/reports/<kind>")
@requires(roles=SUPERVISOR_ROLES)
def report(kind: str):
    build = KINDS.get(kind)
    if build is None:
        raise NotFound(
            f"Không có báo cáo '{kind}' (chọn: {', '.join(KINDS)}).", code="unknown_report"
        )
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise BadRequest(
            f"Định dạng không hợp lệ: {fmt!r} (chọn: {', '.join(FORMATS)}).", code="bad_format"
        )
    lang = _lang()
    c = ctx()
    now = c.now()
    period = reports.parse_period(request.args.get("from"), request.args.get("to"), c.cfg.tz, now)
    body = build(c.db, c.cfg, period, now, lang)
    if fmt == "json":
        return _ordered_json(body)
    if fmt == "view":
        return _ordered_json({"report": body, **view(body, lang, c.cfg.tz)})
    name = f"bao-cao-{kind}-{period.day_from}_{period.day_to}.{fmt}"
    data, mime = (
        (to_csv(body, lang, c.cfg.tz), "text/csv; charset=utf-8")
        if fmt == "csv"
        else (to_xlsx(body, lang, c.cfg.tz), XLSX)
    )
    return Response(
        data,
        mimetype=mime,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@api.get("/reports/live")
@requires(roles=SUPERVISOR_ROLES)
def live():
    c = ctx()
    return _ordered_json(reports.live_report(c.db, c.cfg, c.now(), _lang()))


_RANGE = [
    {
        "name": "from",
        "in": "query",
        "description": "first business day, YYYY-MM-DD (default: today, or `to`)",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "to",
        "in": "query",
        "description": "last business day, inclusive (default: `from`); at most 366 days",
        "schema": {"type": "string", "format": "date"},
    },
    _query_enum("format", FORMATS),
    _query_enum("lang", LANGS),
]
EXTRA_PATHS["/reports/{kind}"] = {
    "get": {
        "summary": "A report over a range of business days (supervisor): queue (issued, served, "
        "no-show, cancelled, waiting and service times, by service, hour, counter, staff, "
        "pauses), dossiers (channels, early/on time/late) or satisfaction (levels, shares, "
        "reasons, per staff/counter/service, by day). CSV and XLSX hold the JSON's numbers "
        "as a person reads them (Vietnamese labels, local time, Vietnamese number format); "
        "`format=view` gives the JSON with those tables, for the report page.",
        "tags": ["reports"],
        "security": [{"bearer": []}],
        "parameters": [
            {
                "name": "kind",
                "in": "path",
                "required": True,
                "schema": {"enum": list(KINDS)},
            },
            *_RANGE,
        ],
        "responses": {
            "200": {
                "description": "The report",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/csv": {},
                    XLSX: {},
                },
            },
            **_errors(400, 401, 403, 404),
        },
    }
}
EXTRA_PATHS["/reports/live"] = {
    "get": _op(
        "Today so far, for the live dashboard (supervisor)",
        {
            "200": _resp(
                "Today's figures",
                _obj(
                    {
                        "day": {"type": "string"},
                        "totals": {"type": "object"},
                        "waiting": {"type": "array"},
                        "counters": {"type": "array"},
                        "satisfaction": {"type": "object"},
                    }
                ),
            )
        },
        secured=True,
        params=[_query_enum("lang", LANGS)],
        errors=(400, 401, 403),
        tag="reports",
    )
}
