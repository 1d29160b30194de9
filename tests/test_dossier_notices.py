"""SMS notices about dossiers: templates, the plain-ASCII form, refusals, segment counts."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from server.notify.notices import (
    NoticeError,
    NoticeKind,
    check_templates,
    default_templates,
    render_notice,
    sms_segments,
    strip_diacritics,
    template_fields,
    to_ascii,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = "000.00.06.H56-231027-0361"

#: The plain texts of GLOSSARY.md, which the Vietnamese defaults must strip down to.
GLOSSARY_ASCII = {
    "received": "Ho so {code} da duoc tiep nhan. Ngay hen tra: {due}.",
    "ready": "Ho so {code} da co ket qua. Moi ong/ba den {place} de nhan ket qua.",
    "supplement": "Ho so {code} can bo sung: {missing}. Lien he {contact}.",
    "late": "{unit} xin loi ong/ba vi ho so {code} chua giai quyet dung hen do {reason}. "
    "Ngay hen tra moi: {new_due}.",
}


def test_default_templates_are_the_glossary_texts_with_diacritics():
    vi = default_templates()
    for kind, plain in GLOSSARY_ASCII.items():
        assert strip_diacritics(vi[NoticeKind(kind)]) == plain
    assert vi[NoticeKind.RECEIVED] == "Hồ sơ {code} đã được tiếp nhận. Ngày hẹn trả: {due}."


def test_received_in_both_forms_with_due_date_in_the_center_zone():
    # 18:00 UTC on 13 Oct = 01:00 on 14 Oct in Vietnam → the date shown is 14/10/2025.
    params = {"code": CODE, "due": datetime(2025, 10, 13, 18, 0, tzinfo=UTC)}
    vi = render_notice("received", params, ascii_only=False)
    plain = render_notice(NoticeKind.RECEIVED, params, ascii_only=True)
    assert vi == f"Hồ sơ {CODE} đã được tiếp nhận. Ngày hẹn trả: 14/10/2025."
    assert plain == f"Ho so {CODE} da duoc tiep nhan. Ngay hen tra: 14/10/2025."
    assert all(b <= 127 for b in plain.encode("utf-8"))
    # 6 + 25 + 19 + 15 + 11 = 76 characters: one GSM-7 part plain, two UCS-2 parts with marks.
    assert len(plain) == 76
    assert sms_segments(plain) == 1
    assert sms_segments(vi) == 2


def test_ready_in_ascii_maps_d_with_stroke_and_dashes():
    params = {"code": CODE, "place": "Bộ phận Một cửa – Số 1 Đường Lê Lợi"}
    plain = render_notice("ready", params, ascii_only=True)
    assert plain == (
        f"Ho so {CODE} da co ket qua. Moi ong/ba den Bo phan Mot cua - So 1 Duong Le Loi "
        "de nhan ket qua."
    )
    assert plain.isascii()
    vi = render_notice("ready", params, ascii_only=False)
    assert vi.startswith(f"Hồ sơ {CODE} đã có kết quả. Mời ông/bà đến Bộ phận Một cửa – Số 1 Đường")


def test_supplement_and_rejected():
    supplement = render_notice(
        "supplement",
        {"code": CODE, "missing": "Bản sao CCCD", "contact": "Quầy số 5, 0236 3822 222"},
        ascii_only=True,
    )
    assert (
        supplement == f"Ho so {CODE} can bo sung: Ban sao CCCD. Lien he Quay so 5, 0236 3822 222."
    )
    rejected = render_notice(
        "rejected", {"code": CODE, "reason": "không thuộc thẩm quyền"}, ascii_only=False
    )
    assert rejected == f"Hồ sơ {CODE} không được tiếp nhận. Lý do: không thuộc thẩm quyền."


def test_late_apology_in_both_forms():
    params = {
        "unit": "Sở Tài nguyên và Môi trường",
        "code": CODE,
        "reason": "cần xác minh\n thực địa",
        "new_due": date(2025, 11, 3),
    }
    vi = render_notice("late", params, ascii_only=False)
    assert vi == (
        f"Sở Tài nguyên và Môi trường xin lỗi ông/bà vì hồ sơ {CODE} chưa giải quyết đúng hẹn "
        "do cần xác minh thực địa. Ngày hẹn trả mới: 03/11/2025."
    )
    plain = render_notice("late", params, ascii_only=True)
    assert plain == (
        f"So Tai nguyen va Moi truong xin loi ong/ba vi ho so {CODE} chua giai quyet dung hen "
        "do can xac minh thuc dia. Ngay hen tra moi: 03/11/2025."
    )
    assert plain.isascii()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("new_due", "Không thể ghi nhận trễ hạn khi chưa có ngày hẹn trả mới."),
        ("reason", "Không thể ghi nhận trễ hạn khi chưa nêu lý do."),
    ],
)
def test_late_apology_without_reason_or_new_date_is_refused(missing: str, message: str):
    params = {
        "unit": "Sở Xây dựng",
        "code": CODE,
        "reason": "mất điện",
        "new_due": date(2025, 11, 3),
    }
    for empty in (None, "", "   "):
        with pytest.raises(NoticeError) as caught:
            render_notice("late", {**params, missing: empty}, ascii_only=True)
        assert str(caught.value) == message
        assert caught.value.details["field"] == missing
    without = {k: v for k, v in params.items() if k != missing}
    with pytest.raises(NoticeError, match="trễ hạn"):
        render_notice("late", without, ascii_only=False)


def test_a_custom_late_template_must_keep_the_new_date():
    with pytest.raises(NoticeError, match="new_due"):
        render_notice(
            "late",
            {"code": CODE, "reason": "x", "new_due": date(2025, 11, 3)},
            ascii_only=False,
            templates={"late": "Ho so {code} bi tre do {reason}."},
        )
    with pytest.raises(NoticeError, match="new_due"):
        check_templates({"late": "Xin lỗi, hồ sơ {code} trễ do {reason}."})


def test_missing_placeholder_is_refused_with_its_name():
    with pytest.raises(NoticeError) as caught:
        render_notice("supplement", {"code": CODE, "missing": "Tờ khai"}, ascii_only=False)
    assert str(caught.value) == "Thiếu thông tin “contact” để soạn tin nhắn."
    assert caught.value.status == 400


def test_custom_templates_override_one_kind_only():
    templates = {"ready": "{code}: co ket qua, nhan tai {place}."}
    assert (
        render_notice(
            "ready", {"code": "A1", "place": "Quầy 3"}, ascii_only=True, templates=templates
        )
        == "A1: co ket qua, nhan tai Quay 3."
    )
    # Other kinds keep the catalog text.
    assert (
        render_notice(
            "received",
            {"code": "A1", "due": date(2025, 1, 2)},
            ascii_only=True,
            templates=templates,
        )
        == "Ho so A1 da duoc tiep nhan. Ngay hen tra: 02/01/2025."
    )


@pytest.mark.parametrize(
    "template",
    [
        "Ho so {code.__class__} da co ket qua tai {place}",  # attribute access
        "Ho so {0} da co ket qua",  # positional
        "Ho so {code!r} da co ket qua",  # conversion
        "Ho so {code:>30} da co ket qua",  # format spec
        "Ho so {code da co ket qua",  # broken brace
    ],
)
def test_templates_are_text_not_code(template: str):
    with pytest.raises(NoticeError, match="Mẫu tin nhắn không hợp lệ"):
        template_fields("ready", template)


def test_template_fields_and_unknown_kind():
    assert template_fields("late", default_templates()[NoticeKind.LATE]) == [
        "unit",
        "code",
        "reason",
        "new_due",
    ]
    with pytest.raises(NoticeError, match="unknown kind"):
        render_notice("thanks", {"code": CODE}, ascii_only=True)


def test_english_texts_and_naive_dates():
    text = render_notice(
        "received", {"code": "A1", "due": date(2025, 1, 2)}, ascii_only=False, lang="en"
    )
    assert text == "Dossier A1 has been received. Result due date: 02/01/2025."
    with pytest.raises(ValueError, match="timezone-aware"):
        render_notice("received", {"code": "A1", "due": datetime(2025, 1, 2, 9)}, ascii_only=False)


def test_strip_diacritics_maps_d_with_stroke():
    assert strip_diacritics("Đặng Thị Ngọc Ánh, đường Điện Biên Phủ") == (
        "Dang Thi Ngoc Anh, duong Dien Bien Phu"
    )
    # NFD alone keeps đ/Đ: they are letters of their own, not d plus a mark.
    nfd_only = "".join(
        c for c in unicodedata.normalize("NFD", "Đường") if not unicodedata.combining(c)
    )
    assert nfd_only == "Đuong"
    assert strip_diacritics("Đường") == "Duong"
    assert strip_diacritics("àáảãạăằắẳẵặâầấẩẫậ") == "a" * 17
    assert strip_diacritics("ƯỪỨỬỮỰ ơờớởỡợ ÊỀẾỂỄỆ") == "UUUUUU oooooo EEEEEE"
    assert strip_diacritics(unicodedata.normalize("NFD", "Nguyễn")) == "Nguyen"
    assert strip_diacritics("Ðinh") == "Dinh"  # U+00D0 from legacy encodings


def test_to_ascii_never_drops_a_character_silently():
    assert to_ascii("Số “12” — xong…") == 'So "12" - xong...'
    assert to_ascii("Phòng ★ 3") == "Phong ? 3"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 0),
        ("a" * 160, 1),  # GSM-7: 160 in one part
        ("a" * 161, 2),  # then 153 per part: 153 + 8
        ("a" * 306, 2),  # 153 + 153
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters cost 2 septets: 160
        ("€" * 81, 2),  # 162 septets; 76 pairs (152) per part → 76 + 5
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the € cannot straddle parts:
        # part 1 = 152 a, part 2 = € + 151 a (153), part 3 = the last a
        ("ồ" * 70, 1),  # UCS-2: 70 in one part
        ("ồ" * 71, 2),  # then 67 per part
        ("ồ" * 134, 2),
        ("ồ" * 135, 3),
        ("😀" * 35, 1),  # each emoji is a surrogate pair: 70 units
        ("ồ" * 66 + "😀" + "ồ" * 66, 3),  # 134 units; the pair cannot straddle parts:
        # part 1 = 66 ồ, part 2 = 😀 + 65 ồ (67), part 3 = the last ồ
        ("Hồ sơ", 1),
    ],
)
def test_sms_segments(text: str, parts: int):
    assert sms_segments(text) == parts
