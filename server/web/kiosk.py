"""The kiosk page (máy lấy số): full screen, touch first, Vietnamese first.

Everything the script needs at start — services with their counts, priority classes,
opening hours, both languages' texts, the server's clock — is embedded as JSON in the
page, so the first screen shows without waiting for the network; the /kiosk Socket.IO
namespace then keeps counts and open/closed states live."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from .. import hall
from ..accounts import Identity
from ..clock import iso
from ..context import ctx
from ..hours import hours_to_json
from ..i18n import LANGS, bundle
from .pairing import device_page

bp = Blueprint("kiosk", __name__)

#: Seconds the confirmation stays up (longer when the citizen must note the number).
CONFIRM_S = 10
FAULT_CONFIRM_S = 30
#: Seconds without a touch before the page returns to the start, in Vietnamese.
IDLE_S = 40
#: Seconds to wait for the printer's confirmation before telling the citizen to note it.
PRINT_TIMEOUT_S = 6


def page_data(who: Identity) -> dict[str, Any]:
    c = ctx()
    now = c.now()
    with c.db.read() as conn:
        services = hall.services_summary(conn, c.cfg, now)
    offset = now.astimezone(c.cfg.tz).utcoffset()
    return {
        "device": who.name,
        "center": {"vi": c.cfg.center_name, "en": c.cfg.center_name_en},
        "priorities": [
            {"code": p.code, "vi": p.name_vi, "en": p.name_en} for p in c.cfg.priority_classes
        ],
        "services": services,
        # the office's hours, also in demo mode (which issues at any hour and says so)
        "hours": hours_to_json(c.cfg.office_hours),
        "demo": c.cfg.demo_mode,
        "texts": {lang: bundle("kiosk.", lang) for lang in LANGS},
        "server_now": iso(now),
        "utc_offset_min": int(offset.total_seconds() // 60) if offset else 0,
        "confirm_s": CONFIRM_S,
        "fault_confirm_s": FAULT_CONFIRM_S,
        "idle_s": IDLE_S,
        "print_timeout_s": PRINT_TIMEOUT_S,
    }


@bp.get("/kiosk")
@device_page("kiosk")
def kiosk(who: Identity):
    c = ctx()
    return render_template("kiosk.html", center=c.cfg.center_name, data=page_data(who))
