"""Administration of the hall: services, counters, priority classes, days off, SMS
templates (staff accounts and devices are in admin_people.py).

Server-rendered forms: a wrong value re-shows the form with what was typed and a
message naming the field, so nothing typed is lost; every saved change is audited and
pushed to kiosks, boards and consoles."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from .. import administration, settings
from ..accounts import Identity
from ..config import DAY_NAMES
from ..context import ctx
from ..errors import MotcuaError
from ..hours import hours_to_json
from ..store import accounts as account_store
from ..store import catalog
from ..store import staff as staff_store
from .staffkit import ADMIN_ROLES, audit, blueprint, flash_redirect, page, render

bp = blueprint("admin")


def admin_render(template: str, status: int = 200, **params: Any):
    return render(
        template,
        status,
        nav="admin",
        day_names=DAY_NAMES,
        day_labels=administration.DAY_LABELS,
        **params,
    )


def form_page(
    template: str,
    section: str,
    form: dict[str, Any],
    *,
    new: bool,
    status: int = 200,
    message: str | None = None,
    **extra: Any,
):
    """A create/edit form; after a refused save, again with what was typed and the
    message naming the bad field."""
    return admin_render(
        template, status, form=form, new=new, message=message, section=section, **extra
    )


def missing_page(message: str):
    return admin_render("staff_error.html", 404, message=message)


def posted_form(key: str, value: object | None) -> tuple[dict[str, Any], bool]:
    """The posted form and whether it creates a new row; on an edit the row's key comes
    from the address, not from the (read-only) field."""
    form = request.form.to_dict()
    if value is not None:
        form[key] = str(value)
    return form, value is None


@bp.get("/admin")
@page(*ADMIN_ROLES)
def home(who: Identity):
    c = ctx()
    with c.db.read() as conn:
        counts = {
            "services": len(catalog.services(conn)),
            "counters": len(staff_store.all_counters(conn)),
            "users": len(account_store.users(conn)),
            "devices": len([d for d in account_store.devices(conn) if not d["revoked_at"]]),
        }
    return admin_render(
        "admin_home.html",
        counts=counts,
        priorities=len(c.cfg.priority_classes),
        holidays=len(c.cfg.holidays),
        workdays=len(c.cfg.extra_workdays),
        templates=len(settings.sms_templates(c.cfg)),
        section="home",
    )


# --- services -------------------------------------------------------------------------------------
def _service_form(s: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {
        "code": s["code"],
        "name_vi": s["name_vi"],
        "name_en": s["name_en"],
        "prefix": s["prefix"],
        "width": s["width"],
        "first_number": s["first_number"],
        "last_number": s["last_number"],
        "daily_cap": s["daily_cap"] or "",
        "position": s["position"],
        "active": "1" if s["active"] else "",
    }
    h = s.get("hours")
    form["own_hours"] = "1" if h else ""
    base = h or hours_to_json(ctx().cfg.hours)
    for d in base["days"]:
        form[f"day_{d}"] = "1"
    form["sessions"] = ", ".join(f"{a}-{b}" for a, b in base["sessions"])
    form["issue_before_min"] = base.get("issue_before_min", 30)
    form["stop_before_min"] = base.get("stop_before_min", 0)
    return form


@bp.get("/admin/services")
@page(*ADMIN_ROLES)
def services(who: Identity):
    with ctx().db.read() as conn:
        rows = catalog.services(conn)
    return admin_render("admin_services.html", services=rows, section="services")


@bp.get("/admin/services/new")
@page(*ADMIN_ROLES)
def service_new(who: Identity):
    blank = {
        "code": "",
        "name_vi": "",
        "name_en": "",
        "prefix": "",
        "width": 3,
        "first_number": 1,
        "last_number": 999,
        "daily_cap": None,
        "position": 0,
        "active": True,
        "hours": None,
    }
    return _service_form_page(_service_form(blank), new=True)


@bp.get("/admin/services/<code>")
@page(*ADMIN_ROLES)
def service_edit(who: Identity, code: str):
    with ctx().db.read() as conn:
        s = catalog.service(conn, code)
    if s is None:
        return missing_page(f"Không có lĩnh vực {code}.")
    return _service_form_page(_service_form(s), new=False)


def _service_form_page(form: dict[str, Any], *, new: bool, **kw: Any):
    return form_page("admin_service_form.html", "services", form, new=new, **kw)


@bp.post("/admin/services")
@bp.post("/admin/services/<code>")
@page(*ADMIN_ROLES)
def service_save(who: Identity, code: str | None = None):
    c = ctx()
    form, new = posted_form("code", code)
    try:
        saved = administration.save_service(c.db, form, new=new)
    except MotcuaError as exc:
        return _service_form_page(form, new=new, status=exc.status, message=exc.message)
    audit(
        who,
        "service_created" if new else "service_updated",
        f"service:{saved['code']}",
        {
            k: saved[k]
            for k in (
                "name_vi",
                "prefix",
                "width",
                "first_number",
                "last_number",
                "daily_cap",
                "active",
                "hours",
            )
        },
    )
    c.realtime.queue_changed(saved["code"])
    return flash_redirect(
        f"Đã lưu lĩnh vực {saved['code']} — {saved['name_vi']}.", "/admin/services"
    )


# --- counters -------------------------------------------------------------------------------------
def _counter_form(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": c["number"],
        "name": c["name"],
        "zone": c["zone"],
        "services": ", ".join(c["services"]),
        "active": "1" if c["active"] else "",
    }


def _counters_page(status: int = 200, **extra: Any):
    with ctx().db.read() as conn:
        rows = staff_store.all_counters(conn)
        names = {s["code"]: s["name_vi"] for s in catalog.services(conn)}
    return admin_render(
        "admin_counters.html",
        status,
        counters=rows,
        service_names=names,
        section="counters",
        **extra,
    )


@bp.get("/admin/counters")
@page(*ADMIN_ROLES)
def counters(who: Identity):
    return _counters_page()


@bp.get("/admin/counters/new")
@page(*ADMIN_ROLES)
def counter_new(who: Identity):
    return _counter_form_page(
        {"number": "", "name": "", "zone": "A", "services": "", "active": "1"}, new=True
    )


def _counter_form_page(form: dict[str, Any], *, new: bool, **kw: Any):
    with ctx().db.read() as conn:
        svc = catalog.services(conn)
    return form_page("admin_counter_form.html", "counters", form, new=new, all_services=svc, **kw)


@bp.get("/admin/counters/<int:number>")
@page(*ADMIN_ROLES)
def counter_edit(who: Identity, number: int):
    with ctx().db.read() as conn:
        row = staff_store.any_counter(conn, number)
    if row is None:
        return missing_page(f"Không có quầy số {number}.")
    return _counter_form_page(_counter_form(row), new=False)


@bp.post("/admin/counters")
@bp.post("/admin/counters/<int:number>")
@page(*ADMIN_ROLES)
def counter_save(who: Identity, number: int | None = None):
    c = ctx()
    form, new = posted_form("number", number)
    try:
        saved = administration.save_counter(c.db, form, new=new)
    except MotcuaError as exc:
        return _counter_form_page(form, new=new, status=exc.status, message=exc.message)
    audit(
        who,
        "counter_created" if new else "counter_updated",
        f"counter:{saved['number']}",
        {k: saved[k] for k in ("name", "zone", "services", "active")},
    )
    c.realtime.publish_counter(saved["number"])
    c.realtime.queue_changed(*saved["services"])
    return flash_redirect(f"Đã lưu {saved['name']}.", "/admin/counters")


# --- priority classes, days off, SMS templates ------------------------------------------------------
def _priority_rows(form: Any) -> list[dict[str, str]]:
    codes, vi, en = form.getlist("code"), form.getlist("name_vi"), form.getlist("name_en")
    return [{"code": a, "name_vi": b, "name_en": c} for a, b, c in zip(codes, vi, en, strict=False)]


@bp.get("/admin/priorities")
@page(*ADMIN_ROLES)
def priorities(who: Identity):
    rows = [
        {"code": p.code, "name_vi": p.name_vi, "name_en": p.name_en}
        for p in ctx().cfg.priority_classes
    ]
    return admin_render("admin_priorities.html", rows=rows + [{}] * 2, section="priorities")


@bp.post("/admin/priorities")
@page(*ADMIN_ROLES)
def priorities_save(who: Identity):
    rows = _priority_rows(request.form)
    try:
        saved = settings.save_priority_classes(ctx().db, rows)
    except MotcuaError as exc:
        return admin_render(
            "admin_priorities.html",
            exc.status,
            rows=rows,
            message=exc.message,
            section="priorities",
        )
    settings.apply(current_app)
    audit(
        who,
        "priority_classes_saved",
        "settings:priority_classes",
        {"codes": [p["code"] for p in saved]},
    )
    return flash_redirect(f"Đã lưu {len(saved)} đối tượng ưu tiên.", "/admin/priorities")


def _dates(days) -> str:
    return "\n".join(d.strftime("%d/%m/%Y") for d in days)


@bp.get("/admin/days")
@page(*ADMIN_ROLES)
def days(who: Identity):
    off, on = settings.saved_days(ctx().db)
    form = {"holidays": _dates(off), "workdays": _dates(on)}
    return admin_render("admin_days.html", form=form, section="days", shipped=_shipped())


def _shipped() -> dict[str, list[str]]:
    """config.yaml's days (the official swaps shipped with it), shown beside the form."""
    base = settings.base_config(current_app)
    return {
        "holidays": [d.strftime("%d/%m/%Y") for d in base.holidays],
        "workdays": [d.strftime("%d/%m/%Y") for d in base.extra_workdays],
    }


