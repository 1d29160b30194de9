"""Settings the admin pages own: priority classes, extra days off and make-up working
days, and SMS templates.

config.yaml gives their first values; once an admin saves one, the database copy (the
`setting` table) wins, because the database is the source of truth for what the admin
pages edit.  The effective Config is rebuilt with ``dataclasses.replace`` at start and
after every save, and swapped into the app context in one assignment, so a request sees
either the old or the new settings, never half of each."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from datetime import date
from typing import Any

from .config import Config, PriorityClass
from .errors import BadRequest
from .store import Database, catalog

log = logging.getLogger(__name__)

PRIORITY_CLASSES = "priority_classes"
HOLIDAYS = "holidays"
EXTRA_WORKDAYS = "extra_workdays"
SMS_TEMPLATES = "sms_templates"
KEYS = (PRIORITY_CLASSES, HOLIDAYS, EXTRA_WORKDAYS, SMS_TEMPLATES)
#: The base (file) config is kept here in app.extensions to re-apply overrides on it.
BASE_KEY = "motcua.base_cfg"

_CODE = re.compile(r"^[A-Za-z0-9_]{1,16}$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def load(db: Database) -> dict[str, Any]:
    """The saved overrides (only keys an admin has saved), parsed from JSON."""
    out: dict[str, Any] = {}
    with db.connection() as conn:
        for key in KEYS:
            raw = catalog.setting(conn, key)
            if raw is None:
                continue
            try:
                out[key] = json.loads(raw)
            except json.JSONDecodeError:
                log.error("setting %s is not valid JSON; the config value is used", key)
    return out


def effective(base: Config, overrides: dict[str, Any]) -> Config:
    """The config with the saved overrides applied."""
    changes: dict[str, Any] = {}
    if PRIORITY_CLASSES in overrides:
        changes["priority_classes"] = tuple(
            PriorityClass(p["code"], p["name_vi"], p["name_en"])
            for p in overrides[PRIORITY_CLASSES]
        )
    if HOLIDAYS in overrides or EXTRA_WORKDAYS in overrides:
        # Added to config.yaml's days (the official swaps it ships), not instead of them:
        # a center that saved its own days still gets next year's swaps from an upgrade.
        # A date the admin put in one list leaves the other one.
        off = {date.fromisoformat(d) for d in overrides.get(HOLIDAYS) or []}
        on = {date.fromisoformat(d) for d in overrides.get(EXTRA_WORKDAYS) or []}
        changes["holidays"] = tuple(sorted((set(base.holidays) - on) | off))
        changes["extra_workdays"] = tuple(sorted((set(base.extra_workdays) - off) | on))
    if SMS_TEMPLATES in overrides:
        changes["extra"] = {**base.extra, SMS_TEMPLATES: dict(overrides[SMS_TEMPLATES])}
    return replace(base, **changes) if changes else base


def for_database(base: Config, db: Database) -> Config:
    """The config a command works with: config.yaml plus what the admin pages saved, as
    the server sees it (``motcua import-dossiers`` must count due dates on the same days
    off as the API)."""
    return effective(base, load(db))


def base_config(app: Any) -> Config:
    """config.yaml as loaded, before the saved overrides."""
    return app.extensions.get(BASE_KEY) or app.extensions["motcua"].cfg


def saved_days(db: Database) -> tuple[list[date], list[date]]:
    """(days off, make-up working days) an admin saved, without config.yaml's."""
    saved = load(db)
    return (
        [date.fromisoformat(d) for d in saved.get(HOLIDAYS) or []],
        [date.fromisoformat(d) for d in saved.get(EXTRA_WORKDAYS) or []],
    )


def apply(app: Any) -> Config:
    """Rebuild ctx.cfg from the base config and the saved overrides (start, after saves)."""
    context = app.extensions["motcua"]
    base = app.extensions.setdefault(BASE_KEY, context.cfg)
    context.cfg = effective(base, load(context.db))
    return context.cfg


def sms_templates(cfg: Config) -> dict[str, str]:
    """SMS templates by notice kind: config `sms.templates`, then the admin's edits.
    Kinds absent here use the catalog defaults (server.notify.notices)."""
    sms = cfg.extra.get("sms")
    base = sms.get("templates") if isinstance(sms, dict) else None
    out = {k: str(v) for k, v in base.items()} if isinstance(base, dict) else {}
    out.update(cfg.extra.get(SMS_TEMPLATES) or {})
    return out


