"""Administration of who may act: staff accounts (and the counters they work at) and
devices (kiosks, boards, lookup screens, rating pads).

Taking a right away takes effect at once: a deactivated account or a reset password
ends its sessions (revoked on the server) and, for a reset, its personal API tokens;
its open Socket.IO connections are dropped; a revoked or rotated device token is refused from the next
request on, and the device's open connections are dropped too."""

from __future__ import annotations

from typing import Any

from flask import make_response, request

from .. import administration, logins
from ..accounts import Identity
from ..context import ctx
from ..errors import MotcuaError
from ..i18n import t
from ..protocol import PrinterState
from ..public_url import public_base
from ..store import accounts as account_store
from ..store import catalog
from .admin import admin_render, form_page, posted_form
from .staffkit import ADMIN_ROLES, audit, blueprint, cut_off, flash_redirect, no_store, page

bp = blueprint("admin_people")

KINDS = ("kiosk", "display", "lookup", "counter")


# --- staff accounts -------------------------------------------------------------------------------
def _users_page(status: int = 200, **extra: Any):
    with ctx().db.read() as conn:
        users = account_store.users(conn)
    return admin_render("admin_users.html", status, users=users, section="users", **extra)


@bp.get("/admin/users")
@page(*ADMIN_ROLES)
def users(who: Identity):
    return _users_page()


def _user_form_page(form: dict[str, Any], *, new: bool, user: dict | None = None, **kw: Any):
    with ctx().db.read() as conn:
        counters = catalog.counters(conn)
    return form_page(
        "admin_user_form.html", "users", form, new=new, account=user, counters=counters, **kw
    )


def _user_form(u: dict[str, Any]) -> dict[str, Any]:
    return {
        "username": u["username"],
        "full_name": u["full_name"],
        "role": u["role"],
        "counters": ", ".join(map(str, u["counters"])),
    }


@bp.get("/admin/users/new")
@page(*ADMIN_ROLES)
def user_new(who: Identity):
    return _user_form_page(
        {"username": "", "full_name": "", "role": "staff", "counters": ""}, new=True
    )


@bp.post("/admin/users")
@page(*ADMIN_ROLES)
def user_create(who: Identity):
    c = ctx()
    form = request.form.to_dict()
    try:
        u = administration.create_user(c.db, form, c.now())
    except MotcuaError as exc:
        form.pop("password", None)
        form.pop("password2", None)
        return _user_form_page(form, new=True, status=exc.status, message=exc.message)
    audit(
        who, "user_created", f"user:{u['username']}", {"role": u["role"], "counters": u["counters"]}
    )
    return flash_redirect(f"Đã tạo tài khoản {u['username']}.", "/admin/users")


@bp.get("/admin/users/<username>")
@page(*ADMIN_ROLES)
def user_edit(who: Identity, username: str):
    u = administration.user_by_name(ctx().db, username)
    return _user_form_page(_user_form(u), new=False, user=u)


@bp.post("/admin/users/<username>")
@page(*ADMIN_ROLES)
def user_update(who: Identity, username: str):
    c = ctx()
    form, _ = posted_form("username", username)
    try:
        u = administration.update_user(c.db, username, form, who.id)
    except MotcuaError as exc:
        return _user_form_page(
            form,
            new=False,
            status=exc.status,
            message=exc.message,
            user=administration.user_by_name(c.db, username),
        )
    # Counters and role are read at connect: reconnecting sockets pick up the change.
    c.realtime.disconnect_identity("user", u["id"])
    audit(
        who,
        "user_updated",
        f"user:{username}",
        {"role": u["role"], "counters": u["counters"], "full_name": u["full_name"]},
    )
    return flash_redirect(f"Đã lưu tài khoản {username}.", "/admin/users")


