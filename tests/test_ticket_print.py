"""The printed ticket, checked by decoding the real ESC/POS bytes it produces."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
import qrcode
import qrcode.constants
from PIL import Image, ImageChops, ImageDraw, ImageFont

import server
from kiosk.escpos_decode import (
    Align,
    CharSpacing,
    Cut,
    EscposDecodeError,
    Feed,
    Init,
    Qr,
    Raster,
    Size,
    Text,
    decode,
    preview_png,
)
from kiosk.ticket import (
    TicketJob,
    TicketJobError,
    layout_for,
    missing_glyphs,
    render_ticket,
    ticket_lines,
)
from server.i18n import catalog

FONTS = Path(server.__file__).parent / "web" / "static" / "fonts"
URL = "https://motcua.quangninh.gov.vn/t/Zx8kQ2mP4rT9vW1yB6nD3fLq"
DOTS = {58: 384, 80: 576}


def make_job(**changes: Any) -> TicketJob:
    job = TicketJob(
        job_id="job-7",
        ticket_id=7,
        center="Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
        service_name="Hộ tịch – Tư pháp",
        label="1012",
        priority=None,
        issued_at="2024-03-05T01:15:00+00:00",
        people_ahead=8,
        estimated_wait_min=15,
        tracking_url=URL,
    )
    return dataclasses.replace(job, **changes)


def fresh_rendering(text: str, size: int, bold: bool) -> Image.Image:
    """Pillow's own drawing of ``text``, black on white, cropped to its ink."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    font = ImageFont.truetype(str(FONTS / name), size, layout_engine=ImageFont.Layout.BASIC)
    image = Image.new("L", (int(font.getlength(text)) + 4 * size, 3 * size), 255)
    ImageDraw.Draw(image).text((2 * size, 2 * size), text, font=font, fill=0, anchor="ls")
    return crop_ink(image.point(lambda v: 0 if v < 128 else 255, "1"))


def crop_ink(image: Image.Image) -> Image.Image:
    grey = image.convert("L")
    box = ImageChops.invert(grey).getbbox()
    assert box is not None, "image has no ink"
    return grey.crop(box)


def differing_fraction(a: Image.Image, b: Image.Image) -> float:
    if a.size != b.size:
        return 1.0
    same = ImageChops.difference(a, b).histogram()[0]
    return 1 - same / (a.width * a.height)


def rasters(commands: list) -> list[Raster]:
    return [c for c in commands if isinstance(c, Raster)]


