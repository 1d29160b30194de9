"""Queue numbers and ticket labels read aloud the way Vietnamese hall announcers do.

num2words (``lang="vi"``) reads 1012 as "một nghìn lẻ mười hai", which no hall says:
announcers keep the empty hundreds ("một nghìn không trăm mười hai") and use "linh"
(or, regionally, "lẻ") only for an empty tens digit.  Many halls instead read the digits
one by one ("một, không, một, hai"), which is a setting here too.  The output is plain
words for the speech engine; commas make it pause.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

STYLES = ("words", "digits")
ZERO_TENS = {"linh": "linh", "le": "lẻ", "lẻ": "lẻ"}

#: The largest number with a reading (the "tỷ" group is the last one announcers use).
MAX_NUMBER = 999_999_999_999

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_SCALES = ("", "nghìn", "triệu", "tỷ")

#: Names of letters as Vietnamese speakers spell them; commas never appear inside a name
#: so the speech engine keeps each name together.
LETTER_NAMES: dict[str, str] = {
    "A": "A",
    "Ă": "Á",
    "Â": "Ớ",
    "B": "Bê",
    "C": "Xê",
    "D": "Dê",
    "Đ": "Đê",
    "E": "E",
    "Ê": "Ê",
    "F": "Ép",
    "G": "Giê",
    "H": "Hát",
    "I": "I",
    "J": "Gi",
    "K": "Ca",
    "L": "E lờ",
    "M": "Em mờ",
    "N": "En nờ",
    "O": "O",
    "Ô": "Ô",
    "Ơ": "Ơ",
    "P": "Pê",
    "Q": "Quy",
    "R": "E rờ",
    "S": "Ét xì",
    "T": "Tê",
    "U": "U",
    "Ư": "Ư",
    "V": "Vê",
    "W": "Vê kép",
    "X": "Ích xì",
    "Y": "I dài",
    "Z": "Dét",
}

#: Letters, an optional separator between letters and digits ("A-012"), digits.
_LABEL = re.compile(r"^\s*(?P<letters>[^\W\d_]*)(?P<sep>[\s\-./]*)(?P<digits>[0-9]*)\s*$")


class NumberReadingError(ValueError):
    """A number, label or reading setting that cannot be read aloud."""


def _check_settings(style: str, zero_tens: str) -> str:
    if style not in STYLES:
        raise NumberReadingError(f"style must be one of {STYLES}, not {style!r}")
    try:
        return ZERO_TENS[zero_tens]
    except KeyError:
        raise NumberReadingError(f"zero_tens must be 'linh' or 'le', not {zero_tens!r}") from None


def _read_tens_units(tens: int, units: int, linh: str) -> list[str]:
    """The last two digits of a group whose hundreds were already spoken."""
    if tens == 0:
        return [linh, DIGITS[units]] if units else []
    if tens == 1:
        words = ["mười"]
        if units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGITS[units])
        return words
    words = [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("mốt")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _read_group(value: int, *, leading: bool, linh: str) -> list[str]:
    """One group of three digits.

    The leading group is read as written (105 → "một trăm linh năm", 21 → "hai mươi
    mốt"); a later group keeps its empty hundreds ("không trăm mười hai"), which is the
    point of the announcers' reading.
    """
    hundreds, rest = divmod(value, 100)
    tens, units = divmod(rest, 10)
    if leading and hundreds == 0:
        if tens == 0:
            return [DIGITS[units]]
        return _read_tens_units(tens, units, linh)
    return [DIGITS[hundreds], "trăm", *_read_tens_units(tens, units, linh)]


def _read_words(n: int, linh: str) -> str:
    if n == 0:
        return DIGITS[0]
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words: list[str] = []
    top = len(groups) - 1
    for index in range(top, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        words.extend(_read_group(group, leading=index == top, linh=linh))
        if _SCALES[index]:
            words.append(_SCALES[index])
    return " ".join(words)


def _read_digit_string(digits: str) -> str:
    return ", ".join(DIGITS[int(d)] for d in digits)


def read_number(n: int, style: str = "words", zero_tens: str = "linh") -> str:
    """Read a queue number aloud: 1012 → "một nghìn không trăm mười hai".

    ``style="digits"`` reads it digit by digit ("một, không, một, hai"); ``zero_tens``
    chooses "linh" (default) or the regional "lẻ" for an empty tens digit.
    """
    linh = _check_settings(style, zero_tens)
    if isinstance(n, bool) or not isinstance(n, int):
        raise NumberReadingError(f"a queue number must be an int, not {n!r}")
    if n < 0 or n > MAX_NUMBER:
        raise NumberReadingError(f"{n} is outside 0..{MAX_NUMBER}")
    if style == "digits":
        return _read_digit_string(str(n))
    return _read_words(n, linh)


def read_letter(letter: str) -> str:
    """The spoken name of one letter of a label prefix (C → "Xê", Đ → "Đê")."""
    try:
        return LETTER_NAMES[letter.upper()]
    except KeyError:
        raise NumberReadingError(f"no spoken name for the letter {letter!r}") from None


def read_label(label: str, style: str = "words", zero_tens: str = "linh") -> str:
    """Read a ticket label aloud: "A012" → "A, mười hai", "1012" → "một nghìn …".

    Letters of the prefix are spelled by their Vietnamese names.  In the words style the
    number is its integer value (leading zeros are padding on the ticket); in the digits
    style every printed digit is read, zeros included, because that is what the citizen
    sees on the ticket ("A, không, một, hai").
    """
    _check_settings(style, zero_tens)
    match = _LABEL.match(label)
    if (
        match is None
        or not (match["letters"] or match["digits"])
        or (match["sep"] and not (match["letters"] and match["digits"]))
    ):
        raise NumberReadingError(f"cannot read the ticket label {label!r}")
    parts = [read_letter(letter) for letter in match["letters"]]
    digits = match["digits"]
    if digits:
        if style == "digits":
            parts.append(_read_digit_string(digits))
        else:
            parts.append(read_number(int(digits), "words", zero_tens))
    return ", ".join(parts)