@bp.post("/admin/users/<username>/password")
@page(*ADMIN_ROLES)
def user_password(who: Identity, username: str):
    c = ctx()
    u = administration.user_by_name(c.db, username)
    password = request.form.get("password") or ""
    try:
        if password != (request.form.get("password2") or ""):
            raise administration.bad("password2", "Mật khẩu nhập lại không khớp.")
        logins.set_password_by_id(c.db, u["id"], password, c.now())
    except MotcuaError as exc:
        return _user_form_page(
            _user_form(u), new=False, status=exc.status, message=exc.message, user=u
        )
    cut_off(who, "user", u["id"], "user_password_reset", f"user:{username}")
    return flash_redirect(
        f"Đã đặt lại mật khẩu của {username}; các phiên đăng nhập cũ đã kết thúc "
        "và mã truy cập cá nhân đã bị thu hồi.",
        f"/admin/users/{username}",
    )


@bp.post("/admin/users/<username>/active")
@page(*ADMIN_ROLES)
def user_active(who: Identity, username: str):
    c = ctx()
    active = request.form.get("active") == "1"
    try:
        u = administration.set_user_active(c.db, username, active, who.id, c.now())
    except MotcuaError as exc:
        return _users_page(exc.status, message=exc.message)
    if active:
        audit(who, "user_activated", f"user:{username}")
    else:
        cut_off(who, "user", u["id"], "user_deactivated", f"user:{username}")
    return flash_redirect(
        f"Đã {'mở khoá' if active else 'khoá'} tài khoản {username}.", "/admin/users"
    )


# --- devices --------------------------------------------------------------------------------------
def _state_text(d: dict[str, Any]) -> str:
    """What the status column says: a kiosk's last printer report in words (the stored
    value is the agent's code, "online", "paper_out" …), any other device in use."""
    if d["kind"] == "kiosk" and d["status"] in set(PrinterState):
        return t(f"staff.device.printer.{d['status']}")
    return t("staff.device.in_use")


def _devices_page(status: int = 200, **extra: Any):
    c = ctx()
    with c.db.read() as conn:
        devices = [{**d, "state_text": _state_text(d)} for d in account_store.devices(conn)]
        counters = catalog.counters(conn)
    zones = sorted({x["zone"] for x in counters})
    resp = make_response(
        admin_render(
            "admin_devices.html",
            status,
            devices=devices,
            counters=counters,
            zones=zones,
            kinds=KINDS,
            section="devices",
            **extra,
        )
    )
    return no_store(resp)


@bp.get("/admin/devices")
@page(*ADMIN_ROLES)
def devices(who: Identity):
    return _devices_page()


@bp.post("/admin/devices")
@page(*ADMIN_ROLES)
def device_create(who: Identity):
    c = ctx()
    form = request.form.to_dict()
    try:
        d, secret = administration.create_device(c.db, form, c.now())
    except MotcuaError as exc:
        return _devices_page(exc.status, message=exc.message, form=form)
    audit(
        who,
        "device_created",
        f"device:{d['name']}",
        {"kind": d["kind"], "zone": d["zone"], "counter": d["counter"]},
    )
    return _token_page(d, secret)


def _token_page(d: dict[str, Any], secret: str, **extra: Any):
    """The devices page showing a new token (once) and the link that pairs it."""
    base = public_base(ctx().cfg.public_url, request.host_url)
    link = administration.pairing_link(base, d["kind"], secret)
    return _devices_page(201, new_device=d, new_token=secret, pairing=link, **extra)


@bp.post("/admin/devices/<name>/revoke")
@page(*ADMIN_ROLES)
def device_revoke(who: Identity, name: str):
    c = ctx()
    from .. import accounts

    d = accounts.revoke_device(c.db, name, c.now())
    cut_off(who, "device", d["id"], "device_revoked", f"device:{name}")
    return flash_redirect(
        f"Đã thu hồi thiết bị {name}; thiết bị không còn truy cập được.", "/admin/devices"
    )


@bp.post("/admin/devices/<name>/rotate")
@page(*ADMIN_ROLES)
def device_rotate(who: Identity, name: str):
    c = ctx()
    d, secret = administration.rotate_device(c.db, name, c.now())
    cut_off(who, "device", d["id"], "device_rotated", f"device:{name}")
    return _token_page(d, secret, rotated=True)
