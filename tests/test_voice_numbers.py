"""How the hall voice reads queue numbers and ticket labels (server/voice/numbers.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.voice import NumberReadingError, read_label, read_letter, read_number

WORD_VALUES = {
    "không": 0,
    "một": 1,
    "mốt": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "tư": 4,
    "năm": 5,
    "lăm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
}
SCALES = {"nghìn": 1000, "triệu": 1_000_000}
VIETNAMESE_TEXT = re.compile(
    r"^[a-zàáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ ,]+$"
)


def parse_reading(text: str) -> int:
    """An independent listener: turn a Vietnamese reading back into the number heard."""
    total = group = current = 0
    for word in text.split():
        if word in WORD_VALUES:
            current += WORD_VALUES[word]
        elif word == "mười":
            current += 10
        elif word == "mươi":
            current *= 10
        elif word == "trăm":
            group += current * 100
            current = 0
        elif word in ("linh", "lẻ"):
            continue
        elif word in SCALES:
            total += (group + current) * SCALES[word]
            group = current = 0
        else:
            raise AssertionError(f"unexpected word {word!r} in {text!r}")
    return total + group + current


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        # the announcers' readings from GLOSSARY.md
        (1012, "một nghìn không trăm mười hai"),
        (1001, "một nghìn không trăm linh một"),
        (3050, "ba nghìn không trăm năm mươi"),
        (105, "một trăm linh năm"),
        (21, "hai mươi mốt"),
        (25, "hai mươi lăm"),
        # the small numbers and their special words
        (0, "không"),
        (1, "một"),
        (5, "năm"),
        (9, "chín"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (19, "mười chín"),
        (20, "hai mươi"),
        (24, "hai mươi bốn"),
        (41, "bốn mươi mốt"),
        (55, "năm mươi lăm"),
        (99, "chín mươi chín"),
        # hundreds
        (100, "một trăm"),
        (101, "một trăm linh một"),
        (110, "một trăm mười"),
        (111, "một trăm mười một"),
        (115, "một trăm mười lăm"),
        (121, "một trăm hai mươi mốt"),
        (999, "chín trăm chín mươi chín"),
        # thousands keep the empty hundreds
        (1000, "một nghìn"),
        (1100, "một nghìn một trăm"),
        (1010, "một nghìn không trăm mười"),
        (1105, "một nghìn một trăm linh năm"),
        (2005, "hai nghìn không trăm linh năm"),
        (9999, "chín nghìn chín trăm chín mươi chín"),
        (10_000, "mười nghìn"),
        (21_021, "hai mươi mốt nghìn không trăm hai mươi mốt"),
        (100_000, "một trăm nghìn"),
        (105_015, "một trăm linh năm nghìn không trăm mười lăm"),
        (999_999, "chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
        (1_000_000, "một triệu"),
        (1_000_005, "một triệu không trăm linh năm"),
        (2_000_000_000, "hai tỷ"),
    ],
)
def test_numbers_read_as_announcers_do(n: int, spoken: str) -> None:
    assert read_number(n) == spoken


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (105, "một trăm lẻ năm"),
        (1001, "một nghìn không trăm lẻ một"),
        (2005, "hai nghìn không trăm lẻ năm"),
        (1012, "một nghìn không trăm mười hai"),
    ],
)
def test_regional_le_replaces_linh_only_for_an_empty_tens(n: int, spoken: str) -> None:
    assert read_number(n, zero_tens="le") == spoken
    assert read_number(n, zero_tens="lẻ") == spoken


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (1012, "một, không, một, hai"),
        (0, "không"),
        (7, "bảy"),
        (3050, "ba, không, năm, không"),
        (999_999, "chín, chín, chín, chín, chín, chín"),
    ],
)
def test_digit_style_reads_each_digit_with_a_pause(n: int, spoken: str) -> None:
    assert read_number(n, style="digits") == spoken


@pytest.mark.parametrize(
    ("label", "style", "spoken"),
    [
        ("1012", "words", "một nghìn không trăm mười hai"),
        ("A012", "words", "A, mười hai"),
        ("A012", "digits", "A, không, một, hai"),
        ("B105", "words", "Bê, một trăm linh năm"),
        ("C001", "words", "Xê, một"),
        ("D-21", "words", "Dê, hai mươi mốt"),
        ("đ 25", "words", "Đê, hai mươi lăm"),
        ("K000", "words", "Ca, không"),
        ("AB7", "words", "A, Bê, bảy"),
        (" 0042 ", "words", "bốn mươi hai"),
        ("0042", "digits", "không, không, bốn, hai"),
        ("S", "words", "Ét xì"),
    ],
)
def test_labels_spell_the_prefix_then_read_the_number(label: str, style: str, spoken: str) -> None:
    assert read_label(label, style) == spoken


@pytest.mark.parametrize(
    ("letter", "name"),
    [("a", "A"), ("B", "Bê"), ("C", "Xê"), ("D", "Dê"), ("Đ", "Đê"), ("G", "Giê"), ("Ư", "Ư")],
)
def test_letters_have_their_vietnamese_names(letter: str, name: str) -> None:
    assert read_letter(letter) == name


@pytest.mark.parametrize("label", ["", "   ", "A-", "12A", "1.5.6", "Á12", "#12", "A 12 B"])
def test_unreadable_labels_are_refused_with_the_label_named(label: str) -> None:
    with pytest.raises(NumberReadingError) as error:
        read_label(label)
    assert label in str(error.value) or "letter" in str(error.value)


@pytest.mark.parametrize("bad", [-1, 10**12, True, 1.5, "12"])
def test_out_of_range_or_non_integer_numbers_are_refused(bad: object) -> None:
    with pytest.raises(NumberReadingError):
        read_number(bad)  # type: ignore[arg-type]


def test_unknown_settings_are_refused_by_name() -> None:
    with pytest.raises(NumberReadingError, match="style"):
        read_number(12, style="roman")
    with pytest.raises(NumberReadingError, match="zero_tens"):
        read_number(105, zero_tens="none")
    with pytest.raises(NumberReadingError, match="style"):
        read_label("A1", style="spell")


def test_every_number_below_ten_thousand_is_heard_back_as_itself() -> None:
    for n in range(10_000):
        assert parse_reading(read_number(n)) == n
        assert parse_reading(read_number(n, zero_tens="le")) == n


@settings(max_examples=3000, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=999_999))
def test_any_queue_number_reads_as_plain_vietnamese_words(n: int) -> None:
    words = read_number(n)
    digits = read_number(n, style="digits")
    for text in (words, digits, read_number(n, zero_tens="le")):
        assert text
        assert VIETNAMESE_TEXT.match(text), text
    assert "lẻ" not in words
    assert "," not in words
    assert parse_reading(words) == n
    assert "".join(str(WORD_VALUES[d]) for d in digits.split(", ")) == str(n)
    if n >= 1000 and n % 1000 < 100 and n % 1000:
        assert "không trăm" in words


@settings(max_examples=500, deadline=None, database=None)
@given(
    st.sampled_from(["", "A", "B", "C", "Đ", "AB"]),
    st.integers(min_value=0, max_value=99_999),
    st.integers(min_value=0, max_value=3),
)
def test_any_prefixed_label_reads_its_letters_then_its_value(prefix: str, n: int, pad: int) -> None:
    label = prefix + str(n).zfill(len(str(n)) + pad)
    spoken = read_label(label)
    parts = spoken.split(", ")
    assert parts[:-1] == [read_letter(letter) for letter in prefix]
    assert parse_reading(parts[-1]) == n
