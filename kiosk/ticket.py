"""The printed queue ticket: what a citizen takes from the kiosk.

Thermal printers' code pages cannot print Vietnamese (no Đ, ư, ơ, no stacked tones), so
every line of words is drawn with Pillow and the bundled DejaVu font and sent as a raster
image (GS v 0).  Only the queue number (ASCII digits/letters) is printed with the printer's
own font, scaled up with GS !, because native text is sharper and far smaller on the wire;
the tracking link is a native QR code (GS ( k) so it stays crisp at any module size.

Each raster line is as wide as the printable area with the text centred inside it, so the
ticket looks the same on printers that ignore ESC a for images.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import qrcode
import qrcode.constants
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

import server
from server.i18n import LANGS, t

log = logging.getLogger(__name__)

FONT_DIR = Path(server.__file__).parent / "web" / "static" / "fonts"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TIME_FORMAT = "%H:%M %d/%m/%Y"
#: Printer font A cell, in dots: native text is this size times the GS ! multiplier.
NATIVE_CELL = (12, 24)
#: Blank dots right of each character of the big number (ESC SP n; the printer multiplies
#: them by the width multiplier): the digits stay apart when thermal paper bleeds.
NUMBER_SPACING = 3
#: Longest tracking link: keeps the QR code's modules big enough to scan on 58 mm paper.
MAX_URL = 300
#: Most counter numbers a ticket lists ("Quầy phục vụ: 1, 2, 5"), and the largest number.
MAX_COUNTERS = 40
MAX_COUNTER_NUMBER = 9999
#: Grey levels below this become printed dots.
INK_THRESHOLD = 128
_THRESHOLD_TABLE = [0 if v < INK_THRESHOLD else 255 for v in range(256)]
#: Glyphs reaching highest and lowest in Vietnamese text; sizes the line box so that
#: stacked tone marks on capitals are never clipped and every line has the same height.
_EXTREME_GLYPHS = "ẪẴỄỖỠỮỸẤẶĐÁgjpqyỵỹ"


class TicketJobError(ValueError):
    """A print job payload is missing a field or has a bad value (names the field)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"print job field {field!r}: {problem}")
        self.field = field


@dataclass(frozen=True)
class PaperLayout:
    """Sizes in printer dots (203 dpi, 8 dots per mm) for one paper width."""

    paper_mm: int
    dots: int  # printable width
    margin: int  # blank dots kept left and right of text
    title_px: int  # center name
    service_px: int  # service name
    body_px: int  # number title, time, people ahead, wait, priority
    small_px: int  # QR hint and footer
    line_gap: int  # blank rows under each text line
    section_gap: int  # dots fed between sections
    max_number_mult: int  # largest GS ! multiplier for the queue number
    qr_module: int  # dots per QR module (GS ( k size)


LAYOUTS: dict[int, PaperLayout] = {
    80: PaperLayout(
        paper_mm=80,
        dots=576,
        margin=16,
        title_px=26,
        service_px=38,
        body_px=26,
        small_px=22,
        line_gap=6,
        section_gap=16,
        max_number_mult=8,
        qr_module=7,
    ),
    58: PaperLayout(
        paper_mm=58,
        dots=384,
        margin=8,
        title_px=20,
        service_px=29,
        body_px=19,
        small_px=17,
        line_gap=4,
        section_gap=12,
        max_number_mult=8,
        qr_module=5,
    ),
}


def layout_for(paper_mm: int) -> PaperLayout:
    """The layout for a supported paper width; other widths are a configuration error."""
    try:
        return LAYOUTS[paper_mm]
    except KeyError:
        widths = " or ".join(f"{w} mm" for w in sorted(LAYOUTS))
        raise ValueError(f"unsupported paper width {paper_mm!r} mm: use {widths}") from None


