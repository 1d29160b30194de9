"""Dossier status vocabulary and workflow, channels, codes and masking."""

from __future__ import annotations

import pytest

from server.dossiers.codes import (
    InvalidDossierCode,
    looks_like_onestop,
    mask_name,
    mask_phone,
    normalize_code,
)
from server.dossiers.status import (
    ALLOWED,
    DossierChannel,
    DossierStatus,
    InvalidDossierTransition,
    UnknownDossierChannel,
    UnknownDossierStatus,
    check_transition,
    clock_paused,
    clock_running,
    is_final,
    parse_channel,
    parse_status,
    transition_path,
)

S = DossierStatus
ALLOWED_PAIRS = [(old, new) for old, targets in ALLOWED.items() for new in sorted(targets)]
FORBIDDEN_PAIRS = [(old, new) for old in S for new in S if new not in ALLOWED[old]]


@pytest.mark.parametrize(("old", "new"), ALLOWED_PAIRS)
def test_every_allowed_transition_passes(old: DossierStatus, new: DossierStatus):
    check_transition(old, new)  # raises on a forbidden move
    assert new in ALLOWED[old] and not is_final(old)


@pytest.mark.parametrize(("old", "new"), FORBIDDEN_PAIRS)
def test_every_other_transition_raises(old: DossierStatus, new: DossierStatus):
    with pytest.raises(InvalidDossierTransition) as caught:
        check_transition(old, new)
    assert caught.value.old is old and caught.value.new is new
    assert caught.value.status == 409


def test_forbidden_transition_message_names_both_in_vietnamese():
    with pytest.raises(InvalidDossierTransition) as caught:
        check_transition(S.RETURNED, S.IN_PROGRESS)
    assert (
        str(caught.value)
        == "Không thể chuyển hồ sơ từ trạng thái “Đã trả kết quả” sang “Đang xử lý”."
    )
    assert caught.value.details == {"old": "returned", "new": "in_progress"}


def test_sample_of_forbidden_moves():
    for old, new in [
        (S.REGISTERED, S.IN_PROGRESS),  # must be received first: the clock starts there
        (S.REGISTERED, S.RESOLVED),
        (S.RECEIVED, S.NOT_ACCEPTED),  # after reception a refusal is "dừng xử lý"
        (S.RESOLVED, S.IN_PROGRESS),  # reopening is a supervisor's correction, not workflow
        (S.IN_PROGRESS, S.RETURNED),  # nothing to return before a result exists
        (S.WITHDRAWN, S.RECEIVED),
        (S.IN_PROGRESS, S.IN_PROGRESS),  # repeating a status is not a move
    ]:
        assert new not in ALLOWED[old]
        with pytest.raises(InvalidDossierTransition):
            check_transition(old, new)


def test_final_statuses_and_the_clock():
    assert {s for s in S if is_final(s)} == {S.NOT_ACCEPTED, S.WITHDRAWN, S.STOPPED, S.RETURNED}
    assert {s for s in S if clock_paused(s)} == {S.SUPPLEMENT_REQUESTED, S.FEES_DUE}
    assert {s for s in S if clock_running(s)} == {S.RECEIVED, S.IN_PROGRESS, S.TRANSFERRED}
    assert not clock_paused(S.RESOLVED) and not clock_running(S.RESOLVED)


def test_every_status_is_reachable_and_can_end():
    reachable, frontier = {S.REGISTERED}, [S.REGISTERED]
    while frontier:
        for nxt in ALLOWED[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(S)
    for status in S:
        if not is_final(status):
            assert any(is_final(end) for end in S if _reaches(status, end))


def _reaches(start: DossierStatus, end: DossierStatus) -> bool:
    try:
        transition_path(start, end)
    except InvalidDossierTransition:
        return False
    return True


def test_transition_path_fills_the_steps_an_import_skipped():
    assert transition_path(S.SUPPLEMENT_REQUESTED, S.RETURNED) == [
        S.IN_PROGRESS,
        S.RESOLVED,
        S.RETURNED,
    ]
    assert transition_path(S.REGISTERED, S.RESOLVED) == [S.RECEIVED, S.RESOLVED]
    assert transition_path(S.RESOLVED, S.RETURNED) == [S.RETURNED]
    with pytest.raises(InvalidDossierTransition):
        transition_path(S.RETURNED, S.IN_PROGRESS)
    with pytest.raises(InvalidDossierTransition):
        transition_path(S.IN_PROGRESS, S.IN_PROGRESS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in_progress", S.IN_PROGRESS),
        ("Đang xử lý", S.IN_PROGRESS),
        ("Dang xu ly", S.IN_PROGRESS),
        ("In progress", S.IN_PROGRESS),
        ("  ĐANG   XỬ LÝ ", S.IN_PROGRESS),
        ("Yêu cầu bổ sung hồ sơ", S.SUPPLEMENT_REQUESTED),
        ("yeu cau bo sung ho so", S.SUPPLEMENT_REQUESTED),
        ("Supplement requested", S.SUPPLEMENT_REQUESTED),
        ("Được tiếp nhận", S.RECEIVED),
        ("Đã tiếp nhận", S.RECEIVED),
        ("Khong duoc tiep nhan", S.NOT_ACCEPTED),
        ("Yêu cầu thực hiện nghĩa vụ tài chính", S.FEES_DUE),
        ("Cong dan rut ho so", S.WITHDRAWN),
        ("Đã xử lý xong", S.RESOLVED),
        ("Đã có kết quả", S.RESOLVED),
        ("Result ready", S.RESOLVED),
        ("da tra ket qua", S.RETURNED),
        ("Mới đăng ký", S.REGISTERED),
        ("Dừng xử lý", S.STOPPED),
        (S.STOPPED, S.STOPPED),
    ],
)
def test_parse_status_accepts_code_vietnamese_and_english(text: str, expected: DossierStatus):
    assert parse_status(text) is expected


