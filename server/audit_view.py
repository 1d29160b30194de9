"""The audit log as a supervisor reads it: every entry in Vietnamese — who (full name),
what, on what, and the details (reason, target, counts) — whichever source it came
from (`store.audit_log`).  No Flask: the page only renders what this returns."""

from __future__ import annotations

from typing import Any

from .clock import parse_iso
from .i18n import t
from .protocol import PauseReason
from .store.audit_log import COUNTER_PREFIX, TICKET_ACTIONS, TICKET_PREFIX

#: Page sizes a supervisor may choose (the query string cannot ask for more).
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE = 50

#: How the log names its actions (anything else is shown as stored).
ACTION_NAMES = {
    f"{TICKET_PREFIX}call": "Gọi số",
    f"{TICKET_PREFIX}recall": "Gọi lại",
    f"{TICKET_PREFIX}no_show": "Đánh dấu vắng mặt",
    f"{TICKET_PREFIX}transfer": "Chuyển quầy / lĩnh vực",
    f"{COUNTER_PREFIX}paused": "Quầy tạm nghỉ",
    f"{COUNTER_PREFIX}open": "Quầy tiếp tục làm việc",
    f"{COUNTER_PREFIX}closed": "Đóng quầy",
    "ticket_cancelled": "Huỷ số thứ tự",
    "tickets_cancelled_flood": "Huỷ các số của một máy lấy số",
    "kiosk_ticket_limit": "Máy lấy số vượt giới hạn cấp số",
    "staff_ticket_limit": "Nhân viên vượt giới hạn cấp số",
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
    "remote_closed": "Ngừng nhận số trực tuyến của lĩnh vực hôm nay",
    "remote_reopened": "Mở lại nhận số trực tuyến của lĩnh vực",
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
    "sound_test": "Phát thử âm thanh trên bảng",
    "priority_classes_saved": "Lưu đối tượng ưu tiên",
    "days_saved": "Lưu ngày nghỉ, ngày làm bù",
    "templates_saved": "Lưu mẫu tin nhắn",
}
#: The staff's own actions, offered first in the filter list.
QUEUE_ACTIONS = [f"{TICKET_PREFIX}{a}" for a in TICKET_ACTIONS] + [
    f"{COUNTER_PREFIX}{s}" for s in ("paused", "open", "closed")
]

DETAIL_NAMES = {
    "reason": "Lý do",
    "day": "Ngày",
    "from": "Trước",
    "to": "Sau",
    "count": "Số lượng",
    "labels": "Các số",
    "since": "Từ lúc",
    "until": "Đến trước",
    "burst": "Số liên tiếp cho phép",
    "every_s": "Sau đó mỗi (giây)",
    "minutes": "Số phút",
    "label": "Tên",
    "status": "Trạng thái",
    "sockets_closed": "Kết nối bị ngắt",
    "holidays": "Ngày nghỉ",
    "extra_workdays": "Ngày làm bù",
    "custom": "Mẫu riêng",
}
_TARGETS = {
    "service": "Lĩnh vực",
    "counter": "Quầy",
    "device": "Thiết bị",
    "user": "Tài khoản",
    "token": "Mã truy cập #",
    "ticket": "Số",
    "dossier": "Hồ sơ",
}


def action_choices(found: list[str]) -> list[tuple[str, str]]:
    """(value, Vietnamese name) for the action filter: staff actions first, then the
    audit's own, by name."""
    others = sorted(
        {*found, *ACTION_NAMES} - set(QUEUE_ACTIONS), key=lambda a: ACTION_NAMES.get(a, a)
    )
    return [(a, ACTION_NAMES.get(a, a)) for a in QUEUE_ACTIONS + others]


def page_size(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and int(raw) in PAGE_SIZES else DEFAULT_PAGE


def _who(actor: str | None, names: dict[str, str]) -> str:
    if not actor:
        return "—"
    if actor == "cli":
        return "Dòng lệnh quản trị (motcua)"
    if actor.startswith("device:"):
        return f"Thiết bị {actor.removeprefix('device:')}"
    user = actor.removeprefix("user:")
    full = names.get(user)
    return f"{full} ({user})" if full else user


def _target(raw: str | None) -> str:
    if not raw:
        return ""
    kind, sep, rest = raw.partition(":")
    if sep and kind in _TARGETS:
        name = _TARGETS[kind]
        return f"{name}{rest}" if name.endswith("#") else f"{name} {rest}"
    if sep and kind == "settings":
        return "Cài đặt"
    return raw


def _value(v: Any, tz: Any) -> str:
    if isinstance(v, bool):
        return "có" if v else "không"
    if isinstance(v, list):
        return ", ".join(_value(x, tz) for x in v) or "—"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_value(x, tz)}" for k, x in v.items())
    if isinstance(v, float):
        return f"{v:g}".replace(".", ",")
    if isinstance(v, str) and len(v) >= 25 and v[4:5] == "-" and "T" in v:
        try:
            return parse_iso(v).astimezone(tz).strftime("%H:%M:%S %d/%m/%Y")
        except ValueError:
            return v
    return str(v)


def _ticket_details(
    action: str, d: dict[str, Any], services: dict[str, str]
) -> list[tuple[str, str]]:
    if action == "transfer":
        if d.get("to_counter") is not None:
            return [("Chuyển đến", f"Quầy {d['to_counter']}")]
        code = str(d.get("to_service"))
        return [("Chuyển đến", f"Lĩnh vực {services.get(code, code)}")]
    if action == "recall" and "recall" in d:
        return [("Lần gọi lại", str(d["recall"]))]
    if action == "call" and d.get("by_label"):
        return [("Cách gọi", "Gọi theo số")]
    return []


def present(
    rows: list[dict[str, Any]], names: dict[str, str], services: dict[str, str], tz: Any
) -> list[dict[str, Any]]:
    """Rows of `store.audit_log.search` as the page shows them."""
    out = []
    for r in rows:
        action = r["action"]
        detail = r["detail"] or {}
        if r["src"] == "t":
            target = f"Số {r['label']} · Quầy {r['counter']}"
            details = _ticket_details(action.removeprefix(TICKET_PREFIX), detail, services)
        elif r["src"] == "c":
            target = f"Quầy {r['counter']}"
            reason = r["reason"]
            known = reason in {str(p) for p in PauseReason}
            details = [("Lý do", t(f"staff.reason.{reason}", "vi") if known else reason)]
            details = details if reason else []
        else:
            target = _target(r["target"])
            details = [(DETAIL_NAMES.get(k, k), _value(v, tz)) for k, v in detail.items()]
        out.append(
            {
                "at": r["at"],
                "who": _who(r["actor"], names),
                "what": ACTION_NAMES.get(action, action),
                "target": target,
                "details": details,
                "ip": r["ip"] or "",
            }
        )
    return out
