"""Web pages (kiosk, board, lookup, staff, admin …), one blueprint module per area in
this package (each exposes `bp`).  Pages carry no inline script (CSP) and every asset is
served locally (no CDN: centers often have no internet)."""

from __future__ import annotations

import importlib
import pkgutil
import secrets

from flask import Blueprint, Flask, render_template, session

from ..context import ctx

pages = Blueprint("pages", __name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self' ws: wss:; font-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


def csrf_token() -> str:
    """The session's CSRF token: forms post it as `csrf`, scripts send it as X-CSRF-Token."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


@pages.get("/")
def home():
    return render_template("home.html", center=ctx().cfg.center_name)


_SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)


def _security_headers(resp):
    """Every answer carries these, unless a view set its own value.  The names present
    are read in one pass: asking a werkzeug Headers for a missing name raises inside
    (a few µs each, on every request)."""
    h = resp.headers
    present = {name.lower() for name, _ in h}
    for name, value in _SECURITY_HEADERS:
        if name.lower() not in present:
            h.add(name, value)
    return resp


def register(app: Flask) -> None:
    app.register_blueprint(pages)
    for mod in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        bp = getattr(module, "bp", None)
        if isinstance(bp, Blueprint):
            app.register_blueprint(bp)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.after_request(_security_headers)
