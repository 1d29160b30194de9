"""The dossier lookup pages (tra cứu hồ sơ).

Two doors to one page:
- ``/lookup`` — the hall's touchscreen, a paired ``lookup`` device: an on-screen keyboard
  with only the characters codes use, a barcode/QR scanner typing into it, and a return
  to the start screen when nobody touches it, so the next citizen never sees the last
  one's dossier.
- ``/tra-cuu`` — the same page for citizens' phones, with no pairing: a Vietnamese
  address short enough to print on the appointment slip (``/tra-cuu?ma=CODE`` opens one
  dossier, for a QR code), the phone's own keyboard instead of ours, and no idle reset.
  ``/lookup?public=1`` leads there too.  Both call the same masked, rate-limited API,
  so the open door reveals nothing the touchscreen would not.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request

from ..accounts import Identity
from ..context import ctx
from ..dossiers import settings as dsettings
from ..i18n import LANGS, bundle
from .pairing import device_page

bp = Blueprint("lookup", __name__)


@bp.record_once
def _validate_settings(state) -> None:
    """A wrong `dossiers:` section stops the server at start, naming the key, instead
    of failing the first lookup."""
    dsettings.settings(state.app.extensions["motcua"].cfg)


#: Text bundles the page's script needs, in both languages.
_PREFIXES = ("lookup.", "dossier.status.", "dossier.channel.", "dossier.timeliness.")


def _hours_text() -> str:
    c = ctx()
    return ", ".join(f"{s:%H:%M}–{e:%H:%M}" for s, e in c.cfg.office_hours.sessions)


def page_data(mode: str, initial: str = "") -> dict[str, Any]:
    c = ctx()
    settings = dsettings.settings(c.cfg)
    texts = {}
    for lang in LANGS:
        merged: dict[str, str] = {}
        for prefix in _PREFIXES:
            merged.update(bundle(prefix, lang))
        texts[lang] = merged
    return {
        "mode": mode,
        "center": {"vi": c.cfg.center_name, "en": c.cfg.center_name_en},
        "idle_s": settings.idle_seconds if mode == "screen" else 0,
        "phone_digits": settings.phone_digits,
        "hours": _hours_text(),
        "initial": initial[:64],
        "texts": texts,
    }


def _render(mode: str, initial: str = "") -> str:
    c = ctx()
    data = page_data(mode, initial)
    return render_template(
        "lookup.html",
        center=c.cfg.center_name,
        data=data,
        mode=mode,
        tx=data["texts"]["vi"],
        hours=data["hours"],
    )


@bp.get("/lookup")
def lookup_entry():
    if request.args.get("public"):
        return redirect("/tra-cuu", code=303)
    return _screen()


@device_page("lookup")
def _screen(who: Identity):
    return _render("screen")


@bp.get("/tra-cuu")
def lookup_public():
    return _render("phone", request.args.get("ma", "").strip())
