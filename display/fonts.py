"""The board's bundled fonts, and a glyph check that does not trust the renderer.

The board must never draw a tofu box in place of "ữ" or "Đ": a hall of citizens reads
names of services from it.  SDL_ttf silently substitutes the .notdef glyph (and even
reports metrics for it), so the only honest test of coverage is the font's own
character map: this module reads the TrueType ``cmap`` table directly.  Fonts always
come from the copy bundled with the ``server`` package, never from the system, so
every board looks the same whatever the host has installed.
"""

from __future__ import annotations

import logging
import os
import struct
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402  (the prompt switch above must precede the import)
import pygame.font  # noqa: E402

import server  # noqa: E402

logger = logging.getLogger(__name__)

FONT_DIR = Path(server.__file__).parent / "web/static/fonts"
REGULAR = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"

Color = tuple[int, int, int]


class FontError(Exception):
    """A font file is missing or is not a TrueType/OpenType font this module can read."""


def font_path(bold: bool = False) -> Path:
    return BOLD if bold else REGULAR


@lru_cache(maxsize=128)
def get_font(size: int, bold: bool = False) -> pygame.font.Font:
    """The bundled DejaVu at ``size`` pixels; cached, since opening a face is slow."""
    if size < 1:
        raise ValueError(f"font size must be positive, got {size}")
    if not pygame.font.get_init():
        pygame.font.init()
    path = font_path(bold)
    if not path.is_file():
        raise FontError(f"bundled font missing: {path}")
    return pygame.font.Font(str(path), size)


@lru_cache(maxsize=512)
def text_surface(text: str, size: int, bold: bool, color: Color) -> pygame.Surface:
    """Rendered text (anti-aliased, transparent background), NFC-normalised first.

    Cached because a board redraws the same strings many times a second; callers must
    treat the result as read-only.  NFC matters: text decomposed into base letter plus
    combining marks is placed badly by SDL_ttf, the precomposed letter is not.
    """
    return get_font(size, bold).render(unicodedata.normalize("NFC", text), True, color)


def text_size(text: str, size: int, bold: bool = False) -> tuple[int, int]:
    width, height = get_font(size, bold).size(unicodedata.normalize("NFC", text))
    return int(width), int(height)


def fit_text(
    text: str, width: int, height: int, size: int, bold: bool = False, min_size: int = 1
) -> tuple[str, int]:
    """The largest size ≤ ``size`` whose line box fits ``width``×``height``; text still
    too wide at ``min_size`` is cut and ends with "…" — a hall board must never spill a
    long service name over its neighbour."""
    measured_w, measured_h = text_size(text, size, bold)
    if measured_w > width or measured_h > height:
        size = max(min_size, int(size * min(width / measured_w, height / measured_h)))
        while size > min_size and _too_big(text, width, height, size, bold):
            size -= 1
    if text_size(text, size, bold)[0] <= width:
        return text, size
    while len(text) > 1 and text_size(text + "…", size, bold)[0] > width:
        text = text[:-1]
    return text.rstrip() + "…", size


def _too_big(text: str, width: int, height: int, size: int, bold: bool) -> bool:
    measured_w, measured_h = text_size(text, size, bold)
    return measured_w > width or measured_h > height


@cache
def supported_codepoints(path: Path | str) -> frozenset[int]:
    """Every code point the font maps to a real glyph, from its Unicode cmap subtables."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FontError(f"cannot read font {path}: {exc}") from exc
    try:
        return frozenset(_parse_cmap(data))
    except struct.error as exc:
        raise FontError(f"font {path} is truncated or malformed") from exc


def missing_glyphs(font_path: Path | str, text: str) -> set[str]:
    """Characters of ``text`` (as drawn: NFC) that the font has no glyph for.

    Control characters are skipped: they are never drawn.
    """
    codepoints = supported_codepoints(font_path)
    return {
        ch
        for ch in unicodedata.normalize("NFC", text)
        if unicodedata.category(ch) != "Cc" and ord(ch) not in codepoints
    }


def _parse_cmap(data: bytes) -> set[int]:
    num_tables = struct.unpack_from(">H", data, 4)[0]
    cmap_offset = None
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack_from(">4sLLL", data, 12 + 16 * i)
        if tag == b"cmap":
            cmap_offset = offset
            break
    if cmap_offset is None:
        raise FontError("font has no cmap table")
    _version, num_subtables = struct.unpack_from(">HH", data, cmap_offset)
    found: set[int] = set()
    seen_offsets: set[int] = set()
    for i in range(num_subtables):
        platform, encoding, sub_offset = struct.unpack_from(">HHL", data, cmap_offset + 4 + 8 * i)
        is_unicode = platform == 0 or (platform == 3 and encoding in (1, 10))
        start = cmap_offset + sub_offset
        if not is_unicode or start in seen_offsets:
            continue
        seen_offsets.add(start)
        fmt = struct.unpack_from(">H", data, start)[0]
        if fmt == 4:
            found |= _parse_format4(data, start)
        elif fmt == 12:
            found |= _parse_format12(data, start)
        else:
            logger.debug("skipping cmap subtable format %s", fmt)
    return found


def _parse_format4(data: bytes, start: int) -> set[int]:
    seg_count = struct.unpack_from(">H", data, start + 6)[0] // 2
    ends_at = start + 14
    starts_at = ends_at + 2 * seg_count + 2
    deltas_at = starts_at + 2 * seg_count
    range_offsets_at = deltas_at + 2 * seg_count
    ends = struct.unpack_from(f">{seg_count}H", data, ends_at)
    starts = struct.unpack_from(f">{seg_count}H", data, starts_at)
    deltas = struct.unpack_from(f">{seg_count}h", data, deltas_at)
    range_offsets = struct.unpack_from(f">{seg_count}H", data, range_offsets_at)
    found: set[int] = set()
    for seg in range(seg_count):
        first, last, delta, range_offset = starts[seg], ends[seg], deltas[seg], range_offsets[seg]
        if first == 0xFFFF:
            continue
        for code in range(first, last + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                address = range_offsets_at + 2 * seg + range_offset + 2 * (code - first)
                glyph = struct.unpack_from(">H", data, address)[0]
                if glyph:
                    glyph = (glyph + delta) & 0xFFFF
            if glyph:
                found.add(code)
    return found


def _parse_format12(data: bytes, start: int) -> set[int]:
    num_groups = struct.unpack_from(">L", data, start + 12)[0]
    found: set[int] = set()
    for i in range(num_groups):
        first, last, glyph = struct.unpack_from(">LLL", data, start + 16 + 12 * i)
        found.update(range(first if glyph else first + 1, last + 1))
    return found
