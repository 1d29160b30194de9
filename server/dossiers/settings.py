"""The `dossiers:` section of config.yaml, validated with messages that name the key, and
the center's working calendar built once per configuration.

    dossiers:
      place: "Quầy Trả kết quả – Trung tâm Phục vụ hành chính công"  # where results are collected
      contact: "Quầy hướng dẫn, 0203 3 888 999"  # whom to contact about a supplement
      stale_days: 3          # watch: no status change for this many working days
      due_soon_days: 2       # watch: due within this many working days
      lookup:
        idle_seconds: 60     # the touchscreen returns to its start screen after this
        phone_digits: 0      # 3 or 4: the lookup also asks for the phone's last digits
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from server.config import Config, ConfigError, shown
from server.dossiers.calendar import CalendarError, WorkCalendar


@dataclass(frozen=True)
class DossierSettings:
    place: str
    contact: str
    stale_days: int
    due_soon_days: int
    idle_seconds: int
    phone_digits: int


def _int(section: dict[str, Any], key: str, where: str, default: int, lo: int, hi: int) -> int:
    value = section.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: expected a whole number {lo}–{hi}, got {shown(value)}")
    return value


def _text(section: dict[str, Any], key: str, where: str, default: str) -> str:
    value = section.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: expected non-empty text, got {shown(value)}")
    return value.strip()


def parse_settings(cfg: Config) -> DossierSettings:
    raw = cfg.extra.get("dossiers") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"dossiers: expected a mapping, got {type(raw).__name__}")
    known = {"place", "contact", "stale_days", "due_soon_days", "lookup"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"dossiers.{key}: unknown key (known: {', '.join(sorted(known))})")
    lookup = raw.get("lookup") or {}
    if not isinstance(lookup, dict):
        raise ConfigError("dossiers.lookup: expected a mapping")
    for key in lookup:
        if key not in ("idle_seconds", "phone_digits"):
            raise ConfigError(f"dossiers.lookup.{key}: unknown key (idle_seconds, phone_digits)")
    digits = _int(lookup, "phone_digits", "dossiers.lookup", 0, 0, 6)
    if digits in (1, 2):
        raise ConfigError("dossiers.lookup.phone_digits: 0 (off) or 3–6 digits")
    return DossierSettings(
        place=_text(raw, "place", "dossiers", f"Quầy Trả kết quả – {cfg.center_name}"),
        contact=_text(raw, "contact", "dossiers", f"Quầy hướng dẫn – {cfg.center_name}"),
        stale_days=_int(raw, "stale_days", "dossiers", 3, 1, 60),
        due_soon_days=_int(raw, "due_soon_days", "dossiers", 2, 0, 60),
        idle_seconds=_int(lookup, "idle_seconds", "dossiers.lookup", 60, 10, 3600),
        phone_digits=digits,
    )


_lock = threading.Lock()
_cache: dict[int, tuple[Config, DossierSettings, WorkCalendar]] = {}


def _entry(cfg: Config) -> tuple[Config, DossierSettings, WorkCalendar]:
    """Config is frozen but holds a dict (unhashable), so entries are keyed by identity
    and keep the Config alive, which makes the id stable for the cache's lifetime."""
    with _lock:
        hit = _cache.get(id(cfg))
        if hit is not None and hit[0] is cfg:
            return hit
    try:
        calendar = WorkCalendar.from_config(
            cfg, use_vn_holidays=getattr(cfg, "use_vn_holidays", True)
        )
    except CalendarError as exc:
        raise ConfigError(f"opening_hours: {exc}") from None
    entry = (cfg, parse_settings(cfg), calendar)
    with _lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[id(cfg)] = entry
    return entry


def settings(cfg: Config) -> DossierSettings:
    return _entry(cfg)[1]


def calendar(cfg: Config) -> WorkCalendar:
    return _entry(cfg)[2]
