"""Numbers taken from home: the phone page's steps (send a code, confirm it, take a
number, cancel), a portal's API key (scope `remote`), and check-in at the counter and
at the kiosk (the ticket's QR, or the QR on the back of a CCCD chip card)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from .. import estimates, hall
from .. import remote as domain
from ..context import ctx
from ..dossiers.apikeys import REMOTE
from ..errors import BadRequest, NotFound, RateLimited
from ..i18n import t as tr
from ..public_url import public_base
from ..realtime.kiosk import hub as kiosk_hub
from ..remote_config import cccd_hash
from ..reports.period import parse_period
from ..store import catalog
from ..store import tickets as store
from ..tickets import Issued
from . import api
from .common import (
    STAFF_ROLES,
    SUPERVISOR_ROLES,
    client_ip,
    current_identity,
    field,
    json_body,
    rate_limit,
    requires,
)
from .openapi import (
    BOOL,
    EXTRA_PATHS,
    EXTRA_SCHEMAS,
    INT,
    SCHEMAS,
    STR,
    _obj,
    _op,
    _path_int,
    _path_str,
    _ref,
    _resp,
)


def _limit(bucket: str, key: str) -> None:
    wait = ctx().limits[bucket].hit(f"{bucket}:{key}")
    if wait:
        raise RateLimited(
            tr("remote.error.too_many_codes", "vi"), code="rate_limited", retry_after=round(wait, 1)
        )


def _hash_cccd(raw: Any) -> str | None:
    number = domain.cccd_number(raw)
    if number is None:
        return None
    return cccd_hash(ctx().cfg, current_app.secret_key or "", number)


def _taken_body(issued: Issued) -> dict[str, Any]:
    c = ctx()
    t = issued.ticket
    c.realtime.queue_changed(t["queue_service"])
    body = hall.issued_view(t, issued.service, public_base(c.cfg.public_url, request.host_url))
    body["channel"] = t["channel"]
    body["checked_in"] = False
    return body


# --- the phone page -----------------------------------------------------------------------
@api.post("/remote/code")
def remote_send_code():
    data = json_body()
    phone = domain.phone_number(data.get("phone"))
    _limit("remote_address", client_ip())
    _limit("remote_phone", phone)
    c = ctx()
    return jsonify(domain.send_code(c.db, c.cfg, phone, c.now())), 202


@api.post("/remote/verify")
def remote_verify_code():
    data = json_body()
    phone = domain.phone_number(data.get("phone"))
    rate_limit("remote_verify")
    c = ctx()
    return jsonify({"proof": domain.verify_code(c.db, c.cfg, phone, data.get("code"), c.now())})


@api.post("/remote/tickets")
def remote_take():
    data = json_body()
    rate_limit("public")
    c = ctx()
    phone = domain.proven_phone(c.db, data.get("proof"), c.now())
    issued = domain.take(
        c.db,
        c.cfg,
        service=data.get("service"),
        phone=phone,
        cccd_hash=_hash_cccd(data.get("cccd")),
        source="page",
        now=c.now(),
    )
    return jsonify(_taken_body(issued)), 201


def _cancelled(token: str):
    c = ctx()
    t = domain.cancel(c.db, c.cfg, token, "citizen", c.now())
    c.realtime.queue_changed(t["queue_service"])
    c.realtime.publish_ticket(t)
    with c.db.read() as conn:
        return jsonify({"ticket": hall.public_ticket(conn, c.cfg, t, c.now())})


@api.post("/remote/tickets/<token>/cancel")
def remote_cancel(token: str):
    rate_limit("public")
    return _cancelled(token)


# --- a portal's API key -------------------------------------------------------------------
@api.post("/portal/tickets")
@requires(scopes=(REMOTE,))
def portal_take():
    data = json_body()
    c = ctx()
    who = current_identity()
    assert who is not None
    issued = domain.take(
        c.db,
        c.cfg,
        service=data.get("service"),
        phone=domain.phone_number(data.get("phone")),
        cccd_hash=_hash_cccd(data.get("cccd")),
        source=f"apikey:{who.name}",
        now=c.now(),
    )
    return jsonify(_taken_body(issued)), 201


@api.get("/portal/tickets/<token>")
@requires(scopes=(REMOTE,))
def portal_status(token: str):
    c = ctx()
    with c.db.read() as conn:
        t = store.ticket_by_token(conn, token) if token.isprintable() else None
        if t is None or t["channel"] != "remote":
            raise NotFound(tr("remote.error.unknown_ticket", "vi"), code="unknown_ticket")
        return jsonify({"ticket": hall.public_ticket(conn, c.cfg, t, c.now())})


@api.post("/portal/tickets/<token>/cancel")
@requires(scopes=(REMOTE,))
def portal_cancel(token: str):
    return _cancelled(token)


# --- check-in -----------------------------------------------------------------------------
def _checked_in(t: dict[str, Any]) -> None:
    rt = ctx().realtime
    rt.queue_changed(t["queue_service"])
    rt.publish_ticket(t)


@api.post("/tickets/<int:ticket_id>/check-in")
@requires(roles=STAFF_ROLES)
def staff_check_in(ticket_id: int):
    c = ctx()
    who = current_identity()
    assert who is not None
    t = domain.check_in_ticket(c.db, c.cfg, ticket_id=ticket_id, actor=who.name, now=c.now())
    _checked_in(t)
    with c.db.read() as conn:
        return jsonify({"ticket": hall.public_ticket(conn, c.cfg, t, c.now())})


@api.post("/kiosk/check-in")
@requires(devices=("kiosk",))
def kiosk_check_in():
    """What the kiosk's scanner read: the ticket's QR (its tracking URL or token) or a
    CCCD chip card's QR.  Each ticket checked in is printed as a kiosk ticket."""
    data = json_body()
    scan = field(data, "scan", str, required=True)
    if len(scan) > 1000:
        raise BadRequest(tr("remote.error.bad_scan", "vi"), code="bad_scan")
    rate_limit("public")
    c = ctx()
    who = current_identity()
    assert who is not None
    actor = who.name
    number = domain.cccd_from_qr(scan)
    if number is not None:
        key = cccd_hash(c.cfg, current_app.secret_key or "", number)
        done = domain.check_in_cccd(c.db, c.cfg, key, actor, c.now())
    else:
        token = domain.token_from_scan(scan)
        if token is None:
            raise BadRequest(tr("remote.error.bad_scan", "vi"), code="bad_scan")
        done = [domain.check_in_ticket(c.db, c.cfg, token=token, actor=actor, now=c.now())]
    base = public_base(c.cfg.public_url, request.host_url)
    out = []
    for t in done:
        _checked_in(t)
        with c.db.read() as conn:
            svc = catalog.service(conn, t["service"]) or {}
            t = {**t, **estimates.for_ticket(conn, c.cfg, t, c.now(), svc or None)}
        body = hall.issued_view(t, svc, base)
        body["print"] = kiosk_hub().ticket_issued(who, t, body, data)
        out.append(body)
    return jsonify({"tickets": out})


