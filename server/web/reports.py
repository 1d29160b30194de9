"""Reports pages for supervisors: /reports (date range, tables, charts, downloads) and
/reports/live (today so far, refreshed every few seconds).

Both read the JSON API with the staff session cookie; the charts are SVG drawn by
static/js/reports_charts.js (no CDN, no chart library)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request

from ..auth import SUPERVISOR_ROLES, session_user
from ..clock import business_day
from ..context import ctx
from ..i18n import LANGS, bundle

bp = Blueprint("reports_pages", __name__)

TABS = ("queue", "dossiers", "satisfaction")


def _texts() -> dict[str, dict[str, str]]:
    return {lang: {**bundle("reports.", lang), **bundle("rating.", lang)} for lang in LANGS}


def _has_login() -> bool:
    return any(rule.rule == "/login" for rule in current_app.url_map.iter_rules())


def _guard(next_path: str):
    """None when a supervisor is logged in, else the page explaining what to do."""
    who = session_user()
    lang = request.args.get("lang", "vi")
    lang = lang if lang in LANGS else "vi"
    texts = _texts()[lang]
    if who is None and _has_login():
        return redirect(f"/login?next={next_path}", code=302)
    if who is None:
        return render_template(
            "reports_login.html",
            center=ctx().cfg.center_name,
            texts=texts,
            message=texts["reports.login_required"],
            login_url=f"/login?next={next_path}" if _has_login() else None,
        ), 401
    if who.role not in SUPERVISOR_ROLES:
        return render_template(
            "reports_login.html",
            center=ctx().cfg.center_name,
            texts=texts,
            message=texts["reports.forbidden"],
            login_url=None,
        ), 403
    return None


def _today() -> str:
    c = ctx()
    return business_day(c.now(), c.cfg.tz).isoformat()


@bp.get("/reports")
def reports_page():
    refused = _guard("/reports")
    if refused is not None:
        return refused
    return render_template(
        "reports.html",
        center=ctx().cfg.center_name,
        texts=_texts()["vi"],
        data={"texts": _texts(), "tabs": TABS, "today": _today(), "tz": ctx().cfg.timezone},
        tabs=TABS,
    )


@bp.get("/reports/live")
def live_page():
    refused = _guard("/reports/live")
    if refused is not None:
        return refused
    return render_template(
        "reports_live.html",
        center=ctx().cfg.center_name,
        texts=_texts()["vi"],
        data={"texts": _texts(), "refresh_s": 5, "tz": ctx().cfg.timezone},
    )
