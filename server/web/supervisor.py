"""The supervisor's pages: the whole hall live, and the audit log.

The hall page is a shell like the console: its script reads GET /api/v1/hall and
follows /display (counters, queue counts, calls) so a pause at any counter shows up at
once; its buttons call the audited supervisor endpoints in server/api/admin.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import request

from .. import audit_view
from ..accounts import Identity
from ..auth import SUPERVISOR_ROLES
from ..clock import iso
from ..context import ctx
from ..i18n import bundle
from ..reports.period import MAX_YEAR, MIN_YEAR
from ..store import audit_log as log_store
from ..store import catalog
from .staffkit import blueprint, page, render

bp = blueprint("supervisor")


@bp.get("/supervisor")
@page(*SUPERVISOR_ROLES)
def hall(who: Identity):
    c = ctx()
    with c.db.read() as conn:
        services = catalog.services(conn, active_only=True)
    local = c.now().astimezone(c.cfg.tz)
    offset = local.strftime("%z")
    boot = {
        "now": iso(c.now()),
        # the flood dialog's times are the center's: today's date and its UTC offset
        "tz": c.cfg.timezone,
        "today": local.date().isoformat(),
        "utc_offset": f"{offset[:3]}:{offset[3:]}",
        "text": bundle("staff.", "vi"),
        "sound": bundle("board.sound.", "vi"),  # boards' sound in the device list
        "services": [{"code": s["code"], "name": s["name_vi"]} for s in services],
    }
    return render("supervisor_hall.html", boot=boot, nav="supervisor")


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    # a day whose bounds overflow in UTC (year 1, year 9999) is no day a log holds
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


@bp.get("/supervisor/audit")
@page(*SUPERVISOR_ROLES)
def audit_log(who: Identity):
    """Logins and administration, and what staff did at counters (calls, no-shows,
    transfers, pauses): newest first, filtered, a bounded page at a time."""
    c = ctx()
    args = request.args
    actor = (args.get("actor") or "").removeprefix("user:") or None
    action = args.get("action") or None
    raw_day = args.get("date") or ""
    day = _day(raw_day)
    per = audit_view.page_size(args.get("per"))
    after = log_store.Cursor.parse(args.get("after", ""))
    message = None
    if raw_day and day is None:
        message = f"Ngày “{raw_day}” không hợp lệ; dùng dạng yyyy-mm-dd."
    since = until = None
    if day is not None:
        start = datetime.combine(day, datetime.min.time(), c.cfg.tz)
        since, until = iso(start), iso(start + timedelta(days=1))
    with c.db.read() as conn:
        rows = log_store.search(
            conn,
            actor=actor,
            action=action,
            since=since,
            until=until,
            after=after,
            limit=per + 1,
        )
        actors = log_store.actors(conn)
        actions = audit_view.action_choices(log_store.audit_actions(conn))
        names = log_store.full_names(conn)
        services = {s["code"]: s["name_vi"] for s in catalog.services(conn, active_only=False)}
    more = len(rows) > per
    rows = rows[:per]
    last = rows[-1] if rows and more else None
    return render(
        "supervisor_audit.html",
        rows=audit_view.present(rows, names, services, c.cfg.tz),
        actors=actors,
        actions=actions,
        sizes=audit_view.PAGE_SIZES,
        f={"actor": actor or "", "action": action or "", "date": raw_day, "per": per},
        message=message,
        next_after=log_store.Cursor(last["at"], last["src"], last["id"]).text() if last else None,
        paged=after is not None,
        nav="audit",
    )