# --- the supervisor -----------------------------------------------------------------------
@api.get("/remote/summary")
@requires(roles=SUPERVISOR_ROLES)
def remote_summary():
    c = ctx()
    return jsonify(domain.summary(c.db, c.cfg, c.now()))


def _set_closed(code: str, closed: bool):
    c = ctx()
    who = current_identity()
    assert who is not None
    domain.set_closed(c.db, c.cfg, code, closed, who.name, c.now())
    return jsonify(domain.summary(c.db, c.cfg, c.now()))


@api.post("/remote/services/<code>/close")
@requires(roles=SUPERVISOR_ROLES)
def remote_close(code: str):
    return _set_closed(code, True)


@api.post("/remote/services/<code>/open")
@requires(roles=SUPERVISOR_ROLES)
def remote_open(code: str):
    return _set_closed(code, False)


@api.get("/reports/channels")
@requires(roles=SUPERVISOR_ROLES)
def channels_report():
    c = ctx()
    period = parse_period(request.args.get("from"), request.args.get("to"), c.cfg.tz, c.now())
    return jsonify(
        {
            "period": {"from": period.day_from, "to": period.day_to},
            "channels": domain.channel_report(c.db, period.day_from, period.day_to),
        }
    )


# --- the OpenAPI document -----------------------------------------------------------------
_PHONE = {"type": "string", "description": "Vietnamese mobile number, 10 digits (0xxxxxxxxx)"}
_CCCD = {"type": "string", "description": "CCCD number, 12 digits; stored only as a keyed hash"}
EXTRA_SCHEMAS["RemoteTicket"] = {
    "allOf": [
        _ref("IssuedTicket"),
        _obj({"channel": {"enum": ["remote"]}, "checked_in": {"type": "boolean"}}),
    ]
}
_TAKEN = {
    "201": _resp(
        "The number taken (waits in the queue; called after check-in)", _ref("RemoteTicket")
    )
}
_STATUS = {"200": _resp("The ticket now", _obj({"ticket": _ref("PublicTicket")}))}
EXTRA_PATHS["/remote/code"] = {
    "post": _op(
        "Text a one-time code to a phone (rate-limited per phone and per address)",
        {"202": _resp("Sent", _obj({"sent": {"type": "boolean"}, "expires_in_s": INT}))},
        body=_obj({"phone": _PHONE}, ["phone"]),
        errors=(400, 409, 429),
        tag="remote",
    )
}
EXTRA_PATHS["/remote/verify"] = {
    "post": _op(
        "Confirm the code: a proof of the phone to take numbers with (limited tries)",
        {"200": _resp("Confirmed", _obj({"proof": STR}, ["proof"]))},
        body=_obj({"phone": _PHONE, "code": STR}, ["phone", "code"]),
        errors=(400, 409, 429),
        tag="remote",
    )
}
EXTRA_PATHS["/remote/tickets"] = {
    "post": _op(
        "Take today's number of a service with a confirmed phone (limits per person, per service)",
        _TAKEN,
        body=_obj({"service": STR, "proof": STR, "cccd": _CCCD}, ["service", "proof"]),
        errors=(400, 404, 409, 429),
        tag="remote",
    )
}
EXTRA_PATHS["/remote/tickets/{token}/cancel"] = {
    "post": _op(
        "Cancel a number taken from home (its holder, by its token)",
        _STATUS,
        params=[_path_str("token")],
        errors=(404, 409, 429),
        tag="remote",
    )
}
EXTRA_PATHS["/portal/tickets"] = {
    "post": _op(
        "A portal takes a number for a citizen it has identified (API key, scope remote)",
        _TAKEN,
        secured=True,
        body=_obj({"service": STR, "phone": _PHONE, "cccd": _CCCD}, ["service", "phone"]),
        errors=(400, 401, 403, 404, 409, 429),
        tag="remote",
    )
}
EXTRA_PATHS["/portal/tickets/{token}"] = {
    "get": _op(
        "Status of a number taken through the portal",
        _STATUS,
        secured=True,
        params=[_path_str("token")],
        errors=(401, 403, 404, 429),
        tag="remote",
    )
}
EXTRA_PATHS["/portal/tickets/{token}/cancel"] = {
    "post": _op(
        "Cancel a number taken through the portal",
        _STATUS,
        secured=True,
        params=[_path_str("token")],
        errors=(401, 403, 404, 409, 429),
        tag="remote",
    )
}
EXTRA_PATHS["/tickets/{ticket_id}/check-in"] = {
    "post": _op(
        "Staff confirm that a remote ticket's holder is here (it may be called from now on)",
        _STATUS,
        secured=True,
        params=[_path_int("ticket_id")],
        errors=(401, 403, 404, 409),
        tag="remote",
    )
}
EXTRA_PATHS["/kiosk/check-in"] = {
    "post": _op(
        "A kiosk's scan (the ticket's QR, or a CCCD chip card's QR `id|old id|name|birth|sex|"
        "address|issued`): check in today's remote tickets and print them",
        {
            "200": _resp(
                "The tickets checked in",
                _obj({"tickets": {"type": "array", "items": _ref("IssuedTicket")}}),
            )
        },
        secured=True,
        body=_obj({"scan": STR, "lang": {"enum": ["vi", "en"]}}, ["scan"]),
        errors=(400, 401, 403, 404, 409, 429),
        tag="remote",
    )
}
_COUNTS = {
    k: INT for k in ("taken", "not_checked_in", "checked_in", "lapsed", "cancelled", "called")
}
_SUMMARY = _obj(
    {
        "day": STR,
        "near_sms": INT,
        "services": {
            "type": "array",
            "items": _obj(
                {
                    "code": STR,
                    "name_vi": STR,
                    **_COUNTS,
                    "lapse_rate": {"type": ["number", "null"]},
                    "remote_open": BOOL,
                }
            ),
        },
    }
)
EXTRA_PATHS["/remote/summary"] = {
    "get": _op(
        "Today's remote tickets per service, lapse rate, SMS 'your turn is near' sent (supervisor)",
        {"200": _resp("Today", _SUMMARY)},
        secured=True,
        errors=(401, 403),
        tag="remote",
    )
}
for _verb, _what in (("close", "Close"), ("open", "Reopen")):
    EXTRA_PATHS[f"/remote/services/{{code}}/{_verb}"] = {
        "post": _op(
            f"{_what} remote issuing of a service for today (supervisor; kiosks go on)",
            {"200": _resp("Today, after the change", _SUMMARY)},
            secured=True,
            params=[_path_str("code")],
            errors=(401, 403, 404),
            tag="remote",
        )
    }
EXTRA_PATHS["/reports/channels"] = {
    "get": _op(
        "Tickets and waits by channel (kiosk, staff, remote) and the remote lapse rate",
        {
            "200": _resp(
                "Per channel",
                _obj(
                    {
                        "period": _obj({"from": STR, "to": STR}),
                        "channels": {
                            "type": "array",
                            "items": _obj(
                                {
                                    "channel": STR,
                                    "tickets": INT,
                                    "served": INT,
                                    "no_show": INT,
                                    "cancelled": INT,
                                    "lapsed": INT,
                                    "wait_mean_min": {"type": ["number", "null"]},
                                    "lapse_rate": {"type": ["number", "null"]},
                                }
                            ),
                        },
                    }
                ),
            )
        },
        secured=True,
        params=[
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
        ],
        errors=(400, 401, 403),
        tag="reports",
    )
}
# a public ticket says whether it was taken from home and whether its holder checked in
SCHEMAS["PublicTicket"]["properties"].update(remote=BOOL, checked_in=BOOL)