def has_line(commands: list, text: str, size: int, bold: bool = False) -> bool:
    """True when one raster of the ticket shows exactly ``text`` as Pillow draws it."""
    expected = fresh_rendering(text, size, bold)
    return any(
        differing_fraction(crop_ink(r.image), expected) <= 0.002
        for r in rasters(commands)
        if ImageChops.invert(r.image.convert("L")).getbbox()
    )


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_ticket_stream_has_init_center_rasters_number_qr_and_cut(paper_mm: int) -> None:
    commands = decode(render_ticket(make_job(), paper_mm))

    assert commands[0] == Init()
    assert Align("center") in commands
    images = rasters(commands)
    assert len(images) >= 6
    assert all(r.width <= DOTS[paper_mm] for r in images)
    (qr,) = [c for c in commands if isinstance(c, Qr)]
    assert (qr.data, qr.model, qr.error) == (URL, 2, "M")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(URL)
    assert qr.size >= 4 and (code.best_fit() * 4 + 17) * qr.size <= DOTS[paper_mm]
    assert isinstance(commands[-1], Cut)
    assert isinstance(commands[-2], Feed) and commands[-2].lines >= 3  # paper past the cutter

    texts = [c for c in commands if isinstance(c, Text)]
    assert [t.text for t in texts] == ["1012"]
    at = commands.index(texts[0])
    size_before = [c for c in commands[:at] if isinstance(c, Size)][-1]
    # the digits are printed apart (ESC SP), so they do not run together on thermal paper
    (spacing,) = [c for c in commands[:at] if isinstance(c, CharSpacing)]
    assert spacing.dots >= 2
    assert size_before.width == size_before.height >= (8 if paper_mm == 80 else 6)
    assert size_before.width * (12 + spacing.dots) * len("1012") <= DOTS[paper_mm]
    # back to normal after it
    assert commands[at + 2 : at + 4] == [CharSpacing(0), Size(1, 1)]


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_service_name_raster_is_the_vietnamese_text(paper_mm: int) -> None:
    layout = layout_for(paper_mm)
    commands = decode(render_ticket(make_job(), paper_mm))

    assert has_line(commands, "Hộ tịch – Tư pháp", layout.service_px, bold=True)
    # the same words without their tone marks are not what was printed
    assert not has_line(commands, "Ho tich – Tu phap", layout.service_px, bold=True)
    for key in ("number_title", "issued_at", "ahead", "wait"):
        assert has_line(commands, ticket_lines(make_job())[key], layout.body_px), key
    assert has_line(commands, "Quét mã QR để theo dõi lượt của ông/bà", layout.small_px)


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_text_stays_inside_the_margins(paper_mm: int) -> None:
    layout = layout_for(paper_mm)
    job = make_job(
        center="Trung tâm Phục vụ hành chính công tỉnh Bà Rịa – Vũng Tàu, chi nhánh huyện Xuyên Mộc",
        service_name="Người có công với cách mạng và Lao động – Thương binh và Xã hội",
        priority="Người có con nhỏ dưới 36 tháng tuổi",
        people_ahead=123,
        estimated_wait_min=245,
    )
    for raster in rasters(decode(render_ticket(job, paper_mm))):
        box = ImageChops.invert(raster.image.convert("L")).getbbox()
        if box is None:
            continue
        inverted_bar = raster.image.convert("L").getpixel((layout.margin, 0)) == 0
        if not inverted_bar:  # the priority bar itself spans margin to margin
            assert box[0] >= layout.margin and box[2] <= layout.dots - layout.margin


def test_font_has_every_glyph_of_the_ticket() -> None:
    texts = [
        text
        for key, by_lang in catalog().items()
        if key.startswith("ticket.")
        for text in by_lang.values()
    ]
    texts += [
        "Đất đai",
        "Đăng ký kinh doanh",
        "Người có công với cách mạng",
        "ư ơ đ ạ ễ ỹ Đ",
        "Hộ tịch – Tư pháp",
        "Công chứng, chứng thực",
        "Trung tâm Phục vụ hành chính công",
    ]
    assert len(texts) > 20
    for text in texts:
        assert missing_glyphs(text) == [], text
        assert missing_glyphs(text, bold=True) == [], text
    # the check does notice a letter the font lacks
    assert missing_glyphs("Số 漢") == ["漢"]


def test_english_ticket_prints_english_text() -> None:
    layout = layout_for(80)
    job = make_job(
        lang="en", service_name="Civil status – Justice", people_ahead=1, estimated_wait_min=1
    )
    commands = decode(render_ticket(job, 80))

    assert has_line(commands, "Queue number", layout.body_px)
    assert has_line(commands, "1 person ahead of you", layout.body_px)
    assert has_line(commands, "Estimated wait: about 1 minute", layout.body_px)
    assert has_line(commands, "Issued at: 08:15 05/03/2024", layout.body_px)
    assert has_line(commands, "Scan the QR code to follow your turn", layout.small_px)
    assert not has_line(commands, "Số thứ tự", layout.body_px)


def test_ticket_lines_read_naturally_for_counts_and_local_time() -> None:
    lines = ticket_lines(make_job())
    assert lines["issued_at"] == "Lấy số lúc: 08:15 05/03/2024"
    assert lines["ahead"] == "Trước ông/bà còn 8 người"
    assert lines["wait"] == "Thời gian chờ dự kiến: khoảng 15 phút"
    assert "priority" not in lines
    nobody = ticket_lines(make_job(people_ahead=0, estimated_wait_min=0, priority="Người cao tuổi"))
    assert nobody["ahead"] == "Ông/bà là người tiếp theo"
    assert nobody["wait"] == "Thời gian chờ dự kiến: dưới 1 phút"
    assert nobody["priority"] == "Ưu tiên: Người cao tuổi"
    # 17:30 UTC is already the next day in Hà Nội
    late = ticket_lines(make_job(issued_at="2024-12-31T17:30:00Z"))
    assert late["issued_at"] == "Lấy số lúc: 00:30 01/01/2025"


