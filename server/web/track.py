"""The tracking page a ticket's QR code opens on the citizen's phone: /t/<token>.

Anyone holding the ticket's random token sees its number, service, place in the queue
and "your turn" live (the /track namespace); nobody sees a phone number or a staff
name.  Unknown tokens get a friendly Vietnamese 404, and the page shares the public
rate limit with the JSON status endpoint, so tokens cannot be guessed by the thousand."""

from __future__ import annotations

import io
import re

import qrcode
import qrcode.image.svg
from flask import Blueprint, render_template, request
from markupsafe import Markup

from .. import hall
from ..clock import business_day
from ..context import ctx
from ..i18n import LANGS, bundle
from ..protocol import Channel, TicketStatus
from ..public_url import public_base
from ..remote_config import settings as remote_settings
from ..store import tickets as store

bp = Blueprint("track", __name__)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _texts() -> dict[str, dict[str, str]]:
    return {lang: bundle("track.", lang) for lang in LANGS}


def _qr_svg(url: str) -> Markup:
    """The ticket's QR as inline SVG (no script, no external asset): a number taken from
    home is checked in by showing it to the kiosk's scanner."""
    img = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    img.save(out)
    svg = out.getvalue().decode()
    return Markup(svg[svg.index("<svg") :])


def _lang() -> str:
    lang = request.args.get("lang", "vi")
    return lang if lang in LANGS else "vi"


def _no_ticket_page(lang: str, texts: dict, title_key: str, body_key: str) -> str:
    """The friendly page shown instead of a ticket (unknown token, too many tries)."""
    return render_template(
        "track_missing.html",
        center=ctx().cfg.center_name,
        lang=lang,
        texts=texts,
        title_key=title_key,
        body_key=body_key,
    )


@bp.get("/t/<token>")
def track(token: str):
    c = ctx()
    texts = _texts()
    lang = _lang()
    wait = c.limits["public"].hit(f"public:{request.remote_addr or 'unknown'}")
    if wait:
        resp = _no_ticket_page(lang, texts, "track.title", "track.rate_limited")
        return resp, 429, {"Retry-After": str(int(wait) + 1)}
    ticket = t = None
    if _TOKEN.match(token):
        with c.db.read() as conn:
            t = store.ticket_by_token(conn, token)
            ticket = hall.public_ticket(conn, c.cfg, t, c.now()) if t else None
    if ticket is None:
        return _no_ticket_page(lang, texts, "track.not_found_title", "track.not_found_body"), 404
    data = {
        "token": token,
        "ticket": ticket,
        "today": business_day(c.now(), c.cfg.tz).isoformat(),
        "center": {"vi": c.cfg.center_name, "en": c.cfg.center_name_en},
        "priorities": {p.code: {"vi": p.name_vi, "en": p.name_en} for p in c.cfg.priority_classes},
        "texts": texts,
        "lang": lang,
        # a remote ticket's page alerts (sound, vibration) at this many people ahead
        "near_ahead": remote_settings(c.cfg).near_for(ticket["service"]),
    }
    qr = None
    if t is not None and t["channel"] == Channel.REMOTE and t["status"] == TicketStatus.WAITING:
        qr = _qr_svg(f"{public_base(c.cfg.public_url, request.host_url)}/t/{token}")
    return render_template(
        "track.html",
        center=c.cfg.center_name,
        lang=lang,
        data=data,
        ticket=ticket,
        texts=texts,
        qr=qr,
    )
