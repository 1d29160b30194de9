"""Signing in and out, changing one's password, and personal API tokens.

The session keeps the user id and a fingerprint of the password hash (see
server.auth.session_user): changing the password, deactivating the account or a reset
by an admin ends every other session at once; open Socket.IO connections are dropped
explicitly, since they were authenticated when they connected."""

from __future__ import annotations

import logging
import secrets

from flask import make_response, redirect, request, session

from .. import logins
from ..accounts import Identity
from ..app import ctx
from ..auth import session_user
from ..errors import MotcuaError
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

BAD_CREDENTIALS = "Sai tên đăng nhập hoặc mật khẩu"


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


@bp.post("/login")
def login():
    username = (request.form.get("username") or "").strip().lower()[:40]
    try:
        check_form_csrf()
    except MotcuaError:
        return _login_page(
            "Phiên đăng nhập đã hết hạn; hãy nhập lại rồi bấm Đăng nhập.", 400, username
        )
    c = ctx()
    wait = c.limits["login"].hit(f"login:{client_ip()}")
    if wait:
        minutes = max(1, round(wait / 60))
        audit(f"user:{username or '?'}", "login_rate_limited")
        html, status = _login_page(
            f"Quá nhiều lần đăng nhập từ máy này; hãy thử lại sau khoảng {minutes} phút.",
            429,
            username,
        )
        return html, status, {"Retry-After": str(int(wait) + 1)}
    try:
        u = logins.authenticate(c.db, username, request.form.get("password") or "", c.now())
    except logins.LoginFailed as exc:
        if exc.reason == "locked":
            audit(f"user:{username}", "login_locked", username, {"minutes": exc.minutes})
            return _login_page(
                "Tài khoản tạm khoá do nhập sai mật khẩu nhiều lần; "
                f"hãy thử lại sau {exc.minutes} phút hoặc nhờ quản trị viên đặt lại mật khẩu.",
                403,
                username,
            )
        audit(f"user:{username or '?'}", "login_failed", username or None)
        return _login_page(BAD_CREDENTIALS, 401, username)
    session.clear()
    session["user_id"] = u["id"]
    session["pw"] = logins.session_fingerprint(u)
    session["csrf"] = secrets.token_urlsafe(24)
    audit(f"user:{u['username']}", "login", u["username"])
    target = safe_next(request.form.get("next"))
    who = session_user()
    assert who is not None
    return redirect(target or home_for(who), code=303)


@bp.post("/logout")
def logout():
    check_form_csrf()
    who = session_user()
    if who is not None:
        audit(who, "logout", who.name)
    session.clear()
    return flash_redirect("Đã đăng xuất.", "/login")


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
        return render(
            "staff_password.html", 429, message="Quá nhiều lần thử; hãy thử lại sau ít phút."
        )
    try:
        u = logins.change_password(
            c.db,
            who.id,
            request.form.get("current") or "",
            request.form.get("new") or "",
            request.form.get("confirm") or "",
        )
    except MotcuaError as exc:
        return render("staff_password.html", exc.status, message=exc.message)
    session["pw"] = logins.session_fingerprint(u)
    cut_off(who, "user", who.id, "password_changed", who.name)
    return flash_redirect(
        "Đã đổi mật khẩu. Mọi phiên đăng nhập khác của tài khoản này đã bị đăng xuất.",
        home_for(who),
    )


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
