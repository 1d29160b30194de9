"""The supervisor's pages: the whole hall live, and the audit log.

The hall page is a shell like the console: its script reads GET /api/v1/hall and
follows /display (counters, queue counts, calls) so a pause at any counter shows up at
once; its buttons call the audited supervisor endpoints in server/api/admin.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import request

from ..accounts import Identity
from ..app import ctx
from ..auth import SUPERVISOR_ROLES
from ..clock import iso
from ..i18n import bundle
from ..store import catalog
from ..store import staff as staff_store
from .staffkit import blueprint, page, render

bp = blueprint("supervisor")

AUDIT_PAGE = 200

#: How the audit log names its actions (anything else is shown as stored).
ACTION_NAMES = {
    "dossier_corrected": "Điều chỉnh trạng thái hồ sơ",
    "login": "Đăng nhập",
    "login_failed": "Đăng nhập sai",
    "login_blocked": "Đăng nhập sai nhiều lần: tạm chặn máy đó",
    "login_locked": "Tài khoản bị khoá tạm",
    "login_rate_limited": "Đăng nhập quá nhiều lần",
    "logout": "Đăng xuất",
    "password_changed": "Đổi mật khẩu",
    "token_created": "Tạo mã truy cập",
    "token_revoked": "Thu hồi mã truy cập",
    "counter_services": "Đổi lĩnh vực của quầy",
    "service_closed": "Ngừng nhận số lĩnh vực",
    "service_reopened": "Mở lại lĩnh vực",
    "service_created": "Thêm lĩnh vực",
    "service_updated": "Sửa lĩnh vực",
    "counter_created": "Thêm quầy",
    "counter_updated": "Sửa quầy",
    "user_created": "Tạo tài khoản",
    "user_updated": "Sửa tài khoản",
    "user_password_reset": "Đặt lại mật khẩu",
    "user_unlocked": "Mở chặn đăng nhập",
    "user_deactivated": "Khoá tài khoản",
    "user_activated": "Mở khoá tài khoản",
    "device_created": "Thêm thiết bị",
    "device_revoked": "Thu hồi thiết bị",
    "device_rotated": "Cấp lại mã thiết bị",
    "priority_classes_saved": "Lưu đối tượng ưu tiên",
    "days_saved": "Lưu ngày nghỉ, ngày làm bù",
    "templates_saved": "Lưu mẫu tin nhắn",
}


@bp.get("/supervisor")
@page(*SUPERVISOR_ROLES)
def hall(who: Identity):
    c = ctx()
    with c.db.read() as conn:
        services = catalog.services(conn, active_only=True)
    local = c.now().astimezone(c.cfg.tz)
    offset = local.strftime("%z")
    boot = {
        "now": iso(c.now()),
        # the flood dialog's times are the center's: today's date and its UTC offset
        "tz": c.cfg.timezone,
        "today": local.date().isoformat(),
        "utc_offset": f"{offset[:3]}:{offset[3:]}",
        "text": bundle("staff.", "vi"),
        "services": [{"code": s["code"], "name": s["name_vi"]} for s in services],
    }
    return render("supervisor_hall.html", boot=boot, nav="supervisor")


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@bp.get("/supervisor/audit")
@page(*SUPERVISOR_ROLES)
def audit_log(who: Identity):
    c = ctx()
    actor = request.args.get("actor") or None
    action = request.args.get("action") or None
    raw_day = request.args.get("date") or ""
    day = _day(raw_day)
    before = request.args.get("before", "")
    message = None
    if raw_day and day is None:
        message = f"Ngày “{raw_day}” không hợp lệ; dùng dạng yyyy-mm-dd."
    since = until = None
    if day is not None:
        start = datetime.combine(day, datetime.min.time(), c.cfg.tz)
        since, until = iso(start), iso(start + timedelta(days=1))
    with c.db.read() as conn:
        rows = staff_store.search_audit(
            conn,
            actor=actor,
            action=action,
            since=since,
            until=until,
            before_id=int(before)
            if before.isascii() and before.isdigit() and len(before) < 19
            else None,
            limit=AUDIT_PAGE + 1,
        )
        actors, actions = staff_store.audit_names(conn)
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    return render(
        "supervisor_audit.html",
        rows=rows,
        more=more,
        actors=actors,
        actions=actions,
        action_names=ACTION_NAMES,
        f={"actor": actor or "", "action": action or "", "date": raw_day},
        message=message,
        next_before=rows[-1]["id"] if rows and more else None,
        nav="audit",
    )
