"""Web pages (kiosk, board, lookup, staff, admin …), each a blueprint in this package.
Pages carry no inline script (CSP), all assets are served locally (no CDN)."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from ..app import ctx

pages = Blueprint("pages", __name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self' ws: wss:; font-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


@pages.get("/")
def home():
    c = ctx()
    return render_template("home.html", center=c.cfg.center_name)


def _security_headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


def register(app: Flask) -> None:
    app.register_blueprint(pages)
    app.after_request(_security_headers)
