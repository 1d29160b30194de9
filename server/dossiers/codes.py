"""Dossier codes and the masking of personal data on public screens.

A code arrives typed on a touchscreen, from a barcode scanner (with a trailing CR/LF),
or in a department's import; all of them must find the same row, so every code is
normalised once here before it is stored or looked up.  The lookup screen and SMS
show only masked names and phone numbers: the code printed on a receipt is not a
secret, so whoever holds it must not learn whose dossier it is.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime

from server.errors import BadRequest
from server.i18n import t

log = logging.getLogger(__name__)

#: One-stop codes are ~25 characters; 64 leaves room for departments' own formats.
MAX_CODE_LENGTH = 64
#: {agency code}-{yyMMdd}-{4-digit sequence}, e.g. 000.00.06.H56-231027-0361.
_ONESTOP = re.compile(r"^([0-9A-Z]+(?:\.[0-9A-Z]+)*)-(\d{6})-\d{4}$")
#: An agency code alone (the part before the date), as registered for a department.
_AGENCY = re.compile(r"^[0-9A-Z]+(?:\.[0-9A-Z]+)*$")
MAX_AGENCY_LENGTH = 40
PHONE_VISIBLE_DIGITS = 3


class InvalidDossierCode(BadRequest):
    """A code that cannot be a dossier code; ``key`` names the catalog text to show."""

    code = "invalid_dossier_code"

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        super().__init__(t(f"dossier.error.{key}", "vi", **params), reason=key)


def normalize_code(raw: str) -> str:
    """The canonical form: trimmed, upper case, inner whitespace collapsed to one space."""
    if not isinstance(raw, str):
        raise InvalidDossierCode("code_invalid_char")
    code = " ".join(unicodedata.normalize("NFC", raw).split()).upper()
    if not code:
        raise InvalidDossierCode("code_empty")
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidDossierCode("code_too_long", max=MAX_CODE_LENGTH)
    if any(unicodedata.category(c).startswith("C") for c in code):
        raise InvalidDossierCode("code_invalid_char")
    return code


def looks_like_onestop(code: str) -> bool:
    """Whether a code follows the national one-stop format with a real date.

    Only a hint (e.g. to tell a mistyped code from another system's code on the lookup
    page): imports are accepted whatever their format.
    """
    try:
        normal = normalize_code(code)
    except InvalidDossierCode:
        return False
    match = _ONESTOP.match(normal)
    if match is None:
        return False
    try:
        datetime.strptime(match[2], "%y%m%d")
    except ValueError:
        return False
    return True


def agency_of(code: str) -> str | None:
    """The agency prefix of a (normalised) one-stop code ("000.00.06.H56" of
    "000.00.06.H56-231027-0361"); None for a code in another format."""
    match = _ONESTOP.match(code)
    return match[1] if match else None


def normalize_agency(raw: str) -> str:
    """An agency code as registered: trimmed, upper case, dotted groups of letters and
    digits (the prefix of the one-stop code format)."""
    agency = raw.strip().upper() if isinstance(raw, str) else ""
    if not agency or len(agency) > MAX_AGENCY_LENGTH or not _AGENCY.match(agency):
        raise BadRequest(
            t("dossier.error.bad_agency", "vi", agency=raw, max=MAX_AGENCY_LENGTH),
            code="bad_agency",
        )
    return agency


def mask_name(full_name: str) -> str:
    """ "Nguyễn Văn An" → "Nguyễn V** A*": the family name and each other word's initial.

    A one-word name is the person's only name, so it keeps only its initial ("Hùng" →
    "H***").  Input in decomposed Unicode is composed first so "ễ" counts as one letter.
    """
    words = unicodedata.normalize("NFC", full_name).split()
    if not words:
        return ""

    def initial(word: str) -> str:
        return word[0] + "*" * (len(word) - 1)

    if len(words) == 1:
        return initial(words[0])
    return " ".join([words[0], *(initial(w) for w in words[1:])])


def mask_phone(phone: str) -> str:
    """Only the last three digits stay: "0912345678" → "*******678".

    Separators and a "+84" prefix are dropped first so every spelling of one number
    masks the same way; a number of three digits or fewer is masked entirely.
    """
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) <= PHONE_VISIBLE_DIGITS:
        return "*" * len(digits)
    hidden = len(digits) - PHONE_VISIBLE_DIGITS
    return "*" * hidden + digits[hidden:]
