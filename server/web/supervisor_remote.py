"""The supervisor's view of numbers taken from home: today's remote tickets per
service (taken, not yet here, checked in, lapsed — and the lapse rate), closing remote
issuing of a service for the day, and tickets and waits by channel."""

from __future__ import annotations

from .. import remote
from ..accounts import Identity
from ..auth import SUPERVISOR_ROLES
from ..context import ctx
from .staffkit import blueprint, page, render

bp = blueprint("supervisor_remote")

CHANNEL_NAMES = {"kiosk": "Máy lấy số", "staff": "Cán bộ cấp số", "remote": "Lấy số trực tuyến"}


@bp.get("/supervisor/remote")
@page(*SUPERVISOR_ROLES)
def remote_today(who: Identity):
    c = ctx()
    today = remote.summary(c.db, c.cfg, c.now())
    channels = remote.channel_report(c.db, today["day"], today["day"])
    for row in channels:
        row["name"] = CHANNEL_NAMES.get(row["channel"], row["channel"])
    return render("supervisor_remote.html", today=today, channels=channels, nav="remote")