def _save(db: Database, key: str, value: Any) -> None:
    with db.write() as conn:
        catalog.set_setting(conn, key, json.dumps(value, ensure_ascii=False))


# --- priority classes ------------------------------------------------------------------------
def parse_priority_classes(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows from the form (blank rows dropped) → validated classes, in order."""
    out: list[dict[str, str]] = []
    for i, row in enumerate(rows, start=1):
        code = (row.get("code") or "").strip()
        name_vi = " ".join((row.get("name_vi") or "").split())
        name_en = " ".join((row.get("name_en") or "").split())
        if not (code or name_vi or name_en):
            continue
        if not _CODE.match(code) or code == "normal":
            raise BadRequest(
                f"Dòng {i}: mã “{code}” chỉ gồm chữ, số, dấu _ (1–16 ký tự) và khác “normal”.",
                code="invalid_field",
                field="code",
            )
        if any(p["code"] == code for p in out):
            raise BadRequest(f"Dòng {i}: mã “{code}” bị trùng.", code="invalid_field", field="code")
        if not name_vi or len(name_vi) > 80 or len(name_en) > 80:
            raise BadRequest(
                f"Dòng {i}: hãy nhập tên tiếng Việt (tối đa 80 ký tự).",
                code="invalid_field",
                field="name_vi",
            )
        out.append({"code": code, "name_vi": name_vi, "name_en": name_en or name_vi})
    return out


def save_priority_classes(db: Database, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    classes = parse_priority_classes(rows)
    _save(db, PRIORITY_CLASSES, classes)
    return classes


# --- days off and make-up days ---------------------------------------------------------------
def parse_days(raw: str, label: str) -> list[str]:
    """One date a line (or separated by commas): YYYY-MM-DD or dd/mm/yyyy → sorted ISO,
    each inside the dates the dossier clock accepts."""
    from .dossiers.inputs import date_window, dmy

    first, last = date_window()
    out: set[date] = set()
    for part in re.split(r"[\s,;]+", raw.strip()):
        if not part:
            continue
        m = _DMY.match(part)
        try:
            day = date(int(m[3]), int(m[2]), int(m[1])) if m else date.fromisoformat(part)
        except ValueError:
            raise BadRequest(
                f"{label}: “{part}” không phải ngày hợp lệ (dd/mm/yyyy hoặc yyyy-mm-dd).",
                code="invalid_field",
            ) from None
        if not first <= day <= last:
            raise BadRequest(
                f"{label}: ngày {dmy(day)} nằm ngoài khoảng cho phép ({dmy(first)} – {dmy(last)}).",
                code="invalid_field",
            )
        out.add(day)
    if len(out) > 1000:
        raise BadRequest(f"{label}: tối đa 1000 ngày.", code="invalid_field")
    return [d.isoformat() for d in sorted(out)]


def save_days(db: Database, holidays_raw: str, workdays_raw: str) -> tuple[list[str], list[str]]:
    holidays = parse_days(holidays_raw, "Ngày nghỉ thêm")
    workdays = parse_days(workdays_raw, "Ngày làm bù")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise BadRequest(
            f"Ngày {both[0]} vừa là ngày nghỉ vừa là ngày làm bù.", code="invalid_field"
        )
    _save(db, HOLIDAYS, holidays)
    _save(db, EXTRA_WORKDAYS, workdays)
    return holidays, workdays


# --- SMS templates ---------------------------------------------------------------------------
def save_sms_templates(db: Database, texts: dict[str, str]) -> dict[str, str]:
    """Keep the non-blank templates (a blank one falls back to the default text),
    after checking each has the placeholders its kind needs."""
    from .notify.notices import NoticeKind, check_templates

    kinds = {k.value for k in NoticeKind}
    unknown = [k for k in texts if k not in kinds]
    if unknown:
        raise BadRequest(f"Không có loại tin nhắn “{unknown[0]}”.", code="invalid_field")
    kept = {k: v.strip() for k, v in texts.items() if v and v.strip()}
    for kind, value in kept.items():
        if len(value) > 480:
            raise BadRequest(
                f"Mẫu “{kind}” quá dài (tối đa 480 ký tự).", code="invalid_field", field=kind
            )
    check_templates(kept)
    _save(db, SMS_TEMPLATES, kept)
    return kept
