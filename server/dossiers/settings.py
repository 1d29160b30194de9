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
      imports:               # what one uploaded file may cost (see dossiers.sheets)
        max_rows: 100000     # data rows in one file (a year of one center ≈ 87,000)
        max_file_mb: 64      # the file as uploaded
        max_sheet_mb: 256    # an XLSX sheet's XML once unzipped
        max_strings_mb: 32   # an XLSX's shared strings once unzipped
        max_cell_chars: 4000 # one cell (longest real field: a procedure name, ≈ 600)
        runner: auto         # process | thread | auto (process under gevent)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.config import Config, ConfigError, shown
from server.dossiers.calendar import CalendarError, WorkCalendar
from server.dossiers.sheets import MIB, Limits
from server.per_config import PerConfig


@dataclass(frozen=True)
class DossierSettings:
    place: str
    contact: str
    stale_days: int
    due_soon_days: int
    idle_seconds: int
    phone_digits: int
    import_limits: Limits = Limits()
    import_runner: str = "auto"


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
    known = {"place", "contact", "stale_days", "due_soon_days", "lookup", "imports"}
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
    limits, runner = _imports(raw.get("imports") or {})
    return DossierSettings(
        import_limits=limits,
        import_runner=runner,
        place=_text(raw, "place", "dossiers", f"Quầy Trả kết quả – {cfg.center_name}"),
        contact=_text(raw, "contact", "dossiers", f"Quầy hướng dẫn – {cfg.center_name}"),
        stale_days=_int(raw, "stale_days", "dossiers", 3, 1, 60),
        due_soon_days=_int(raw, "due_soon_days", "dossiers", 2, 0, 60),
        idle_seconds=_int(lookup, "idle_seconds", "dossiers.lookup", 60, 10, 3600),
        phone_digits=digits,
    )


RUNNERS = ("auto", "process", "thread")


def _imports(section: Any) -> tuple[Limits, str]:
    where = "dossiers.imports"
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a mapping")
    known = {
        "max_rows",
        "max_file_mb",
        "max_sheet_mb",
        "max_strings_mb",
        "max_cell_chars",
        "runner",
    }
    for key in section:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")
    runner = section.get("runner", "auto")
    if runner not in RUNNERS:
        raise ConfigError(f"{where}.runner: one of {', '.join(RUNNERS)}, got {shown(runner)}")
    return (
        Limits(
            max_rows=_int(section, "max_rows", where, 100_000, 1, 1_000_000),
            max_bytes=_int(section, "max_file_mb", where, 64, 1, 1024) * MIB,
            max_sheet_bytes=_int(section, "max_sheet_mb", where, 256, 1, 4096) * MIB,
            max_strings_bytes=_int(section, "max_strings_mb", where, 32, 1, 4096) * MIB,
            # below the csv module's own field limit (131,072), which stays the backstop
            max_cell_chars=_int(section, "max_cell_chars", where, 4000, 100, 100_000),
        ),
        runner,
    )


def _build(cfg: Config) -> tuple[DossierSettings, WorkCalendar]:
    try:
        calendar = WorkCalendar.from_config(
            cfg, use_vn_holidays=getattr(cfg, "use_vn_holidays", True)
        )
    except CalendarError as exc:
        raise ConfigError(f"opening_hours: {exc}") from None
    return parse_settings(cfg), calendar


_entry: PerConfig[tuple[DossierSettings, WorkCalendar]] = PerConfig(_build)


def settings(cfg: Config) -> DossierSettings:
    return _entry(cfg)[0]


def calendar(cfg: Config) -> WorkCalendar:
    return _entry(cfg)[1]