@bp.post("/admin/days")
@page(*ADMIN_ROLES)
def days_save(who: Identity):
    c = ctx()
    form = request.form.to_dict()
    try:
        holidays, workdays = settings.save_days(
            c.db, form.get("holidays", ""), form.get("workdays", "")
        )
    except MotcuaError as exc:
        return admin_render(
            "admin_days.html",
            exc.status,
            form=form,
            message=exc.message,
            section="days",
            shipped=_shipped(),
        )
    settings.apply(current_app)
    audit(who, "days_saved", "settings:days", {"holidays": holidays, "extra_workdays": workdays})
    with c.db.read() as conn:
        codes = [s["code"] for s in catalog.services(conn, active_only=True)]
    c.realtime.queue_changed(*codes)
    return flash_redirect(
        f"Đã lưu {len(holidays)} ngày nghỉ thêm và {len(workdays)} ngày làm bù.", "/admin/days"
    )


def _template_rows(texts: dict[str, str]) -> list[dict[str, str]]:
    from ..notify.notices import NoticeKind, default_templates

    defaults = default_templates("vi")
    return [
        {"kind": k.value, "text": texts.get(k.value, ""), "default": defaults[k]}
        for k in NoticeKind
    ]


TEMPLATE_NAMES = {
    "received": "Đã tiếp nhận hồ sơ",
    "ready": "Đã có kết quả",
    "supplement": "Yêu cầu bổ sung",
    "rejected": "Không được tiếp nhận",
    "late": "Xin lỗi trễ hạn",
}


@bp.get("/admin/templates")
@page(*ADMIN_ROLES)
def templates(who: Identity):
    rows = _template_rows(settings.sms_templates(ctx().cfg))
    return admin_render(
        "admin_templates.html", rows=rows, names=TEMPLATE_NAMES, section="templates"
    )


@bp.post("/admin/templates")
@page(*ADMIN_ROLES)
def templates_save(who: Identity):
    texts = {k[5:]: v for k, v in request.form.items() if k.startswith("text_")}
    try:
        saved = settings.save_sms_templates(ctx().db, texts)
    except MotcuaError as exc:
        return admin_render(
            "admin_templates.html",
            exc.status,
            rows=_template_rows(texts),
            names=TEMPLATE_NAMES,
            message=exc.message,
            section="templates",
        )
    settings.apply(current_app)
    audit(who, "templates_saved", "settings:sms_templates", {"custom": sorted(saved)})
    return flash_redirect("Đã lưu mẫu tin nhắn.", "/admin/templates")
