"""Read an ESC/POS byte stream back into commands, and draw what a printer would print.

Tests use :func:`decode` to assert on real bytes (is the number there, is the QR the
tracking link, does the ticket end with a cut) instead of trusting the code that wrote
them; the file printer backend uses :func:`preview_png` so a person can look at a ticket
without a printer.  Only the subset of ESC/POS that receipt printing needs is understood;
anything else is an :class:`EscposDecodeError` naming the byte offset, never a silent skip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw

from kiosk.ticket import NATIVE_CELL, load_font

log = logging.getLogger(__name__)

ESC, GS, DLE, LF, CR, HT, EOT = 0x1B, 0x1D, 0x10, 0x0A, 0x0D, 0x09, 0x04
#: Default line feed of a receipt printer (1/6 inch at 203 dpi, Epson uses 30 dots).
LINE_DOTS = 30
DOTS_PER_MM = 8
PRINTABLE_DOTS = {58: 384, 80: 576}
_ALIGN = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}
_QR_ERROR = {48: "L", 49: "M", 50: "Q", 51: "H"}
_QR_ERROR_LIB = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
#: ESC commands that only set state the preview does not draw: name, parameter bytes.
_ESC_SETTINGS = {
    ord("t"): ("codepage", 1),
    ord("M"): ("font", 1),
    ord("-"): ("underline", 1),
    ord("2"): ("line_spacing_default", 0),
    ord("3"): ("line_spacing", 1),
    ord("{"): ("upside_down", 1),
    ord("G"): ("double_strike", 1),
    ord("R"): ("charset", 1),
    ord("p"): ("drawer_pulse", 3),
    ord("V"): ("rotate", 1),
    ord("="): ("select_device", 1),
    ord("B"): ("buzzer", 2),
}
_GS_SETTINGS = {
    ord("b"): ("smoothing", 1),
    ord("B"): ("reverse", 1),
    ord("|"): ("density", 1),
    ord("h"): ("barcode_height", 1),
    ord("w"): ("barcode_width", 1),
    ord("H"): ("barcode_hri", 1),
    ord("f"): ("barcode_font", 1),
    ord("L"): ("left_margin", 2),
    ord("W"): ("print_width", 2),
    ord("a"): ("status_back", 1),
}


class EscposDecodeError(ValueError):
    """The stream holds a command this decoder does not know, or ends mid-command."""


@dataclass(frozen=True)
class Init:
    pass


@dataclass(frozen=True)
class Align:
    value: str  # "left" | "center" | "right"


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Size:
    width: int  # character width multiplier 1–8
    height: int


@dataclass(frozen=True)
class Bold:
    on: bool


@dataclass(frozen=True)
class PrintMode:
    """ESC ! n: font B, bold and double width/height packed in one byte."""

    value: int

    @property
    def size(self) -> Size:
        return Size(2 if self.value & 0x20 else 1, 2 if self.value & 0x10 else 1)

    @property
    def bold(self) -> bool:
        return bool(self.value & 0x08)


@dataclass(frozen=True)
class Raster:
    """GS v 0: a bit image, 1 bits are printed dots."""

    width_bytes: int
    height: int
    bitmap: bytes
    mode: int = 0  # bit 0 double width, bit 1 double height

    @property
    def width(self) -> int:
        return self.width_bytes * 8

    @property
    def image(self) -> Image.Image:
        """The image as Pillow 1-bit, black where the printer puts a dot."""
        inverted = self.bitmap.translate(bytes(255 - b for b in range(256)))
        return Image.frombytes("1", (self.width, self.height), inverted)


@dataclass(frozen=True)
class Qr:
    model: int  # 1, 2, or 3 (micro)
    size: int  # dots per module
    error: str  # "L" | "M" | "Q" | "H"
    data: str


@dataclass(frozen=True)
class Cut:
    mode: str  # "full" | "partial"
    feed: int = 0  # dots fed before cutting (GS V 65/66 n)


@dataclass(frozen=True)
class Feed:
    lines: int = 0
    dots: int = 0


@dataclass(frozen=True)
class Setting:
    """A known command that changes nothing a preview draws (code page, density…)."""

    name: str
    value: bytes = b""


@dataclass(frozen=True)
class CharSpacing:
    """ESC SP n: n blank dots right of each native character (times the width multiplier)."""

    dots: int


Command = (
    Init | Align | Text | Size | Bold | PrintMode | Raster | Qr | Cut | Feed | CharSpacing | Setting
)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise EscposDecodeError(f"stream ends inside {what} at offset {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]


def decode(data: bytes) -> list[Command]:
    """The commands in an ESC/POS stream, in order; runs of printable bytes become Text."""
    r = _Reader(data)
    out: list[Command] = []
    qr_state: dict[str, object] = {"model": 2, "size": 3, "error": "L", "data": ""}
    text = bytearray()

    def flush() -> None:
        if text:
            out.append(Text(text.decode("cp437")))
            text.clear()

    while r.pos < len(data):
        start = r.pos
        b = r.byte("stream")
        if b >= 0x20 or b == HT:
            text.append(b)
            continue
        flush()
        if b == LF:
            out.append(Feed(lines=1))
        elif b == CR:
            continue
        elif b == ESC:
            out.append(_decode_esc(r, start))
        elif b == GS:
            cmd = _decode_gs(r, start, qr_state)
            if cmd is not None:
                out.append(cmd)
        elif b == DLE and r.byte("DLE command") == EOT:
            out.append(Setting("status_query", r.take(1, "DLE EOT")))
        else:
            raise EscposDecodeError(f"unknown control byte 0x{b:02x} at offset {start}")
    flush()
    return out


def _decode_esc(r: _Reader, start: int) -> Command:
    c = r.byte("ESC command")
    if c == ord("@"):
        return Init()
    if c == ord("a"):
        n = r.byte("ESC a")
        if n not in _ALIGN:
            raise EscposDecodeError(f"ESC a with bad value {n} at offset {start}")
        return Align(_ALIGN[n])
    if c == ord("E"):
        return Bold(bool(r.byte("ESC E") & 1))
    if c == ord("!"):
        return PrintMode(r.byte("ESC !"))
    if c == ord("d"):
        return Feed(lines=r.byte("ESC d"))
    if c == ord("J"):
        return Feed(dots=r.byte("ESC J"))
    if c == ord(" "):
        return CharSpacing(r.byte("ESC SP"))
    if c in _ESC_SETTINGS:
        name, n = _ESC_SETTINGS[c]
        return Setting(name, r.take(n, f"ESC {chr(c)}"))
    raise EscposDecodeError(f"unsupported command ESC 0x{c:02x} at offset {start}")


def _decode_gs(r: _Reader, start: int, qr: dict[str, object]) -> Command | None:
    c = r.byte("GS command")
    if c == ord("!"):
        n = r.byte("GS !")
        return Size(((n >> 4) & 0x07) + 1, (n & 0x07) + 1)
    if c == ord("V"):
        m = r.byte("GS V")
        if m in (0, 48):
            return Cut("full")
        if m in (1, 49):
            return Cut("partial")
        if m in (65, 66):
            return Cut("full" if m == 65 else "partial", feed=r.byte("GS V n"))
        raise EscposDecodeError(f"GS V with unknown mode {m} at offset {start}")
    if c == ord("v"):
        if r.byte("GS v") != ord("0"):
            raise EscposDecodeError(f"unsupported GS v variant at offset {start}")
        mode, xl, xh, yl, yh = r.take(5, "GS v 0 header")
        width_bytes, height = xl + 256 * xh, yl + 256 * yh
        bitmap = r.take(width_bytes * height, "GS v 0 image data")
        return Raster(width_bytes, height, bitmap, mode & 0x03)
    if c == ord("("):
        fn_class = r.byte("GS (")
        pl, ph = r.take(2, "GS ( length")
        body = r.take(pl + 256 * ph, "GS ( data")
        if fn_class == ord("k"):
            return _decode_2d(body, start, qr)
        raise EscposDecodeError(f"unsupported command GS ( {chr(fn_class)!r} at offset {start}")
    if c in _GS_SETTINGS:
        name, n = _GS_SETTINGS[c]
        return Setting(name, r.take(n, f"GS {chr(c)}"))
    raise EscposDecodeError(f"unsupported command GS 0x{c:02x} at offset {start}")


def _decode_2d(body: bytes, start: int, qr: dict[str, object]) -> Command | None:
    """GS ( k: the QR functions set state; only 'print' (fn 81) yields a command."""
    if len(body) < 2:
        raise EscposDecodeError(f"GS ( k too short at offset {start}")
    cn, fn, params = body[0], body[1], body[2:]
    if cn != ord("1"):
        return Setting(f"2d_code_{cn}_{fn}", params)
    if fn == 65 and params:
        qr["model"] = params[0] - 48
    elif fn == 67 and params:
        qr["size"] = params[0]
    elif fn == 69 and params:
        if params[0] not in _QR_ERROR:
            raise EscposDecodeError(f"QR error level {params[0]} unknown at offset {start}")
        qr["error"] = _QR_ERROR[params[0]]
    elif fn == 80:
        qr["data"] = params[1:].decode("utf-8")
    elif fn == 81:
        return Qr(int(str(qr["model"])), int(str(qr["size"])), str(qr["error"]), str(qr["data"]))
    else:
        return Setting(f"qr_function_{fn}", params)
    return None


# --- preview ------------------------------------------------------------------------------


class _Paper:
    """Accumulates printed strips (full paper width) top to bottom."""

    def __init__(self, paper_mm: int) -> None:
        if paper_mm not in PRINTABLE_DOTS:
            raise ValueError(f"unsupported paper width {paper_mm!r} mm: use 58 mm or 80 mm")
        self.width = paper_mm * DOTS_PER_MM
        self.printable = PRINTABLE_DOTS[paper_mm]
        self.left = (self.width - self.printable) // 2
        self.strips: list[Image.Image] = []
        self.align = "left"
        self.size = Size(1, 1)
        self.bold = False
        self.spacing = 0
        self.line: list[tuple[str, Size, bool, int]] = []

    def x_for(self, width: int) -> int:
        free = max(0, self.printable - width)
        offset = {"left": 0, "center": free // 2, "right": free}[self.align]
        return self.left + offset

    def blank(self, dots: int) -> None:
        if dots > 0:
            self.strips.append(Image.new("L", (self.width, dots), 255))

    def place(self, image: Image.Image) -> None:
        strip = Image.new("L", (self.width, image.height), 255)
        strip.paste(image.convert("L"), (self.x_for(image.width), 0))
        self.strips.append(strip)

    def flush_line(self, *, empty_feed: bool) -> None:
        """Print the buffered text line (as the printer does on LF, ESC d, images)."""
        if not self.line:
            if empty_feed:
                self.blank(LINE_DOTS)
            return
        cell_w, cell_h = NATIVE_CELL
        height = max(LINE_DOTS, *(cell_h * s.height for _, s, _, _ in self.line))
        width = sum((cell_w + sp) * s.width * len(txt) for txt, s, _, sp in self.line)
        image = Image.new("L", (max(1, width), height), 255)
        x = 0
        for txt, size, bold, spacing in self.line:
            w, h = cell_w * size.width, cell_h * size.height
            font = load_font(20 * size.height, bold)
            for ch in txt:
                # drawn at the height's scale, then stretched like the printer's font
                cell = Image.new("L", (cell_w * size.height, h), 255)
                ImageDraw.Draw(cell).text(
                    (cell.width // 2, h * 19 // 24), ch, font=font, fill=0, anchor="ms"
                )
                if cell.width != w:
                    cell = cell.resize((w, h))
                image.paste(cell, (x, height - h))
                x += w + spacing * size.width
        self.line.clear()
        self.place(image)

    def render(self) -> Image.Image:
        top = bottom = 3 * DOTS_PER_MM
        total = top + bottom + sum(s.height for s in self.strips)
        page = Image.new("L", (self.width, total), 255)
        y = top
        for strip in self.strips:
            page.paste(strip, (0, y))
            y += strip.height
        return page


def preview_png(data: bytes, path: Path, paper_mm: int) -> Path:
    """Draw what the printer would print from ``data`` and save it as a PNG at ``path``.

    Raster images are pasted as sent, native text is drawn in printer-font cells at its
    GS ! size, the QR is rebuilt from the stored data; a cut is a dashed line.
    """
    paper = _Paper(paper_mm)
    for cmd in decode(data):
        match cmd:
            case Init():
                paper.align, paper.size, paper.bold = "left", Size(1, 1), False
                paper.spacing = 0
            case CharSpacing(dots):
                paper.spacing = dots
            case Align(value):
                paper.align = value
            case Size():
                paper.size = cmd
            case PrintMode():
                paper.size, paper.bold = cmd.size, cmd.bold
            case Bold(on):
                paper.bold = on
            case Text(text):
                paper.line.append((text, paper.size, paper.bold, paper.spacing))
            case Feed(lines, dots):
                paper.flush_line(empty_feed=lines > 0)
                paper.blank(max(0, lines - 1) * LINE_DOTS + dots)
            case Raster():
                paper.flush_line(empty_feed=False)
                image = cmd.image
                if cmd.mode:
                    scale_w, scale_h = 1 + (cmd.mode & 1), 1 + ((cmd.mode >> 1) & 1)
                    image = image.resize((image.width * scale_w, image.height * scale_h))
                paper.place(image)
            case Qr():
                paper.flush_line(empty_feed=False)
                paper.place(_qr_image(cmd))
            case Cut(_, feed):
                paper.flush_line(empty_feed=False)
                paper.blank(feed)
                paper.strips.append(_cut_line(paper.width))
            case Setting():
                pass
    paper.flush_line(empty_feed=False)
    path = Path(path)
    paper.render().save(path, format="PNG")
    return path


def _qr_image(cmd: Qr) -> Image.Image:
    if cmd.model != 2:
        log.debug("previewing QR model %s as model 2", cmd.model)
    code = qrcode.QRCode(
        error_correction=_QR_ERROR_LIB[cmd.error], box_size=max(1, cmd.size), border=0
    )
    code.add_data(cmd.data)
    code.make(fit=True)
    matrix = code.get_matrix()
    n = len(matrix)
    small = Image.new("L", (n, n), 255)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    return small.resize((n * cmd.size, n * cmd.size), Image.Resampling.NEAREST)


def _cut_line(width: int) -> Image.Image:
    strip = Image.new("L", (width, 9), 255)
    draw = ImageDraw.Draw(strip)
    for x in range(0, width, 16):
        draw.line((x, 4, x + 8, 4), fill=128, width=1)
    return strip
