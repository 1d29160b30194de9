"""SMS texts about dossiers, from editable templates, with and without diacritics.

Many Vietnamese SMS gateways only take plain ASCII (and a Vietnamese text in UCS-2
costs 2–3 times the segments), so every notice can be rendered in both forms.  The
plain form is derived from the Vietnamese one, parameters included, so an admin edits
one template per kind.  The rules a notice must keep — above all that an apology for
a delay states its reason and the new return date — are enforced here, where every
notice is built, instead of in each caller.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from string import Formatter
from typing import Any
from zoneinfo import ZoneInfo

from server.errors import BadRequest
from server.i18n import catalog, t

log = logging.getLogger(__name__)

DATE_FORMAT = "%d/%m/%Y"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


class NoticeKind(StrEnum):
    RECEIVED = "received"
    READY = "ready"
    SUPPLEMENT = "supplement"
    REJECTED = "rejected"
    LATE = "late"


#: Parameters a kind needs even when a custom template leaves them out: the apology
#: for a delay must give the reason and the new return date.
MANDATORY: dict[NoticeKind, tuple[str, ...]] = {
    NoticeKind.RECEIVED: ("code",),
    NoticeKind.READY: ("code",),
    NoticeKind.SUPPLEMENT: ("code",),
    NoticeKind.REJECTED: ("code",),
    NoticeKind.LATE: ("reason", "new_due"),
}


class NoticeError(BadRequest):
    """A notice cannot be written: a parameter is missing or the template is wrong."""

    code = "invalid_notice"


# --- text ---------------------------------------------------------------------------
#: Letters NFD does not decompose: đ/Đ are separate letters, not d + a mark; Ð (U+00D0,
#: Icelandic eth) stands in for Đ in text converted from legacy Vietnamese encodings.
_LETTERS = str.maketrans({"đ": "d", "Đ": "D", "Ð": "D"})
#: Punctuation that Vietnamese text often carries and plain-ASCII gateways cannot send.
_PUNCT = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "‑": "-",
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "\u00a0": " ",
        "·": "-",
        "•": "-",
        "№": "No.",
    }
)


def strip_diacritics(text: str) -> str:
    """Vietnamese without tone and vowel marks: "Đường Lê Lợi" → "Duong Le Loi"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    kept = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", kept)


def to_ascii(text: str) -> str:
    """What a plain-ASCII gateway can carry: marks stripped, punctuation simplified,
    anything still outside ASCII replaced by "?" so nothing is dropped silently."""
    plain = strip_diacritics(text).translate(_PUNCT)
    return "".join(c if ord(c) < 128 else "?" for c in plain)


# --- segments -----------------------------------------------------------------------
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters sent as escape + character: two septets each, never split across parts.
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> int:
    """How many SMS parts a text costs (0 for an empty text).

    GSM-7: 160 septets in one part, 153 per part when concatenated; UCS-2 (any
    character outside GSM-7, e.g. "ồ"): 70 code units, 67 per part.  Parts are packed
    the way phones do it, so an escape pair or a surrogate pair is never split.
    """
    if not text:
        return 0
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        units = [2 if c in _GSM_EXTENDED else 1 for c in text]
        single, part = 160, 153
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, part = 70, 67
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts


# --- templates ----------------------------------------------------------------------
def default_templates(lang: str = "vi") -> dict[NoticeKind, str]:
    """The catalog's templates (Vietnamese with diacritics by default)."""
    texts = catalog()
    return {kind: texts[f"dossier.sms.{kind.value}"][lang] for kind in NoticeKind}


def _kind(kind: NoticeKind | str) -> NoticeKind:
    try:
        return NoticeKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in NoticeKind)
        raise NoticeError(
            t("dossier.error.bad_template", "vi", detail=f"unknown kind {kind!r} ({known})")
        ) from None


def template_fields(kind: NoticeKind | str, template: str) -> list[str]:
    """The placeholders of a template, after checking it is one an admin may save.

    Placeholders are plain ``{name}``: no positional ``{}``, no attribute or index
    access, no conversion or format spec — a template is text, not code.
    """
    notice_kind = _kind(kind)
    fields: list[str] = []
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        raise NoticeError(t("dossier.error.bad_template", "vi", detail=str(exc))) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = "{" + (name or "") + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise NoticeError(
                t("dossier.error.bad_template", "vi", detail=f"{shown} is not a plain {{name}}"),
                field=name,
            )
        if name not in fields:
            fields.append(name)
    for name in MANDATORY[notice_kind]:
        if name not in fields:
            raise NoticeError(
                t("dossier.error.bad_template", "vi", detail=f"{notice_kind} needs {{{name}}}"),
                field=name,
            )
    return fields


def check_templates(templates: Mapping[str, str]) -> None:
    """Validate a whole set of configured templates (raises NoticeError on the first bad one)."""
    for kind, text in templates.items():
        template_fields(kind, text)


def _value(value: Any, tz: ZoneInfo) -> str | None:
    """A parameter as it appears in the text; None when it is missing or blank."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"dates in notices must be timezone-aware, got {value.isoformat()}")
        return value.astimezone(tz).strftime(DATE_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    text = " ".join(str(value).split())
    return text or None


def render_notice(
    kind: NoticeKind | str,
    params: Mapping[str, Any],
    *,
    ascii_only: bool,
    templates: Mapping[str, str] | None = None,
    lang: str = "vi",
    tz: str | ZoneInfo = DEFAULT_TZ,
) -> str:
    """The SMS text of one notice.

    ``templates`` overrides the catalog per kind (missing kinds keep the default).
    Dates and datetimes become dd/MM/yyyy in the center's zone; whitespace in values
    is collapsed so a reason typed on several lines stays one SMS line.  Raises
    NoticeError when a placeholder has no value, and for a late apology without a
    reason or a new return date.
    """
    notice_kind = _kind(kind)
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    custom = dict(templates or {})
    template = custom.get(notice_kind.value) or default_templates(lang)[notice_kind]
    fields = template_fields(notice_kind, template)
    values: dict[str, str] = {}
    for name in dict.fromkeys([*MANDATORY[notice_kind], *fields]):
        text = _value(params.get(name), zone)
        if text is None:
            if notice_kind is NoticeKind.LATE and name in ("reason", "new_due"):
                key = "late_needs_reason" if name == "reason" else "late_needs_new_due"
                raise NoticeError(t(f"dossier.error.{key}", "vi"), field=name)
            raise NoticeError(t("dossier.error.notice_missing", "vi", field=name), field=name)
        values[name] = text
    rendered = template.format_map(values)
    return to_ascii(rendered) if ascii_only else rendered
