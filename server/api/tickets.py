"""Issuing tickets and moving them through their states."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from .. import accounts, hall
from .. import tickets as domain
from ..console import dossier_codes
from ..context import ctx
from ..dossiers.service import link_codes
from ..errors import BadRequest, Forbidden, NotFound
from ..kiosk_limit import KioskLimited
from ..protocol import AT_COUNTER, Channel
from ..public_url import public_base
from ..realtime.kiosk import hub as kiosk_hub
from ..store import tickets as store
from . import api
from .common import (
    STAFF_ROLES,
    SUPERVISOR_ROLES,
    client_ip,
    current_identity,
    field,
    json_body,
    requires,
)

_PHONE_DIGITS = range(9, 12)


def _phone(data: dict[str, Any]) -> str | None:
    phone = field(data, "phone", str)
    if phone is None or phone == "":
        return None
    digits = phone.replace(" ", "").replace(".", "")
    if not digits.isdigit() or len(digits) not in _PHONE_DIGITS:
        raise BadRequest("Số điện thoại không hợp lệ.", code="bad_phone")
    return digits


@api.post("/tickets")
@requires(roles=STAFF_ROLES, devices=("kiosk",))
def issue_ticket():
    data = json_body()
    who = current_identity()
    assert who is not None
    c = ctx()
    device = who.kind == "device"
    try:
        issued = domain.issue_with_service(
            c.db,
            c.cfg,
            service=data.get("service"),
            priority=data.get("priority", "normal"),
            channel=str(Channel.KIOSK if device else Channel.STAFF),
            device_id=who.id if device else None,
            staff=None if device else (who.id, who.name),
            phone=_phone(data),
            now=c.now(),
        )
    except KioskLimited as refused:
        if refused.alert is not None:
            c.realtime.alert_supervisors(refused.alert)
        raise
    t = issued.ticket
    body = hall.issued_view(t, issued.service, public_base(c.cfg.public_url, request.host_url))
    c.realtime.queue_changed(t["queue_service"])
    if device:
        # the kiosk's print job (sent to its agent after the commit above)
        body["print"] = kiosk_hub().ticket_issued(who, t, body, data)
    return jsonify(body), 201


def _ticket_for_staff(ticket_id: int) -> dict[str, Any]:
    """The ticket, if the caller may act on it (it is at one of their counters)."""
    who = current_identity()
    assert who is not None
    with ctx().db.connection() as conn:
        t = store.ticket(conn, ticket_id)
    if t is None:
        raise NotFound(f"Không có phiếu #{ticket_id}.", code="unknown_ticket")
    if who.role in SUPERVISOR_ROLES:
        return t
    if t["counter"] is None or not who.may_use_counter(t["counter"]):
        raise Forbidden("Phiếu này không ở quầy của bạn.", code="not_your_counter")
    return t


def _after(t: dict[str, Any], old: dict[str, Any]) -> None:
    rt = ctx().realtime
    if old["status"] in AT_COUNTER:
        rt.publish_call_state(t)  # the boards' call of it ends (or the citizen came)
    for number in {old.get("counter"), t.get("counter")} - {None}:
        rt.publish_counter(number)
    rt.queue_changed(*{old["queue_service"], t["queue_service"]})
    rt.publish_ticket(t)


def _ticket_json(t: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "label",
        "service",
        "queue_service",
        "priority",
        "status",
        "counter",
        "issued_at",
        "called_at",
        "started_at",
        "finished_at",
        "recall_count",
        "transferred_from",
        "target_counter",
    )
    return {k: t.get(k) for k in keys}


@api.post("/tickets/<int:ticket_id>/start")
@requires(roles=STAFF_ROLES)
def start(ticket_id: int):
    old = _ticket_for_staff(ticket_id)
    c = ctx()
    t = domain.start(c.db, c.cfg, ticket_id, current_identity().name, c.now())  # type: ignore[union-attr]
    _after(t, old)
    return jsonify({"ticket": _ticket_json(t)})


@api.post("/tickets/<int:ticket_id>/finish")
@requires(roles=STAFF_ROLES)
def finish(ticket_id: int):
    old = _ticket_for_staff(ticket_id)
    dossiers = dossier_codes(json_body().get("dossiers"))
    c = ctx()
    who = current_identity()
    assert who is not None
    t = domain.finish(c.db, c.cfg, ticket_id, who.name, c.now(), dossiers=dossiers)
    if dossiers:  # the dossiers received at this visit point back to its ticket
        link_codes(c.db, ticket_id, dossiers, actor=who.actor, now=c.now())
    _after(t, old)
    c.realtime.ticket_finished(t)
    return jsonify({"ticket": _ticket_json(t)})


@api.post("/tickets/<int:ticket_id>/no-show")
@requires(roles=STAFF_ROLES)
def no_show(ticket_id: int):
    old = _ticket_for_staff(ticket_id)
    c = ctx()
    t = domain.no_show(c.db, c.cfg, ticket_id, current_identity().name, c.now())  # type: ignore[union-attr]
    _after(t, old)
    return jsonify({"ticket": _ticket_json(t)})


@api.post("/tickets/<int:ticket_id>/transfer")
@requires(roles=STAFF_ROLES)
def transfer(ticket_id: int):
    data = json_body()
    old = _ticket_for_staff(ticket_id)
    c = ctx()
    t = domain.transfer(
        c.db,
        c.cfg,
        ticket_id,
        to_service=data.get("service"),
        to_counter=data.get("counter"),
        actor=current_identity().name,  # type: ignore[union-attr]
        now=c.now(),
    )
    _after(t, old)
    return jsonify({"ticket": _ticket_json(t)})


@api.post("/tickets/<int:ticket_id>/cancel")
@requires(roles=SUPERVISOR_ROLES)
def cancel(ticket_id: int):
    c = ctx()
    with c.db.connection() as conn:
        old = store.ticket(conn, ticket_id)
    if old is None:
        raise NotFound(f"Không có phiếu #{ticket_id}.", code="unknown_ticket")
    who = current_identity()
    assert who is not None
    t = domain.cancel(c.db, c.cfg, ticket_id, who.name, c.now())
    # a cancel happens away from any counter: the audit log keeps it (server.audit_view)
    accounts.audit(
        c.db, c.now(), who.actor, "ticket_cancelled", f"ticket:{t['label']}", None, client_ip()
    )
    _after(t, old)
    return jsonify({"ticket": _ticket_json(t)})
