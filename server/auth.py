"""Who is calling, for HTTP and Socket.IO: a bearer token (devices, scripts), a paired
device's session cookie, or a logged-in staff session.  Cookie-authenticated writes
must carry the session's CSRF token, because browsers send cookies from any page."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request, session

from . import apikey_limit, logins
from .accounts import Identity, device_identity, identify, user_identity
from .context import ctx
from .errors import Forbidden, Unauthorized
from .store import accounts as account_store

F = TypeVar("F", bound=Callable[..., Any])

STAFF_ROLES = ("staff", "supervisor", "admin")
SUPERVISOR_ROLES = ("supervisor", "admin")


def session_device() -> Identity | None:
    """The paired device of this browser, if its token is still valid (not rotated/revoked)."""
    device_id = session.get("device_id")
    if not device_id:
        return None
    with ctx().db.connection() as conn:
        d = account_store.device(conn, device_id)
    if d is None or d["revoked_at"] or d["token_hash"][-16:] != session.get("device_fp"):
        return None
    return device_identity(d, via="paired", credential=d["token_hash"][-16:])


def session_user() -> Identity | None:
    """The signed-in staff member, if the session is still live on the server (not
    signed out, not ended by a password change or reset) and the account active."""
    user_id = session.get("user_id")
    if not user_id:
        return None
    c = ctx()
    u = logins.session_user(c.db, session.get("sid"), c.now())
    if u is None or u["id"] != user_id or not u["active"]:
        return None
    return user_identity(u, via="session", credential=u["session_hash"])


def session_identity() -> Identity | None:
    return session_user() or session_device()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return None


def check_csrf() -> None:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        raise Forbidden("Thiếu hoặc sai mã CSRF; hãy tải lại trang.", code="csrf_failed")


def current_identity() -> Identity | None:
    if "identity" in g:
        return g.identity
    who: Identity | None
    token = bearer_token()
    if token:
        who = identify(ctx().db, token)
        if who is None:
            raise Unauthorized("Mã truy cập không hợp lệ hoặc đã bị thu hồi.", code="bad_token")
    else:
        who = session_identity()
        if who is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            check_csrf()
    g.identity = who
    return who


def requires(
    *, roles: tuple[str, ...] = (), devices: tuple[str, ...] = (), scopes: tuple[str, ...] = ()
) -> Callable[[F], F]:
    """Allow users with one of `roles`, devices of one of the `devices` kinds, and
    departments' API keys holding one of `scopes`."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            who = current_identity()
            if who is None:
                raise Unauthorized("Cần đăng nhập hoặc mã thiết bị.", code="unauthorized")
            if who.kind == "apikey":  # every request a key makes counts, allowed or not
                c = ctx()
                hold = apikey_limit.settings(c.cfg).hold_s
                sleep = current_app.extensions["motcua.socketio"].sleep  # gevent's, or time's
                apikey_limit.check(c.limits.get("apikey"), who.id, hold, sleep)
            if (
                (who.kind == "user" and who.role in roles)
                or (who.kind == "device" and who.device_kind in devices)
                or (who.kind == "apikey" and any(s in who.scopes for s in scopes))
            ):
                return fn(*args, **kwargs)
            raise Forbidden(
                "Tài khoản hoặc thiết bị này không được phép làm việc này.", code="forbidden"
            )

        return inner  # type: ignore[return-value]

    return wrap


def socket_identity(auth: Any) -> Identity | None:
    """Socket.IO connect: the auth payload's token, else the page's session cookie."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if isinstance(token, str) and token:
        return identify(ctx().db, token)
    return session_identity()
