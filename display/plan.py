"""The board's layout model: boxes and strings with their size, colour and place.

``display.render`` and ``display.panels`` fill a ``BoardPlan``; ``render.draw_plan``
paints it.  Tests read the plan to know exactly what was drawn where and how big.
Text on the board is never smaller than ``MIN_TEXT_PX`` (40 px at 1080p: readable from
10 m on a 55" TV); a line too long for its box wraps onto the next line instead of
being cut, and only a single word wider than its box is shrunk (never below the
minimum) or, as a last resort, cut with "…".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from display.fonts import Color, fit_text, text_size

MIN_TEXT_PX = 40
"""The smallest text anywhere on the board (logical 1920×1080 pixels)."""

BACKGROUND: Color = (8, 27, 66)
HEADER: Color = (3, 14, 40)
PANEL: Color = (18, 48, 108)
TILE: Color = (14, 39, 90)
TILE_ENDED: Color = (10, 30, 70)
WHITE: Color = (255, 255, 255)
YELLOW: Color = (255, 214, 0)
MUTED: Color = (176, 196, 230)
DIM: Color = (120, 140, 178)
ORANGE: Color = (255, 164, 72)
ALERT: Color = (255, 140, 140)
LETTERBOX: Color = (0, 0, 0)

Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class TextItem:
    text: str
    size: int
    bold: bool
    color: Color
    x: int
    y: int
    clip: Rect | None = None

    @property
    def rect(self) -> Rect:
        width, height = text_size(self.text, self.size, self.bold)
        return (self.x, self.y, width, height)


@dataclass(frozen=True)
class Box:
    rect: Rect
    color: Color
    radius: int = 0


@dataclass
class BoardPlan:
    boxes: list[Box] = field(default_factory=list)
    texts: list[TextItem] = field(default_factory=list)
    regions: dict[str, Rect] = field(default_factory=dict)
    """Named areas (``"current"``, ``"recent"``, ``"counters"``, ``"services"`` …) and,
    for paged columns, ``"<column>.page"`` = (page, pages, period ms, elapsed ms)."""

    def box(self, rect: Rect, color: Color, radius: int = 0) -> None:
        self.boxes.append(Box(rect, color, radius))

    def text(
        self,
        text: str,
        box: Rect,
        size: int,
        color: Color,
        *,
        bold: bool = False,
        align: str = "left",
        valign: str = "middle",
        min_size: int = MIN_TEXT_PX,
    ) -> TextItem:
        """Place ``text`` inside ``box``, shrinking it (then cutting it with …) to fit."""
        x, y, w, h = box
        text, size = fit_text(text, w, h, size, bold, min(size, min_size))
        tw, th = text_size(text, size, bold)
        if align == "right":
            x += w - tw
        elif align == "center":
            x += (w - tw) // 2
        if valign == "middle":
            y += (h - th) // 2
        elif valign == "bottom":
            y += h - th
        item = TextItem(text, size, bold, color, x, y)
        self.texts.append(item)
        return item

    def lines(
        self,
        lines: list[str],
        box: Rect,
        size: int,
        color: Color,
        *,
        bold: bool = False,
        line_h: int,
    ) -> list[TextItem]:
        """Lines from ``wrap``, one under the other from the top of ``box``."""
        x, y, w, _ = box
        return [
            self.text(line, (x, y + i * line_h, w, line_h), size, color, bold=bold)
            for i, line in enumerate(lines)
        ]


def wrap(text: str, width: int, size: int, bold: bool = False, sep: str = " ") -> list[str]:
    """``text`` broken into lines no wider than ``width`` at ``size``: first at ``sep``
    (e.g. " · " between service names, so a name stays whole when it can), then at
    spaces.  A single word wider than ``width`` keeps a line of its own (the caller's
    ``text`` shrinks it)."""
    if text_size(text, size, bold)[0] <= width:
        return [text]
    parts = text.split(sep) if sep != " " and sep in text else text.split(" ")
    joiner = sep if sep != " " and sep in text else " "
    lines: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{joiner}{part}" if current else part
        if text_size(candidate.strip(), size, bold)[0] <= width:
            current = candidate
            continue
        if current:
            lines.append(current.strip())
        if joiner != " " and text_size(part, size, bold)[0] > width:
            sub = wrap(part, width, size, bold)
            lines.extend(sub[:-1])
            current = sub[-1]
        else:
            current = part
    if current:
        lines.append(current.strip())
    return lines
