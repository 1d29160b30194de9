"""Kiosk endpoints: the health of every device for supervisors, and the OpenAPI notes of
what kiosks add to ticket issue (the ``lang`` of the printed ticket, the ``print`` part
of the answer)."""

from __future__ import annotations

from flask import jsonify, request

from ..i18n import LANGS
from ..realtime.kiosk import hub
from . import api
from .common import SUPERVISOR_ROLES, requires
from .openapi import EXTRA_PATHS, EXTRA_SCHEMAS, NINT, NSTR, PATHS, SCHEMAS, STR, _obj, _op, _resp


@api.get("/devices/status")
@requires(roles=SUPERVISOR_ROLES)
def devices_status():
    lang = request.args.get("lang", "vi")
    return jsonify({"devices": hub().device_status(lang if lang in LANGS else "vi")})


_PRINTER = {"enum": ["online", "paper_low", "paper_out", "offline", None]}

EXTRA_SCHEMAS["KioskPrint"] = _obj(
    {
        "job_id": STR,
        "status": {"enum": ["queued", "sent"]},
        "printer": _PRINTER,
        "agent": {"type": "boolean"},
    },
    ["job_id", "status", "agent"],
)
EXTRA_SCHEMAS["DeviceStatus"] = _obj(
    {
        "id": {"type": "integer"},
        "name": STR,
        "kind": {"enum": ["kiosk", "display", "lookup", "counter"]},
        "zone": NSTR,
        "counter": NINT,
        "last_seen": NSTR,
        "status": NSTR,
        "connected": {"type": "boolean"},
        "agent_connected": {"type": "boolean"},
        "pages_connected": {"type": "integer"},
        "printer": _PRINTER,
        "printer_detail": NSTR,
        "jobs_today": _obj(
            {k: {"type": "integer"} for k in ("queued", "sent", "printed", "failed")}
        ),
        "health": {"enum": ["ok", "warning", "fault"]},
        "problems": {
            "type": "array",
            "items": _obj({"code": STR, "message": STR}, ["code", "message"]),
        },
    },
    ["id", "name", "kind", "last_seen", "status", "connected"],
)
EXTRA_PATHS["/devices/status"] = {
    "get": _op(
        "Devices and their health: kiosks' agent, page, printer and print jobs (supervisor)",
        {
            "200": _resp(
                "Every active device",
                _obj(
                    {
                        "devices": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/DeviceStatus"},
                        }
                    }
                ),
            )
        },
        secured=True,
        params=[{"name": "lang", "in": "query", "schema": {"enum": ["vi", "en"]}}],
        errors=(401, 403),
        tag="kiosk",
    )
}
# Ticket issue by a kiosk: the page sends the citizen's language (the ticket prints in it)
# and learns from `print` whether an agent took the job.
SCHEMAS["IssuedTicket"]["properties"]["print"] = {"$ref": "#/components/schemas/KioskPrint"}
PATHS["/tickets"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"][
    "lang"
] = {"enum": ["vi", "en"]}