def test_parse_status_accepts_decomposed_vietnamese():
    import unicodedata

    assert parse_status(unicodedata.normalize("NFD", "Đang xử lý")) is S.IN_PROGRESS


def test_parse_status_refuses_unknown_text():
    with pytest.raises(UnknownDossierStatus) as caught:
        parse_status("Đang chờ ký")
    assert "Đang chờ ký" in str(caught.value)
    assert caught.value.status == 400
    with pytest.raises(UnknownDossierStatus):
        parse_status("")


def test_status_labels_from_the_catalog():
    assert S.SUPPLEMENT_REQUESTED.label() == "Yêu cầu bổ sung hồ sơ"
    assert S.RESOLVED.label("en") == "Result ready"
    assert [s.label() for s in S][:3] == ["Mới đăng ký", "Đã tiếp nhận", "Không được tiếp nhận"]


def test_channels():
    assert DossierChannel.POSTAL.label() == "Qua dịch vụ bưu chính công ích"
    assert DossierChannel.DIRECT.label() == "Tiếp nhận trực tiếp"
    assert DossierChannel.ONLINE.label("en") == "Online"
    assert parse_channel("online") is DossierChannel.ONLINE
    assert parse_channel("Trực tuyến") is DossierChannel.ONLINE
    assert parse_channel("qua dich vu buu chinh cong ich") is DossierChannel.POSTAL
    assert parse_channel("By public postal service") is DossierChannel.POSTAL
    assert parse_channel("TIẾP NHẬN TRỰC TIẾP") is DossierChannel.DIRECT
    with pytest.raises(UnknownDossierChannel):
        parse_channel("fax")


# --- codes --------------------------------------------------------------------------
def test_normalize_code():
    assert normalize_code("  000.00.06.h56-231027-0361\r\n") == "000.00.06.H56-231027-0361"
    assert normalize_code("hs  2023\t 15") == "HS 2023 15"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("", "code_empty"),
        ("   \n", "code_empty"),
        ("A" * 65, "code_too_long"),
        ("AB\x00CD", "code_invalid_char"),
        ("AB\u200bCD", "code_invalid_char"),
    ],
)
def test_normalize_code_refuses(raw: str, key: str):
    with pytest.raises(InvalidDossierCode) as caught:
        normalize_code(raw)
    assert caught.value.key == key
    assert caught.value.status == 400


def test_normalize_code_accepts_the_longest_allowed():
    assert normalize_code("a" * 64) == "A" * 64


def test_looks_like_onestop():
    assert looks_like_onestop("000.00.06.H56-231027-0361")
    assert looks_like_onestop(" 000.00.06.h56-231027-0361 ")
    assert looks_like_onestop("H56.22-250101-0001")
    assert not looks_like_onestop("000.00.06.H56-231327-0361")  # month 13
    assert not looks_like_onestop("000.00.06.H56-230230-0361")  # 30 February
    assert not looks_like_onestop("000.00.06.H56-231027-361")  # 3-digit sequence
    assert not looks_like_onestop("HS-2023-15")
    assert not looks_like_onestop("")


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Nguyễn Văn An", "Nguyễn V** A*"),
        ("  Trần   Thị  Ngọc   Ánh ", "Trần T** N*** Á**"),
        ("Hùng", "H***"),
        ("Y", "Y"),
        ("Lê Y", "Lê Y"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_mask_name(name: str, masked: str):
    assert mask_name(name) == masked


def test_mask_name_counts_decomposed_letters_once():
    import unicodedata

    assert mask_name(unicodedata.normalize("NFD", "Nguyễn Văn An")) == "Nguyễn V** A*"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("0912345678", "*******678"),
        ("0912 345 678", "*******678"),
        ("+84 912.345.678", "********678"),
        ("678", "***"),
        ("", ""),
    ],
)
def test_mask_phone_shows_only_last_three_digits(phone: str, masked: str):
    assert mask_phone(phone) == masked
