"""Signing in and out, changing one's password, and personal API tokens.

The signed cookie keeps the user id and a random session id whose hash the server keeps
(server.logins): signing out, changing the password, a reset or deactivation by an
admin revoke the session there, so even a copy of the cookie stops working; open
Socket.IO connections are dropped too, since they were authenticated when they
connected (and the realtime sweep drops those whose session another process ended)."""

from __future__ import annotations

import logging
import math
import secrets

from flask import make_response, redirect, request, session

from .. import logins
from ..accounts import Identity
from ..auth import session_user
from ..context import ctx
from ..errors import MotcuaError
from ..i18n import t
from .staffkit import (
    STAFF_PAGE_ROLES,
    audit,
    blueprint,
    check_form_csrf,
    client_ip,
    cut_off,
    flash_redirect,
    home_for,
    no_store,
    page,
    render,
    safe_next,
)

log = logging.getLogger(__name__)

bp = blueprint("login")


def _login_page(message: str | None = None, status: int = 200, username: str = ""):
    return render(
        "staff_login.html",
        status,
        message=message,
        username=username,
        next=safe_next(request.values.get("next")) or "",
        user=None,
    )


@bp.get("/login")
def login_form():
    who = session_user()
    if who is not None:
        return redirect(safe_next(request.args.get("next")) or home_for(who))
    return _login_page()


def _sign_in(u: dict) -> None:
    """A fresh cookie for a new server-side session (never the one a visitor brought:
    a session this browser held before is revoked, not left alive in copies)."""
    c = ctx()
    logins.end_session(c.db, session.get("sid"), c.now())
    sid = logins.start_session(c.db, u["id"], c.now(), client_ip())
    session.clear()
    session["user_id"] = u["id"]
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(24)


@bp.post("/login")
def login():
    username = logins.normal_username(request.form.get("username"))
    try:
        check_form_csrf()
    except MotcuaError:
        return _login_page(t("staff.login.form_expired"), 400, username)
    c = ctx()
    password = request.form.get("password") or ""
    try:
        u = logins.authenticate(c.db, username, password, c.now(), address=client_ip())
    except logins.Throttled as exc:
        html, status = _login_page(t("staff.login.throttled", minutes=exc.minutes), 429, username)
        return html, status, {"Retry-After": str(math.ceil(exc.seconds))}
    except logins.Busy as exc:
        html, status = _login_page(t("staff.login.busy"), 429, username)
        return html, status, {"Retry-After": str(exc.seconds)}
    except logins.LoginFailed as exc:
        if exc.blocked_s:  # this failure blocked the address: once per block, not per try
            minutes = {"minutes": math.ceil(exc.blocked_s / 60)}
            audit(f"user:{username or '?'}", "login_blocked", username or None, minutes)
        else:
            audit(f"user:{username or '?'}", "login_failed", username or None)
        return _login_page(t("staff.login.bad_credentials"), 401, username)
    _sign_in(u)
    audit(f"user:{u['username']}", "login", u["username"])
    target = safe_next(request.form.get("next"))
    who = session_user()
    assert who is not None
    return redirect(target or home_for(who), code=303)


@bp.post("/logout")
def logout():
    check_form_csrf()
    c = ctx()
    who = session_user()
    ended = logins.end_session(c.db, session.get("sid"), c.now())
    if ended is not None:
        c.realtime.disconnect_session(ended)
    if who is not None:
        audit(who, "logout", who.name)
    session.clear()
    return flash_redirect(t("staff.login.signed_out"), "/login")


# --- password -----------------------------------------------------------------------------
@bp.get("/account/password")
@page(*STAFF_PAGE_ROLES)
def password_form(who: Identity):
    return render("staff_password.html", message=None)


@bp.post("/account/password")
@page(*STAFF_PAGE_ROLES)
def change_password(who: Identity):
    c = ctx()
    wait = c.limits["login"].hit(f"password:{who.id}")
    if wait:
        return render("staff_password.html", 429, message=t("staff.login.too_many_tries"))
    try:
        u = logins.change_password(
            c.db,
            who.id,
            request.form.get("current") or "",
            request.form.get("new") or "",
            request.form.get("confirm") or "",
            c.now(),
        )
    except MotcuaError as exc:
        return render("staff_password.html", exc.status, message=exc.message)
    _sign_in(u)  # every session was revoked, this browser's too: it gets a new one
    cut_off(who, "user", who.id, "password_changed", who.name)
    return flash_redirect(t("staff.login.password_changed"), home_for(who))


# --- personal API tokens --------------------------------------------------------------------
def _tokens_page(who: Identity, status: int = 200, **extra):
    resp = make_response(
        render(
            "staff_tokens.html",
            status,
            tokens=logins.tokens(ctx().db, who.id),
            **extra,
        )
    )
    return no_store(resp)


@bp.get("/account/tokens")
@page(*STAFF_PAGE_ROLES)
def tokens(who: Identity):
    return _tokens_page(who)


@bp.post("/account/tokens")
@page(*STAFF_PAGE_ROLES)
def create_token(who: Identity):
    c = ctx()
    label = request.form.get("label") or ""
    try:
        token_id, secret = logins.create_token(c.db, who.id, label, c.now())
    except MotcuaError as exc:
        return _tokens_page(who, exc.status, message=exc.message, label=label)
    audit(who, "token_created", f"token:{token_id}", {"label": label.strip()})
    return _tokens_page(who, 201, new_token=secret, new_label=label.strip())


@bp.post("/account/tokens/<int:token_id>/revoke")
@page(*STAFF_PAGE_ROLES)
def revoke_token(who: Identity, token_id: int):
    c = ctx()
    try:
        logins.revoke_token(c.db, who.id, token_id, c.now())
    except MotcuaError as exc:
        return _tokens_page(who, exc.status, message=exc.message)
    cut_off(who, "user", who.id, "token_revoked", f"token:{token_id}")
    return flash_redirect(
        "Đã thu hồi mã truy cập; mọi kết nối dùng mã này đã bị ngắt.", "/account/tokens"
    )