def test_priority_ticket_carries_a_white_on_black_mark() -> None:
    def dark_bars(job: TicketJob) -> int:
        count = 0
        for raster in rasters(decode(render_ticket(job, 80))):
            grey = raster.image.convert("L")
            black = grey.histogram()[0]
            count += black > 0.5 * grey.width * grey.height
        return count

    assert dark_bars(make_job()) == 0
    assert dark_bars(make_job(priority="Người cao tuổi")) == 1


def test_label_outside_the_printer_font_is_printed_as_an_image() -> None:
    plain = rasters(decode(render_ticket(make_job(), 80)))
    commands = decode(render_ticket(make_job(label="Đ001"), 80))
    assert not [c for c in commands if isinstance(c, Text)]
    number = max(rasters(commands), key=lambda r: r.height)
    assert len(rasters(commands)) == len(plain) + 1
    assert number.height >= 100  # still large


def test_unsupported_paper_width_is_refused() -> None:
    with pytest.raises(ValueError, match=r"72.*58 mm or 80 mm"):
        render_ticket(make_job(), 72)


def test_payload_round_trip_and_clear_errors() -> None:
    job = make_job(priority="Phụ nữ mang thai", lang="en")
    assert TicketJob.from_payload(job.to_payload()) == job

    payload = make_job().to_payload()
    del payload["lang"]
    payload["priority"] = ""
    assert TicketJob.from_payload(payload) == make_job()

    cases = {
        "tracking_url": None,
        "people_ahead": -1,
        "ticket_id": "7",
        "estimated_wait_min": True,
        "label": " ",
        "lang": "fr",
        "issued_at": "2024-03-05T08:15:00",
    }
    for field, bad in cases.items():
        broken = {**make_job().to_payload(), field: bad}
        with pytest.raises(TicketJobError, match=field) as info:
            TicketJob.from_payload(broken)
        assert info.value.field == field
    missing = make_job().to_payload()
    del missing["service_name"]
    with pytest.raises(TicketJobError, match="'service_name': is missing"):
        TicketJob.from_payload(missing)
    with pytest.raises(TicketJobError, match="tracking_url"):
        make_job(tracking_url="motcua.gov.vn/t/abc")
    with pytest.raises(TicketJobError, match="tracking_url.*longer than 300"):
        make_job(tracking_url="https://motcua.gov.vn/" + "x" * 300)


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_preview_shows_a_big_number_on_paper_width(tmp_path: Path, paper_mm: int) -> None:
    path = preview_png(
        render_ticket(make_job(priority="Người cao tuổi"), paper_mm), tmp_path / "t.png", paper_mm
    )
    image = Image.open(path).convert("L")
    assert image.width == paper_mm * 8
    ink = image.point(lambda v: 255 if v < 128 else 0)
    inked_rows = [
        ink.crop((0, y, ink.width, y + 1)).getbbox() is not None for y in range(ink.height)
    ]
    blocks, run = [], 0
    for inked in [*inked_rows, False]:
        if not inked and run:
            blocks.append(run)
        run = run + 1 if inked else 0
    # two solid blocks taller than 11 mm: the queue number and the QR code
    assert len([b for b in blocks if b >= 90]) == 2, blocks
    assert image.height > 700


