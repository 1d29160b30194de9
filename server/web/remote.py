"""The phone page for taking a number from home: /lay-so.

Light on purpose (a cheap Android phone on a slow line): one template, one small
script, no external asset; services, waiting counts and texts come embedded in the
page.  The steps — choose a service, confirm the phone by a one-time code, take the
number — call the public /api/v1/remote endpoints, then the page opens the ticket's
tracking page (live position, "Hủy số")."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import hall
from ..clock import business_day
from ..context import ctx
from ..hours import hours_to_json
from ..i18n import LANGS, bundle
from ..remote_config import settings
from ..store import remote as remote_store

bp = Blueprint("remote", __name__)


@bp.get("/lay-so")
def take_from_home():
    c = ctx()
    now = c.now()
    s = settings(c.cfg)
    day = business_day(now, c.cfg.tz).isoformat()
    with c.db.read() as conn:
        services = hall.services_summary(conn, c.cfg, now)
        closed = remote_store.closed(conn, day)
    for svc in services:
        svc["remote_open"] = svc["code"] not in closed
    data = {
        "center": {"vi": c.cfg.center_name, "en": c.cfg.center_name_en},
        "enabled": s.enabled,
        "services": services,
        "hours": hours_to_json(c.cfg.office_hours),
        "today": day,
        "limits": {"person": s.per_person_day, "service": s.per_service_day},
        "texts": {lang: bundle("remote.page.", lang) for lang in LANGS},
    }
    return render_template("lay_so.html", center=c.cfg.center_name, data=data, lang="vi")
