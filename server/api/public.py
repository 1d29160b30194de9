"""Public read endpoints: health, services, counters, one ticket's status, call history."""

from __future__ import annotations

import re

from flask import jsonify, request

from .. import hall
from ..context import ctx
from ..errors import BadRequest, NotFound, is_whole
from ..store import tickets as store
from . import api
from .common import rate_limit

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@api.get("/health")
def health():
    c = ctx()
    with c.db.connection() as conn:
        conn.execute("SELECT 1").fetchone()
    return jsonify({"status": "ok", "center": c.cfg.center_name, "time": c.now().isoformat()})


@api.get("/services")
def services():
    c = ctx()
    with c.db.read() as conn:
        return jsonify({"services": hall.services_summary(conn, c.cfg, c.now())})


@api.get("/counters")
def counters():
    zone = request.args.get("zone")
    with ctx().db.read() as conn:
        return jsonify({"counters": hall.counters_view(conn, zone)})


@api.get("/tickets/<token>")
def ticket_status(token: str):
    rate_limit("public")
    if not _TOKEN.match(token):
        raise NotFound("Không tìm thấy phiếu.", code="unknown_ticket")
    c = ctx()
    with c.db.read() as conn:
        t = store.ticket_by_token(conn, token)
        if t is None:
            raise NotFound("Không tìm thấy phiếu.", code="unknown_ticket")
        return jsonify({"ticket": hall.public_ticket(conn, c.cfg, t, c.now())})


@api.get("/calls")
def calls():
    after = request.args.get("after", "0")
    limit = request.args.get("limit", "100")
    if not is_whole(after) or not is_whole(limit) or not 1 <= int(limit) <= 500:
        raise BadRequest("after phải là số nguyên ≥ 0, limit từ 1 đến 500.", code="bad_query")
    c = ctx()
    zone = request.args.get("zone") or None
    with c.db.read() as conn:
        names = hall.service_names(conn)
        rows = store.calls_after(conn, int(after), limit=int(limit), zone=zone)
        return jsonify(
            {
                "calls": [hall.call_payload(r, names, c.announcer) for r in rows],
                "last_seq": store.last_seq(conn),
            }
        )
