"""The counter console: pick a counter, then one screen to call and serve citizens.

The page is a shell; its script acts through the JSON API (with the session cookie and
the CSRF token) and follows the counter and its queues over Socket.IO, so two tabs or
two staff at one counter always show the same thing without reloading."""

from __future__ import annotations

from flask import redirect

from ..accounts import Identity
from ..clock import iso
from ..context import ctx
from ..i18n import bundle
from ..protocol import PauseReason
from ..store import catalog
from .staffkit import STAFF_PAGE_ROLES, blueprint, error_page, page, render

bp = blueprint("staff")


def _allowed_counters(who: Identity) -> list[dict]:
    with ctx().db.read() as conn:
        counters = catalog.counters(conn)
    return [c for c in counters if who.may_use_counter(c["number"])]


@bp.get("/staff")
@page(*STAFF_PAGE_ROLES)
def pick(who: Identity):
    counters = _allowed_counters(who)
    if len(counters) == 1 and who.role == "staff":
        return redirect(f"/staff/{counters[0]['number']}")
    with ctx().db.read() as conn:
        names = {s["code"]: s["name_vi"] for s in catalog.services(conn)}
    return render("staff_pick.html", counters=counters, service_names=names)


@bp.get("/staff/<int:number>")
@page(*STAFF_PAGE_ROLES)
def console_page(who: Identity, number: int):
    c = ctx()
    with c.db.read() as conn:
        counter = catalog.counter(conn, number)
        services = catalog.services(conn, active_only=True)
        counters = catalog.counters(conn)
    if counter is None:
        return error_page(404, f"Không có quầy số {number}.")
    if not who.may_use_counter(number):
        return error_page(403, f"Bạn không được phân công ở quầy số {number}.")
    boot = {
        "counter": number,
        "name": counter["name"],
        "recall_limit": c.cfg.recall_limit,
        "now": iso(c.now()),
        "services": [{"code": s["code"], "name": s["name_vi"]} for s in services],
        "counters": [
            {"number": x["number"], "name": x["name"]} for x in counters if x["number"] != number
        ],
        "reasons": [r.value for r in PauseReason],
        "text": bundle("staff.", "vi"),
        "priorities": {p.code: p.name_vi for p in c.cfg.priority_classes},
    }
    return render(
        "staff_console.html",
        counter=counter,
        boot=boot,
        reasons=[r.value for r in PauseReason],
        services=services,
        other_counters=boot["counters"],
        can_switch=len(_allowed_counters(who)) > 1,
    )
