"""Counter actions: call next, recall, call a number, pause, resume, close."""

from __future__ import annotations

from flask import Response, jsonify

from .. import counters as counter_state
from .. import hall
from .. import tickets as domain
from ..context import ctx
from ..errors import Forbidden
from ..tickets import CallResult
from . import api
from .common import STAFF_ROLES, current_identity, json_body, requires
from .tickets import _ticket_json


def _staff_at(number: int) -> str:
    who = current_identity()
    assert who is not None
    if not who.may_use_counter(number):
        raise Forbidden(f"Bạn không được phân công ở quầy số {number}.", code="not_your_counter")
    return who.name


def _called(result: CallResult):
    c = ctx()
    rt = c.realtime
    rt.publish_calls()
    rt.publish_counter(result.call["counter"])
    rt.queue_changed(result.ticket["queue_service"])
    rt.publish_ticket(result.ticket)
    if result.finished:
        rt.publish_ticket(result.finished)
        rt.ticket_finished(result.finished)
    for lapsed in result.lapsed:  # remote tickets passed over for good: their pages say so
        rt.publish_ticket(lapsed)
    with c.db.connection() as conn:
        names = hall.service_names(conn)
    return jsonify(
        {
            "ticket": _ticket_json(result.ticket),
            "call": hall.call_payload(result.call, names, c.announcer),
            "finished": _ticket_json(result.finished) if result.finished else None,
        }
    )


@api.post("/counters/<int:number>/next")
@requires(roles=STAFF_ROLES)
def call_next(number: int):
    name = _staff_at(number)
    c = ctx()
    result = domain.call_next(c.db, c.cfg, number, name, c.now())
    if result is None:
        c.realtime.publish_counter(number)
        return Response(status=204)
    return _called(result)


@api.post("/counters/<int:number>/recall")
@requires(roles=STAFF_ROLES)
def recall(number: int):
    name = _staff_at(number)
    c = ctx()
    return _called(domain.recall(c.db, c.cfg, number, name, c.now()))


@api.post("/counters/<int:number>/call")
@requires(roles=STAFF_ROLES)
def call_label(number: int):
    data = json_body()
    name = _staff_at(number)
    c = ctx()
    return _called(domain.call_label(c.db, c.cfg, number, data.get("label"), name, c.now()))


def _counter_changed(view):
    ctx().realtime.publish_counter(view["number"])
    with ctx().db.read() as conn:
        return jsonify({"counter": hall.one_counter(conn, view["number"])})


@api.post("/counters/<int:number>/pause")
@requires(roles=STAFF_ROLES)
def pause(number: int):
    data = json_body()
    name = _staff_at(number)
    c = ctx()
    return _counter_changed(
        counter_state.pause(c.db, c.cfg, number, data.get("reason"), name, c.now())
    )


@api.post("/counters/<int:number>/resume")
@requires(roles=STAFF_ROLES)
def resume(number: int):
    name = _staff_at(number)
    c = ctx()
    return _counter_changed(counter_state.resume(c.db, c.cfg, number, name, c.now()))


@api.post("/counters/<int:number>/close")
@requires(roles=STAFF_ROLES)
def close(number: int):
    name = _staff_at(number)
    c = ctx()
    return _counter_changed(counter_state.close_counter(c.db, c.cfg, number, name, c.now()))
