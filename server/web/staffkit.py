"""What the staff, supervisor and admin pages share: who is signed in, the role a page
needs, CSRF on forms, audit entries with the caller's address, and readable errors.

A page never answers a stranger with JSON: errors become a Vietnamese page, and an
anonymous visitor is sent to the login page and brought back afterwards."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts
from ..accounts import Identity
from ..auth import SUPERVISOR_ROLES, session_user
from ..clock import parse_iso
from ..context import ctx
from ..errors import Forbidden, MotcuaError
from ..i18n import t

ADMIN_ROLES = ("admin",)
STAFF_PAGE_ROLES = ("staff", "supervisor", "admin")

ROLE_NAMES = {"staff": "Cán bộ", "supervisor": "Giám sát", "admin": "Quản trị"}


def home_for(who: Identity) -> str:
    """Where a signed-in person lands: their counter, the hall view, or administration."""
    if who.role == "admin":
        return "/admin"
    if who.role in SUPERVISOR_ROLES:
        return "/supervisor"
    return "/staff"


#: The longest path a sign-in may lead back to (the page asked for, with its query).
MAX_NEXT = 2000


def safe_next(target: str | None) -> str | None:
    """Where a sign-in may lead: only a path of this site.

    Browsers drop tabs and newlines inside a URL, read a backslash as a slash, and take
    `//host`, `/\\host` or `scheme:` to another site — so `/<TAB>/evil.example` becomes
    `//evil.example`.  Anything holding a control character, a space, a backslash or a
    non-ASCII character, a scheme or a host is refused (no cleaning: the home page it is)."""
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT:
        return None
    if not target.isascii() or any(ch <= " " or ch in "\\\x7f" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def page(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for signed-in staff with one of `roles`; the handler gets the Identity."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            who = session_user()
            if who is None:
                path = request.full_path.rstrip("?")
                return redirect(url_for("login.login_form", next=path))
            if who.role not in roles:
                return error_page(403, "Tài khoản của bạn không có quyền mở trang này.")
            g.user = who
            if request.method == "POST":
                check_form_csrf()
            return fn(who, *args, **kwargs)

        return inner

    return wrap


def check_form_csrf() -> None:
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        raise Forbidden(
            "Biểu mẫu đã hết hạn hoặc không hợp lệ; hãy tải lại trang rồi thử lại.",
            code="csrf_failed",
        )


def client_ip() -> str:
    return request.remote_addr or "unknown"


def audit(
    who: Identity | str, action: str, target: str | None = None, detail: dict | None = None
) -> None:
    actor = who if isinstance(who, str) else who.actor
    c = ctx()
    accounts.audit(c.db, c.now(), actor, action, target, detail, client_ip())


def cut_off(who: Identity, kind: str, ident_id: int, action: str, target: str) -> None:
    """End the open Socket.IO connections of a user or device whose rights just changed
    (they were authenticated when they connected), and audit how many were dropped."""
    dropped = ctx().realtime.disconnect_identity(kind, ident_id)
    audit(who, action, target, {"sockets_closed": dropped})


def flash_redirect(message: str, to: str) -> BaseResponse:
    """Post/redirect/get after a change: the next page says what was done, once."""
    flash(message)
    return redirect(to, code=303)


#: Supervisor pages of other areas, linked from the top bar when they are installed.
OTHER_PAGES = (
    ("/dossiers", "Hồ sơ", "dossiers"),
    ("/reports", "Báo cáo", "reports"),
    ("/supervisor/remote", "Lấy số trực tuyến", "remote"),
)


def _other_pages() -> list[tuple[str, str, str]]:
    found = current_app.extensions.get("motcua.staff_nav")
    if found is None:
        rules = {r.rule for r in current_app.url_map.iter_rules()}
        found = [p for p in OTHER_PAGES if p[0] in rules]
        current_app.extensions["motcua.staff_nav"] = found
    return found


def render(template: str, status: int = 200, **params: Any) -> tuple[str, int]:
    c = ctx()
    params.setdefault("user", g.get("user"))
    return render_template(
        template,
        center=c.cfg.center_name,
        t=t,
        role_names=ROLE_NAMES,
        other_pages=_other_pages(),
        **params,
    ), status


def error_page(status: int, message: str) -> tuple[str, int]:
    return render("staff_error.html", status, message=message, user=session_user())


def _on_error(exc: MotcuaError) -> Any:
    return error_page(exc.status, exc.message)


def localtime(value: str | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """A stored UTC timestamp as the center's wall-clock time."""
    if not value:
        return ""
    return parse_iso(value).astimezone(ctx().cfg.tz).strftime(fmt)


def blueprint(name: str) -> Blueprint:
    """A page blueprint whose domain errors render as a Vietnamese page."""
    bp = Blueprint(name, __name__)
    bp.register_error_handler(MotcuaError, _on_error)
    bp.add_app_template_filter(localtime, "localtime")
    return bp


def no_store(resp: Response) -> Response:
    """Pages that show a secret once must not be kept in the browser's cache."""
    resp.headers["Cache-Control"] = "no-store"
    return resp
