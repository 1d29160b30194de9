"""What the admin pages change: services, counters, staff accounts and devices.

Forms arrive as text; every function here turns it into typed values with a message
that names the field in Vietnamese, then writes in one transaction.  Rules that keep
the hall working are enforced here, not in the page: a counter with a citizen at it
cannot be switched off, the last active admin cannot be removed, a number range must
fit its width (the same rules config.yaml's seed follows)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from . import accounts
from .clock import iso
from .config import DAY_NAMES
from .errors import BadRequest, Conflict, NotFound, is_whole
from .protocol import DeviceKind, Role
from .store import Database, catalog
from .store import accounts as account_store
from .store import sessions as session_store
from .store import staff as staff_store

Form = Mapping[str, Any]

_CODE = re.compile(r"^[A-Za-z0-9_]{1,16}$")
_ZONE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_SESSION = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
DAY_LABELS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
#: Where each device kind's page lives (the pairing link is /<page>/pair?token=…).
DEVICE_PAGES = {
    DeviceKind.KIOSK: "kiosk",
    DeviceKind.DISPLAY: "board",
    DeviceKind.LOOKUP: "lookup",
    DeviceKind.COUNTER: "pad",
}


def bad(field: str, message: str) -> BadRequest:
    return BadRequest(message, code="invalid_field", field=field)


def text(form: Form, name: str, label: str, *, required: bool = True, max_len: int = 120) -> str:
    value = " ".join(str(form.get(name) or "").split())
    if required and not value:
        raise bad(name, f"Hãy nhập {label}.")
    if len(value) > max_len:
        raise bad(name, f"{label.capitalize()} tối đa {max_len} ký tự.")
    return value


def integer(
    form: Form, name: str, label: str, lo: int, hi: int, *, required: bool = True
) -> int | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        if required:
            raise bad(name, f"Hãy nhập {label}.")
        return None
    if not re.fullmatch(r"-?\d+", raw):
        raise bad(name, f"{label.capitalize()} phải là số nguyên.")
    value = int(raw)
    if not lo <= value <= hi:
        raise bad(name, f"{label.capitalize()} phải từ {lo} đến {hi}.")
    return value


def checked(form: Form, name: str) -> bool:
    return str(form.get(name) or "") in ("1", "on", "true", "yes")


def number_list(raw: str, name: str, label: str) -> list[int]:
    """ "1, 2 3" → [1, 2, 3] (order kept, duplicates dropped)."""
    out: list[int] = []
    for part in re.split(r"[\s,;]+", raw.strip()):
        if not part:
            continue
        if not is_whole(part):
            raise bad(name, f"{label.capitalize()}: “{part}” không phải số quầy.")
        if int(part) not in out:
            out.append(int(part))
    return out


def code_list(raw: str) -> list[str]:
    return list(dict.fromkeys(p.upper() for p in re.split(r"[\s,;]+", raw.strip()) if p))


# --- services --------------------------------------------------------------------------------
def _hours(form: Form) -> dict[str, Any] | None:
    if not checked(form, "own_hours"):
        return None
    days = [d for d in DAY_NAMES if checked(form, f"day_{d}")]
    if not days:
        raise bad("days", "Giờ riêng: chọn ít nhất một ngày làm việc.")
    sessions: list[tuple[time, time]] = []
    for part in re.split(r"[,;\n]+", str(form.get("sessions") or "")):
        if not part.strip():
            continue
        m = _SESSION.match(part)
        if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
            raise bad("sessions", f"Buổi làm việc “{part.strip()}” phải có dạng 07:00-11:30.")
        a, b = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
        if b <= a:
            raise bad("sessions", f"Buổi “{part.strip()}” kết thúc trước khi bắt đầu.")
        sessions.append((a, b))
    if not sessions:
        raise bad("sessions", "Giờ riêng: nhập ít nhất một buổi, ví dụ 07:00-11:30, 13:30-17:00.")
    sessions.sort()
    for (_, e1), (s2, _) in zip(sessions, sessions[1:], strict=False):
        if s2 < e1:
            raise bad("sessions", "Các buổi làm việc bị chồng lên nhau.")
    return {
        "days": days,
        "sessions": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in sessions],
        "issue_before_min": _or(
            integer(form, "issue_before_min", "số phút lấy số trước giờ", 0, 240, required=False),
            30,
        ),
        "stop_before_min": _or(
            integer(form, "stop_before_min", "số phút dừng trước giờ", 0, 240, required=False),
            0,
        ),
    }


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def save_service(db: Database, form: Form, *, new: bool) -> dict[str, Any]:
    """Create or update a service from the admin form; returns the saved row."""
    code = str(form.get("code") or "").strip().upper()
    if not _CODE.match(code):
        raise bad("code", "Mã lĩnh vực gồm chữ, số, dấu _ (1–16 ký tự).")
    width = integer(form, "width", "số chữ số", 1, 6)
    assert width is not None
    first = integer(form, "first_number", "số đầu", 0, 999_999)
    last = integer(form, "last_number", "số cuối", 0, 999_999)
    assert first is not None and last is not None
    if last < first:
        raise bad("last_number", "Số cuối không được nhỏ hơn số đầu.")
    if len(str(last)) > width:
        raise bad("last_number", f"Số cuối {last} không vừa {width} chữ số.")
    prefix = str(form.get("prefix") or "").strip()
    if len(prefix) > 4 or not re.fullmatch(r"[A-Za-z0-9]*", prefix):
        raise bad("prefix", "Tiền tố tối đa 4 chữ hoặc số.")
    row = {
        "code": code,
        "name_vi": text(form, "name_vi", "tên tiếng Việt"),
        "name_en": text(form, "name_en", "tên tiếng Anh", required=False) or code,
        "prefix": prefix,
        "width": width,
        "first_number": first,
        "last_number": last,
        "daily_cap": integer(
            form, "daily_cap", "số phiếu tối đa mỗi ngày", 1, 999_999, required=False
        ),
        "hours": _hours(form),
        "active": checked(form, "active"),
        "position": integer(form, "position", "thứ tự hiển thị", 0, 999, required=False) or 0,
    }
    with db.write() as conn:
        exists = catalog.service(conn, code) is not None
        if new and exists:
            raise Conflict(f"Lĩnh vực mã {code} đã có.", code="service_exists", field="code")
        if not new and not exists:
            raise NotFound(f"Không có lĩnh vực {code}.", code="unknown_service")
        clash = [
            s["code"]
            for s in catalog.services(conn)
            if s["code"] != code and s["active"] and s["prefix"] == prefix and s["width"] == width
        ]
        if clash and row["active"]:
            raise bad(
                "prefix",
                f"Tiền tố “{prefix}” và độ dài số trùng lĩnh vực {clash[0]}: "
                "hai lĩnh vực sẽ in cùng một số thứ tự.",
            )
        catalog.upsert_service(conn, row)
        saved = catalog.service(conn, code)
    assert saved is not None
    return saved


# --- counters --------------------------------------------------------------------------------
def save_counter(db: Database, form: Form, *, new: bool) -> dict[str, Any]:
    number = integer(form, "number", "số quầy", 1, 9999)
    assert number is not None
    zone = str(form.get("zone") or "").strip()
    if not _ZONE.match(zone):
        raise bad("zone", "Khu vực gồm chữ, số, - hoặc _ (1–16 ký tự), ví dụ A.")
    services = code_list(str(form.get("services") or ""))
    active = checked(form, "active")
    with db.write() as conn:
        existing = staff_store.any_counter(conn, number)
        if new and existing:
            raise Conflict(f"Quầy số {number} đã có.", code="counter_exists", field="number")
        if not new and not existing:
            raise NotFound(f"Không có quầy số {number}.", code="unknown_counter")
        known = {s["code"] for s in catalog.services(conn)}
        unknown = [c for c in services if c not in known]
        if unknown:
            raise bad("services", f"Không có lĩnh vực mã {', '.join(unknown)}.")
        if not active and staff_store.tickets_at_counter(conn, number):
            raise Conflict(
                f"Quầy số {number} đang phục vụ công dân; hãy hoàn thành trước khi ngừng dùng quầy.",
                code="counter_busy",
            )
        row = {
            "number": number,
            "name": text(form, "name", "tên quầy", max_len=40) or f"Quầy {number}",
            "zone": zone,
            "services": services,
            "active": active,
        }
        staff_store.save_counter(conn, row)
        saved = staff_store.any_counter(conn, number)
    assert saved is not None
    return saved


def set_counter_services(db: Database, number: int, codes: Any) -> tuple[list[str], list[str]]:
    """Reassign the services a counter calls, in order of preference: (old, new)."""
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise BadRequest("services phải là danh sách mã lĩnh vực.", code="bad_field")
    new = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    with db.write() as conn:
        c = catalog.counter(conn, number)
        if c is None:
            raise NotFound(f"Không có quầy số {number}.", code="unknown_counter")
        known = {s["code"] for s in catalog.services(conn, active_only=True)}
        unknown = [x for x in new if x not in known]
        if unknown:
            raise BadRequest(
                f"Không có lĩnh vực đang hoạt động mã {', '.join(unknown)}.",
                code="unknown_service",
            )
        catalog.set_counter_services(conn, number, new)
    return c["services"], new


def set_service_closed(db: Database, code: str, day: str | None) -> dict[str, Any]:
    with db.write() as conn:
        svc = catalog.service(conn, code)
        if svc is None or not svc["active"]:
            raise NotFound(f"Không có lĩnh vực '{code}'.", code="unknown_service")
        catalog.set_service_closed(conn, code, day)
        return {**svc, "closed_on": day}


# --- staff accounts --------------------------------------------------------------------------
def _counters_exist(db: Database, numbers: list[int]) -> None:
    with db.connection() as conn:
        known = {c["number"] for c in staff_store.all_counters(conn)}
    missing = [n for n in numbers if n not in known]
    if missing:
        raise bad("counters", f"Không có quầy số {', '.join(map(str, missing))}.")


def _role(form: Form) -> str:
    role = str(form.get("role") or "")
    if role not in {str(r) for r in Role}:
        raise bad("role", "Chọn vai trò: cán bộ, giám sát hoặc quản trị.")
    return role


def create_user(db: Database, form: Form, now: datetime) -> dict[str, Any]:
    username = str(form.get("username") or "").strip().lower()
    role = _role(form)
    counters = number_list(str(form.get("counters") or ""), "counters", "quầy")
    _counters_exist(db, counters)
    if str(form.get("password") or "") != str(form.get("password2") or ""):
        raise bad("password2", "Mật khẩu nhập lại không khớp.")
    accounts.add_user(
        db,
        username,
        role,
        str(form.get("password") or ""),
        now,
        full_name=text(form, "full_name", "họ tên", required=False, max_len=80),
        counters=counters,
    )
    return user_by_name(db, username)


def user_by_name(db: Database, username: str) -> dict[str, Any]:
    with db.connection() as conn:
        return _user(conn, username)


def _user(conn: Any, username: str) -> dict[str, Any]:
    u = account_store.user_by_name(conn, username)
    if u is None:
        raise NotFound(f"Không có tài khoản {username}.", code="unknown_user")
    return u


def _active_admins(conn: Any) -> list[str]:
    return [
        u["username"] for u in account_store.users(conn) if u["active"] and u["role"] == Role.ADMIN
    ]


def update_user(db: Database, username: str, form: Form, actor_id: int) -> dict[str, Any]:
    role = _role(form)
    counters = number_list(str(form.get("counters") or ""), "counters", "quầy")
    _counters_exist(db, counters)
    full_name = text(form, "full_name", "họ tên", required=False, max_len=80)
    with db.write() as conn:
        u = _user(conn, username)
        if u["role"] == Role.ADMIN and role != Role.ADMIN and _active_admins(conn) == [username]:
            raise Conflict(
                "Không thể bỏ quyền quản trị của quản trị viên cuối cùng.", code="last_admin"
            )
        if u["id"] == actor_id and role != u["role"]:
            raise Conflict("Không thể tự đổi vai trò của chính mình.", code="own_role")
        account_store.update_user(conn, u["id"], role=role, counters=counters, full_name=full_name)
        saved = account_store.user(conn, u["id"])
    assert saved is not None
    return saved


def set_user_active(
    db: Database, username: str, active: bool, actor_id: int, now: datetime
) -> dict[str, Any]:
    """Switch an account on or off.  Switching it off also revokes its sessions, so
    switching it on again does not bring back a browser (or a copied cookie) from before."""
    with db.write() as conn:
        u = _user(conn, username)
        if not active:
            if u["id"] == actor_id:
                raise Conflict("Không thể tự khoá tài khoản của chính mình.", code="own_account")
            if u["role"] == Role.ADMIN and _active_admins(conn) == [username]:
                raise Conflict("Không thể khoá quản trị viên cuối cùng.", code="last_admin")
        account_store.update_user(conn, u["id"], active=int(active))
        if not active:
            session_store.revoke_user_sessions(conn, u["id"], iso(now))
        saved = account_store.user(conn, u["id"])
    assert saved is not None
    return saved


# --- devices ---------------------------------------------------------------------------------
def create_device(db: Database, form: Form, now: datetime) -> tuple[dict[str, Any], str]:
    name = str(form.get("name") or "").strip()
    kind = str(form.get("kind") or "")
    if kind not in {str(k) for k in DeviceKind}:
        raise bad("kind", "Chọn loại thiết bị: kiosk, bảng hiển thị, tra cứu hoặc đánh giá.")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", name):
        raise bad("name", "Tên thiết bị gồm chữ, số, . _ - (1–60 ký tự), ví dụ kiosk-2.")
    zone = str(form.get("zone") or "").strip() or None
    if zone is not None and (kind != DeviceKind.DISPLAY or not _ZONE.match(zone)):
        raise bad("zone", "Khu vực chỉ dành cho bảng hiển thị (chữ, số, - _), ví dụ A.")
    counter = integer(form, "counter", "quầy", 1, 9999, required=kind == DeviceKind.COUNTER)
    if counter is not None:
        # a rating pad belongs to a counter; a board with a counter is that counter's
        # screen (as `motcua device add NAME --kind display --counter N` makes it)
        if kind not in (DeviceKind.COUNTER, DeviceKind.DISPLAY):
            raise bad("counter", "Chỉ thiết bị đánh giá và màn hình quầy gắn với một quầy.")
        if zone is not None:
            raise bad(
                "counter",
                "Chọn khu vực (bảng hiển thị của sảnh) hoặc quầy (màn hình quầy), không cả hai.",
            )
        with db.connection() as conn:
            if catalog.counter(conn, counter) is None:
                raise bad("counter", f"Không có quầy số {counter}.")
    secret = accounts.add_device(db, name, kind, now, zone=zone, counter=counter)
    return device_by_name(db, name), secret


def device_by_name(db: Database, name: str) -> dict[str, Any]:
    with db.connection() as conn:
        d = account_store.device_by_name(conn, name)
    if d is None:
        raise NotFound(f"Không có thiết bị {name}.", code="unknown_device")
    return d


def rotate_device(db: Database, name: str, now: datetime) -> tuple[dict[str, Any], str]:
    d = device_by_name(db, name)
    secret = accounts.add_device(
        db, name, d["kind"], now, zone=d["zone"], counter=d["counter"], replace=True
    )
    return d, secret


def pairing_link(base_url: str, kind: str, secret: str) -> str:
    return f"{base_url}/{DEVICE_PAGES[DeviceKind(kind)]}/pair?token={secret}"