@dataclass(frozen=True)
class TicketJob:
    """One ticket to print, as the server sends it in a ``print`` event."""

    job_id: str
    ticket_id: int
    center: str
    service_name: str
    label: str
    priority: str | None  # display name of the priority class, None for normal tickets
    issued_at: str  # ISO-8601 with offset
    people_ahead: int
    estimated_wait_min: int
    tracking_url: str
    lang: str = "vi"
    counters: tuple[int, ...] = ()  # the counters that serve this ticket's service

    def __post_init__(self) -> None:
        for name in ("job_id", "center", "service_name", "label", "issued_at", "tracking_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise TicketJobError(name, f"must be a non-empty string, got {value!r}")
        for name in ("ticket_id", "people_ahead", "estimated_wait_min"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TicketJobError(name, f"must be a whole number ≥ 0, got {value!r}")
        if self.priority is not None and (
            not isinstance(self.priority, str) or not self.priority.strip()
        ):
            raise TicketJobError("priority", f"must be a name or null, got {self.priority!r}")
        if not isinstance(self.counters, (list, tuple)) or len(self.counters) > MAX_COUNTERS:
            raise TicketJobError("counters", f"must be a list of at most {MAX_COUNTERS} numbers")
        for number in self.counters:
            if (
                isinstance(number, bool)
                or not isinstance(number, int)
                or not 0 < number <= MAX_COUNTER_NUMBER
            ):
                raise TicketJobError("counters", f"must hold counter numbers, got {number!r}")
        object.__setattr__(self, "counters", tuple(self.counters))
        if self.lang not in LANGS:
            raise TicketJobError("lang", f"must be one of {', '.join(LANGS)}, got {self.lang!r}")
        if len(self.tracking_url) > MAX_URL:
            raise TicketJobError("tracking_url", f"longer than {MAX_URL} characters")
        if not self.tracking_url.startswith(("https://", "http://")):
            raise TicketJobError(
                "tracking_url", f"must be an http(s) URL, got {self.tracking_url!r}"
            )
        self.issued_local()  # validates the time

    def issued_local(self) -> datetime:
        """Issue time in the center's zone (what the citizen's clock shows)."""
        try:
            when = datetime.fromisoformat(self.issued_at)
        except ValueError:
            raise TicketJobError("issued_at", f"not an ISO-8601 time: {self.issued_at!r}") from None
        if when.utcoffset() is None:
            raise TicketJobError("issued_at", f"needs a UTC offset: {self.issued_at!r}")
        return when.astimezone(TZ)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> TicketJob:
        """Build a job from the server's JSON, naming the first missing or bad field."""
        if not isinstance(payload, Mapping):
            raise TicketJobError("job", f"must be an object, got {type(payload).__name__}")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in payload:
                values[f.name] = payload[f.name]
            elif f.name == "lang":
                values["lang"] = "vi"
            elif f.name == "counters":  # a server from before counters were printed
                values["counters"] = ()
            else:
                raise TicketJobError(f.name, "is missing")
        if values["priority"] == "":
            values["priority"] = None
        return cls(**values)

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)


# --- text rasters -------------------------------------------------------------------------


def font_path(bold: bool = False) -> Path:
    return FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


@cache
def load_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The bundled font with the basic layout engine, so rasters do not depend on libraqm."""
    return ImageFont.truetype(str(font_path(bold)), size, layout_engine=ImageFont.Layout.BASIC)


@cache
def _line_box(size: int, bold: bool) -> tuple[int, int]:
    """Dots above and below the baseline that every line of this font gets."""
    font = load_font(size, bold)
    ascent, descent = font.getmetrics()
    _, top, _, bottom = font.getbbox(_EXTREME_GLYPHS, anchor="ls")
    return max(ascent, math.ceil(-top)), max(descent, math.ceil(bottom))


def missing_glyphs(text: str, bold: bool = False) -> list[str]:
    """Characters of ``text`` the bundled font would draw as the 'missing glyph' box."""
    font = load_font(24, bold)
    notdef = font.getmask("\U0010fffd")
    notdef_key = (notdef.size, bytes(notdef))
    missing = []
    for ch in dict.fromkeys(unicodedata.normalize("NFC", text)):
        if ch.isspace():
            continue
        mask = font.getmask(ch)
        if (mask.size, bytes(mask)) == notdef_key:
            missing.append(ch)
    return missing


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy word wrap by rendered width; a word wider than a line is split by letters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for ch in word:
            if current and font.getlength(current + ch) > max_width:
                lines.append(current)
                current = ""
            current += ch
    if current:
        lines.append(current)
    return _no_orphan(lines, font, max_width)


def _no_orphan(lines: list[str], font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Move one word down when the last line would hold a single short word alone."""
    if len(lines) < 2 or " " in lines[-1]:
        return lines
    head, _, moved = lines[-2].rpartition(" ")
    candidate = f"{moved} {lines[-1]}"
    if not head or " " not in head or font.getlength(candidate) > max_width:
        return lines
    return [*lines[:-2], head, candidate]


def text_raster(
    text: str,
    size: int,
    width: int,
    *,
    bold: bool = False,
    invert: bool = False,
    gap: int = 0,
    margin: int = 0,
) -> Image.Image:
    """One line of text as a 1-bit image ``width`` dots wide, centred, black on white.

    ``invert`` draws white text on a black bar between the margins (the priority mark).
    """
    font = load_font(size, bold)
    above, below = _line_box(size, bold)
    pad = 2 if invert else 0
    image = Image.new("L", (width, above + below + 2 * pad + gap), 255)
    draw = ImageDraw.Draw(image)
    if invert:
        draw.rectangle((margin, 0, width - margin - 1, above + below + 2 * pad - 1), fill=0)
    x = (width - round(font.getlength(text))) // 2
    draw.text((x, pad + above), text, font=font, fill=255 if invert else 0, anchor="ls")
    return image.point(_THRESHOLD_TABLE, "1")


def _rule(width: int, margin: int, gap: int) -> Image.Image:
    """A dashed separator line."""
    image = Image.new("1", (width, 2 + 2 * gap), 1)
    draw = ImageDraw.Draw(image)
    for x in range(margin, width - margin, 12):
        draw.rectangle((x, gap, min(x + 7, width - margin - 1), gap + 1), fill=0)
    return image


# --- the ticket ---------------------------------------------------------------------------


def ticket_lines(job: TicketJob) -> dict[str, str]:
    """Every catalog-sourced line of the ticket, in the job's language."""
    lang = job.lang
    if job.people_ahead == 0:
        ahead = t("ticket.ahead_none", lang)
    elif job.people_ahead == 1:
        ahead = t("ticket.ahead_one", lang)
    else:
        ahead = t("ticket.ahead", lang, n=job.people_ahead)
    if job.estimated_wait_min == 0:
        wait = t("ticket.wait_none", lang)
    elif job.estimated_wait_min == 1:
        wait = t("ticket.wait_one", lang)
    else:
        wait = t("ticket.wait", lang, n=job.estimated_wait_min)
    lines = {
        "number_title": t("ticket.number_title", lang),
        "issued_at": t("ticket.issued_at", lang, time=job.issued_local().strftime(TIME_FORMAT)),
        "ahead": ahead,
        "wait": wait,
        "scan_qr": t("ticket.scan_qr", lang),
        "watch_board": t("ticket.watch_board", lang),
    }
    if job.priority:
        lines["priority"] = t("ticket.priority", lang, name=job.priority)
    if job.counters:
        lines["counters"] = t(
            "ticket.counters", lang, counters=", ".join(str(n) for n in job.counters)
        )
    return lines


def number_multiplier(label: str, layout: PaperLayout) -> int:
    """The largest GS ! multiplier at which ``label`` fits between the margins (0: never)."""
    if not (label.isascii() and label.isprintable()):
        return 0
    fit = (layout.dots - 2 * layout.margin) // ((NATIVE_CELL[0] + NUMBER_SPACING) * len(label))
    return min(layout.max_number_mult, fit)


def _qr_module(url: str, layout: PaperLayout) -> int:
    """Module size that keeps the code inside the printable width."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    modules = code.best_fit() * 4 + 17  # version → modules, without building the matrix
    return max(1, min(layout.qr_module, (layout.dots - 2 * layout.margin) // modules))


def _printer(layout: PaperLayout) -> Dummy:
    """A byte-collecting printer whose profile knows the paper width.

    The default profile's width is 'Unknown', which makes python-escpos print a warning
    to stdout on every image; the profile data is class-level, so copy before editing.
    """
    printer = Dummy()
    data = dict(printer.profile.profile_data)
    data["media"] = {"dpi": 203, "width": {"mm": layout.paper_mm, "pixels": layout.dots}}
    printer.profile.profile_data = data
    return printer


def render_ticket(job: TicketJob, paper_mm: int = 80) -> bytes:
    """The ESC/POS byte stream for one ticket on ``paper_mm`` (58 or 80) paper."""
    layout = layout_for(paper_mm)
    width, margin = layout.dots, layout.margin
    lines = ticket_lines(job)
    p = _printer(layout)

    def words(text: str, size: int, *, bold: bool = False) -> None:
        text = unicodedata.normalize("NFC", text)
        for line in wrap_text(text, load_font(size, bold), width - 2 * margin):
            p.image(text_raster(line, size, width, bold=bold, gap=layout.line_gap))

    def feed(dots: int) -> None:
        p._raw(b"\x1bJ" + bytes([dots]))  # ESC J n: feed n dots, no text line

    p.hw("INIT")
    p.set(align="center")
    words(job.center, layout.title_px, bold=True)
    p.image(_rule(width, margin, layout.line_gap))
    words(job.service_name, layout.service_px, bold=True)
    feed(layout.section_gap)
    words(lines["number_title"], layout.body_px)

    mult = number_multiplier(job.label, layout)
    if mult >= 2:
        p.set(bold=True, smooth=True, custom_size=True, width=mult, height=mult)
        p._raw(b"\x1b " + bytes([NUMBER_SPACING]))  # ESC SP n: space between the digits
        p.text(job.label + "\n")
        p._raw(b"\x1b \x00")
        p.set(bold=False, smooth=False, custom_size=True, width=1, height=1)
    else:
        _big_label(p, job.label, layout)

    if "priority" in lines:
        priority = unicodedata.normalize("NFC", lines["priority"])
        size = layout.body_px
        font = load_font(size, True)
        for line in wrap_text(priority, font, width - 4 * margin):
            p.image(text_raster(line, size, width, bold=True, invert=True, margin=margin))
        feed(layout.line_gap)
    if "counters" in lines:
        words(lines["counters"], layout.body_px, bold=True)
    feed(layout.section_gap // 2)
    for key in ("issued_at", "ahead", "wait"):
        words(lines[key], layout.body_px)
    feed(layout.section_gap * 2)
    p.qr(job.tracking_url, ec=QR_ECLEVEL_M, size=_qr_module(job.tracking_url, layout), native=True)
    feed(layout.section_gap * 2)
    words(lines["scan_qr"], layout.small_px)
    words(lines["watch_board"], layout.small_px)
    p.cut()
    return p.output


def _big_label(p: Dummy, label: str, layout: PaperLayout) -> None:
    """The number as a raster, for labels the printer font cannot show large enough."""
    available = layout.dots - 2 * layout.margin
    size = NATIVE_CELL[1] * layout.max_number_mult
    while size > 24 and load_font(size, True).getlength(label) > available:
        size -= 4
    for line in wrap_text(label, load_font(size, True), available):
        p.image(text_raster(line, size, layout.dots, bold=True, gap=layout.line_gap))
