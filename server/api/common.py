"""Request helpers shared by the API blueprints: JSON bodies, who is calling, roles,
rate limits."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request, session

from ..accounts import Identity, identify, user_identity
from ..app import ctx
from ..errors import BadRequest, Forbidden, RateLimited, Unauthorized
from ..store import accounts as account_store

F = TypeVar("F", bound=Callable[..., Any])

STAFF_ROLES = ("staff", "supervisor", "admin")
SUPERVISOR_ROLES = ("supervisor", "admin")


def json_body() -> dict[str, Any]:
    """The request's JSON object; anything else is a 400, never a 500."""
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="bad_json")
    return data


def field(
    data: dict[str, Any], name: str, kind: type, *, required: bool = False, default: Any = None
) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise BadRequest(f"Thiếu trường '{name}'.", code="missing_field", field=name)
        return default
    value = data[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"Trường '{name}' sai kiểu.", code="bad_field", field=name)
    return value


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return None


def current_identity() -> Identity | None:
    """Bearer token first (devices, scripts); else a logged-in staff session.

    A session-authenticated write must carry the session's CSRF token in the
    X-CSRF-Token header, because cookies are sent by any page a browser visits."""
    if "identity" in g:
        return g.identity
    who: Identity | None = None
    token = bearer_token()
    if token:
        who = identify(ctx().db, token)
        if who is None:
            raise Unauthorized("Mã truy cập không hợp lệ hoặc đã bị thu hồi.", code="bad_token")
    elif session.get("user_id"):
        with ctx().db.connection() as conn:
            u = account_store.user(conn, session["user_id"])
        if u is not None and u["active"] and session.get("pw") == u["password_hash"][-16:]:
            who = user_identity(u)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                sent = request.headers.get("X-CSRF-Token", "")
                if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
                    raise Forbidden("Thiếu hoặc sai mã CSRF.", code="csrf_failed")
    g.identity = who
    return who


def requires(*, roles: tuple[str, ...] = (), devices: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Allow users with one of `roles` and devices of one of the `devices` kinds."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            who = current_identity()
            if who is None:
                raise Unauthorized("Cần đăng nhập hoặc mã thiết bị.", code="unauthorized")
            if who.kind == "user" and who.role in roles:
                return fn(*args, **kwargs)
            if who.kind == "device" and who.device_kind in devices:
                return fn(*args, **kwargs)
            raise Forbidden(
                "Tài khoản hoặc thiết bị này không được phép làm việc này.", code="forbidden"
            )

        return inner  # type: ignore[return-value]

    return wrap


def client_ip() -> str:
    return request.remote_addr or "unknown"


def rate_limit(bucket: str, key: str | None = None) -> None:
    wait = ctx().limits[bucket].hit(f"{bucket}:{key or client_ip()}")
    if wait:
        raise RateLimited("Quá nhiều yêu cầu; xin thử lại sau ít phút.", retry_after=round(wait, 1))


def actor() -> str:
    who = current_identity()
    return who.name if who else "public"
