"""What a person reads of a report: Vietnamese words, the center's local time and
Vietnamese numbers.

The JSON API keeps machine codes (``long_wait``), ISO dates and UTC instants, and plain
numbers, so software can use them.  Everything a supervisor reads — the report page's
tables and heading, the CSV and XLSX downloads — goes through here instead:

- a code that has its label beside it (a pause's or a rating's reason, a channel) is
  left out, and a code alone (a counter's state) is replaced by its label;
- an instant (``generated_at``, ``at``, ``state_since``) is the center's local time,
  "07/12/2026 02:50"; a day (``day``, ``from``, ``to``) is "07/12/2026";
- numbers are written the Vietnamese way: "86.972", "16,6"; shares have two decimals,
  rounded half up as provinces print them ("99,68%"; 1 of 800 is "0,13%").

The XLSX keeps numbers as numbers (with a number format, so a spreadsheet can add them
up) and writes only words, dates and times as text.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ..clock import parse_iso
from ..i18n import catalog
from ..i18n import t as text

DATE = "%d/%m/%Y"
DATETIME = "%d/%m/%Y %H:%M"
#: Codes that a row also carries as words (``label``, ``name``, ``reason_label``).
TWINNED = {"reason": ("label", "reason_label"), "channel": ("name",)}
#: Codes shown as their label: key → catalog prefix.
LABELLED = {
    "state": "reports.counter_state.",
    "pause_reason": "reports.pause.",
    "level": "rating.level.",
    "timeliness": "dossier.timeliness.",
}
#: Keys holding an instant (UTC ISO) and a calendar day (YYYY-MM-DD).
INSTANTS = ("at", "generated_at", "state_since")
DAYS = ("day", "from", "to")
EMPTY = "–"


def is_share(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    return last == "pct" or last.startswith("pct_")


def is_instant(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    return last in INSTANTS or last.endswith("_at")


def share(value: float | int | Decimal | None) -> Decimal | None:
    """A percentage with two decimals, rounded half up (from its decimal text, so
    0.125 stays 0.125 and becomes 0,13 — not binary float's 0,12)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def number(value: int | float | Decimal, decimals: int | None = None) -> str:
    """86972 → "86.972"; 16.6 → "16,6"; with ``decimals``, exactly that many."""
    d = Decimal(str(value))
    if decimals is not None:
        d = d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    whole, _, frac = f"{abs(d):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = sign + ".".join(groups)
    return f"{out},{frac}" if frac else out


def percent(value: float | int | Decimal | None) -> str:
    rounded = share(value)
    return EMPTY if rounded is None else number(rounded, 2) + "%"


def local_time(value: str, tz: ZoneInfo) -> str:
    return parse_iso(value).astimezone(tz).strftime(DATETIME)


def local_day(value: str | date) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return day.strftime(DATE)


def label(key: str, value: Any, lang: str) -> str | None:
    """The words for a code column (None: not a code column)."""
    last = key.rsplit(".", 1)[-1]
    prefix = LABELLED.get(last)
    if prefix is None or value is None:
        return None
    name = f"{prefix}{value}"
    return text(name, lang) if name in catalog() else str(value)


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns a person reads: every key of the rows, less codes whose words are in
    another column of the same rows."""
    keys: list[str] = []
    for r in rows:
        keys.extend(c for c in r if c not in keys)
    return [k for k in keys if not any(twin in keys for twin in TWINNED.get(k, ()))]


def cell_text(key: str, value: Any, lang: str, tz: ZoneInfo) -> str:
    """One cell as a person reads it (page, CSV)."""
    if value is None or value == "":
        return "" if value == "" else EMPTY
    words = label(key, value, lang)
    if words is not None:
        return words
    if isinstance(value, bool):
        return text("reports.yes" if value else "reports.no", lang)
    if isinstance(value, int | float | Decimal):
        return percent(value) if is_share(key) else number(value)
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime(DATETIME)
    if isinstance(value, date):
        return local_day(value)
    if isinstance(value, str):
        last = key.rsplit(".", 1)[-1]
        try:
            if is_instant(key):
                return local_time(value, tz)
            if last in DAYS:
                return local_day(value)
        except ValueError:
            return value
    return str(value)


def cell_xlsx(key: str, value: Any, lang: str, tz: ZoneInfo) -> tuple[Any, str | None]:
    """(value, number format) for a workbook: numbers stay numbers, shares are
    fractions shown as percentages with two decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        shown = cell_text(key, value, lang, tz)
        return ("" if shown == EMPTY else shown), None
    if is_share(key):
        rounded = share(value)
        assert rounded is not None
        return float(rounded / 100), "0.00%"
    if isinstance(value, int):
        return value, "#,##0"
    return value, "#,##0.0"


def range_text(report: dict[str, Any], lang: str) -> str:
    """ "Từ ngày 01/11/2026 đến ngày 30/11/2026", or the one day."""
    if "from" in report:
        first, last = local_day(report["from"]), local_day(report["to"])
        if first == last:
            return first
        return f"{text('reports.from', lang)} {first} {text('reports.to', lang).lower()} {last}"
    return local_day(report["day"]) if report.get("day") else ""


def generated_text(report: dict[str, Any], lang: str, tz: ZoneInfo) -> str:
    at = report.get("generated_at")
    return text("reports.generated", lang, at=local_time(at, tz)) if at else ""
