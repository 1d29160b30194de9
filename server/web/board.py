"""The hall board as a web page, for smart TVs, and the small screen above a counter.

Both listen on the /display Socket.IO namespace with the paired device's session
cookie and show the same data as the pygame board; the hall board plays the same
chime and voice files the server rendered once.  A display device registered with a
counter (``motcua device add … --kind display --counter 5``) is that counter's screen:
its /board opens the counter page, so one pairing URL sets up either kind of screen.
Logged-in staff may open both pages too (a supervisor checking what the hall sees)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request

from .. import hall
from ..accounts import Identity
from ..auth import STAFF_ROLES, session_identity
from ..context import ctx
from ..i18n import LANGS, bundle, t
from ..protocol import DeviceKind

bp = Blueprint("board", __name__)


def _viewer() -> Identity | None:
    who = session_identity()
    if who is None:
        return None
    if who.kind == "user" and who.role in STAFF_ROLES:
        return who
    if who.kind == "device" and who.device_kind == DeviceKind.DISPLAY:
        return who
    return None


def _unpaired():
    return render_template("unpaired.html", center=ctx().cfg.center_name, kind="display"), 403


def _lang() -> str:
    lang = request.args.get("lang", "vi")
    return lang if lang in LANGS else "vi"


def _page_data(lang: str, **extra: Any) -> dict[str, Any]:
    c = ctx()
    return {
        "lang": lang,
        "texts": bundle("board.", lang),
        "server_time": c.now().isoformat(),
        "timezone": c.cfg.timezone,
        "center": c.cfg.center_name,
        **extra,
    }


@bp.get("/board")
def board():
    who = _viewer()
    if who is None:
        return _unpaired()
    if who.kind == "device" and who.counter is not None:
        return redirect(f"/board/counter/{who.counter}", code=303)
    lang = _lang()
    data = _page_data(lang)
    return render_template(
        "board.html", center=ctx().cfg.center_name, lang=lang, texts=data["texts"], data=data
    )


@bp.get("/board/counter/<int:number>")
def counter_screen(number: int):
    who = _viewer()
    if who is None:
        return _unpaired()
    with ctx().db.read() as conn:
        view = hall.one_counter(conn, number)
    lang = _lang()
    if view is None:
        return render_template(
            "board_error.html",
            center=ctx().cfg.center_name,
            message_vi=t("board.web.no_counter", "vi", number=number),
            message_en=t("board.web.no_counter", "en", number=number),
        ), 404
    data = _page_data(lang, counter=view)
    return render_template(
        "board_counter.html",
        center=ctx().cfg.center_name,
        lang=lang,
        texts=data["texts"],
        counter=view,
        data=data,
    )