def test_decoder_refuses_unknown_and_truncated_commands() -> None:
    with pytest.raises(EscposDecodeError, match="offset 2"):
        decode(b"\x1b@\x1b\x7f")
    with pytest.raises(EscposDecodeError, match="GS v 0 image data"):
        decode(b"\x1dv0\x00\x02\x00\x05\x00" + b"\xff" * 3)
    raster = decode(b"\x1dv0\x00\x01\x00\x02\x00\x80\x01")[0]
    assert isinstance(raster, Raster)
    assert raster.image.getpixel((0, 0)) == 0 and raster.image.getpixel((7, 1)) == 0
    assert raster.image.getpixel((1, 0)) == 255


def test_rendering_a_ticket_is_fast() -> None:
    render_ticket(make_job(), 80)  # fonts and python-escpos profile loaded once
    start = time.perf_counter()
    for _ in range(10):
        render_ticket(make_job(), 80)
    per_ticket = (time.perf_counter() - start) / 10
    assert per_ticket < 0.25


# --- issue 16.9: one form of address, the counters, digits apart ---------------------------


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_ticket_addresses_the_citizen_as_ong_ba_and_lists_the_counters(paper_mm: int) -> None:
    layout = layout_for(paper_mm)
    job = make_job(counters=(1, 2, 5), people_ahead=0)
    commands = decode(render_ticket(job, paper_mm))
    assert has_line(commands, "Quầy phục vụ: 1, 2, 5", layout.body_px, bold=True)
    assert has_line(commands, "Ông/bà là người tiếp theo", layout.body_px)
    assert has_line(commands, "Trước ông/bà còn 8 người", layout.body_px) is False
    assert has_line(
        decode(render_ticket(make_job(), paper_mm)), "Trước ông/bà còn 8 người", layout.body_px
    )
    # an English ticket says "Counters"
    en = decode(render_ticket(make_job(counters=(3,), lang="en"), paper_mm))
    assert has_line(en, "Counters: 3", layout.body_px, bold=True)


def test_a_job_without_counters_prints_no_counter_line_and_bad_counters_are_refused() -> None:
    payload = make_job().to_payload()
    del payload["counters"]  # an older server
    assert TicketJob.from_payload(payload).counters == ()
    assert "counters" not in ticket_lines(make_job())
    for bad in ([0], [True], ["1"], list(range(1, 60)), "1, 2"):
        with pytest.raises(TicketJobError, match="counters"):
            make_job(counters=bad)


def test_no_citizen_text_says_ban() -> None:
    """GLOSSARY: citizens are "ông/bà" everywhere (kiosk, ticket, phone pages, lookup)."""
    import re

    for key, texts in catalog().items():
        assert not re.search(r"\bbạn\b", texts["vi"], re.IGNORECASE), key
    assert catalog()["kiosk.paper_out"]["vi"] == (
        "Máy in hết giấy — vui lòng ghi lại số của ông/bà"
    )


def _ink_runs(columns: list[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for x, ink in enumerate([*columns, False]):
        if ink and start is None:
            start = x
        elif not ink and start is not None:
            runs.append((start, x))
            start = None
    return runs


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_the_big_number_digits_stand_apart_on_the_preview(paper_mm: int, tmp_path) -> None:
    """The preview draws what the printer prints: each digit of the number is its own
    block of ink with at least 1 mm (8 dots) of paper between neighbours."""
    png = preview_png(render_ticket(make_job(label="1088"), paper_mm), tmp_path / "t.png", paper_mm)
    image = Image.open(png).convert("L")
    ink_rows = [
        any(v < 128 for v in image.crop((0, y, image.width, y + 1)).getdata())
        for y in range(image.height)
    ]
    bands = _ink_runs(ink_rows)
    # the first line of ink taller than 70 dots is the number (the QR code comes later)
    top, bottom = next(b for b in bands if b[1] - b[0] >= 70)
    band = image.crop((0, top, image.width, bottom))
    columns = [
        any(v < 128 for v in band.crop((x, 0, x + 1, band.height)).getdata())
        for x in range(band.width)
    ]
    runs = _ink_runs(columns)
    assert len(runs) == 4, runs
    gaps = [b[0] - a[1] for a, b in zip(runs, runs[1:], strict=False)]
    assert min(gaps) >= 8, gaps
