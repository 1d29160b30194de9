"""Draw a BoardState as a 1920×1080 hall board, readable from the back of the hall.

Rendering is split in two: ``plan_board`` decides every box and string with its size,
colour and place (pure, except for measuring text), ``render_board`` paints the plan.
Tests and tools read the plan to know exactly what was drawn where — every string can
be checked for missing glyphs and every region compared with the expected text —
without scraping pixels blindly.  All motion (clock, flashing, scrolling, paging) is a
function of the ``now`` passed in, so a frame is reproducible.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from display.fonts import Color, fit_text, text_size, text_surface
from display.payload import Counter, Service
from display.state import BoardState, age_seconds
from server.i18n import LANGS, t
from server.protocol import CounterState, PauseReason

import pygame  # isort: skip  (display.fonts silences pygame's banner before this import)

logger = logging.getLogger(__name__)

LOGICAL_SIZE = (1920, 1080)
FLASH_S = 8.0
"""How long a new call flashes after it arrives."""
FLASH_PERIOD_S = 1.0
PAGE_S = 10.0
"""Counters or services that do not fit rotate through pages this often."""
NOTICE_SPEED_PX_S = 120.0
RECENT_ROWS = 7

BACKGROUND: Color = (8, 27, 66)
HEADER: Color = (3, 14, 40)
PANEL: Color = (18, 48, 108)
TILE: Color = (14, 39, 90)
WHITE: Color = (255, 255, 255)
YELLOW: Color = (255, 214, 0)
MUTED: Color = (176, 196, 230)
ORANGE: Color = (255, 164, 72)
ALERT: Color = (255, 140, 140)
LETTERBOX: Color = (0, 0, 0)

Rect = tuple[int, int, int, int]
FOOTER_RECT: Rect = (0, 1004, 1920, 76)
"""The bottom strip: scrolling notice and reconnecting mark (the only part that moves
every frame)."""


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
        min_size: int = 18,
    ) -> TextItem:
        """Place ``text`` inside ``box``, shrinking it (then cutting it with …) to fit."""
        x, y, w, h = box
        text, size = fit_text(text, w, h, size, bold, min_size)
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


def _page(items: list, per_page: int, now: datetime) -> tuple[list, int, int]:
    pages = max(1, math.ceil(len(items) / per_page))
    index = int(now.timestamp() // PAGE_S) % pages
    return items[index * per_page : (index + 1) * per_page], index + 1, pages


def plan_board(state: BoardState, now: datetime) -> BoardPlan:
    """Everything the board draws at ``now``, in logical 1920×1080 coordinates."""
    plan = BoardPlan()
    plan.box((0, 0, *LOGICAL_SIZE), BACKGROUND)
    _plan_header(plan, state, now)
    _plan_current(plan, state, now)
    _plan_recent(plan, state)
    _plan_counters(plan, state, now)
    _plan_services(plan, state, now)
    _plan_footer(plan, state, now)
    return plan


def _column_title(plan: BoardPlan, text: str, left: int, width: int, pager: str = "") -> None:
    """A column's yellow title, with the page ("2/3") at its right when the column pages."""
    title = plan.text(text, (left, 536, width - (90 if pager else 0), 56), 40, YELLOW, bold=True)
    if pager:
        end = title.x + title.rect[2] + 20
        plan.text(pager, (end, 536, left + width - end, 56), 32, MUTED, align="right")


def _pager(lang: str, page: int, pages: int) -> str:
    return t("board.page", lang, page=page, pages=pages) if pages > 1 else ""


def _plan_header(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    plan.box((0, 0, 1920, 120), HEADER)
    clock = t("board.clock", lang, hour=now.hour, minute=now.minute, second=now.second)
    clock_item = plan.text(clock, (1560, 0, 320, 120), 64, YELLOW, bold=True, align="right")
    weekday = t(f"board.weekday.{now.weekday()}", lang)
    date = t("board.date", lang, weekday=weekday, day=now.day, month=now.month, year=now.year)
    plan.text(date, (1120, 0, clock_item.x - 40 - 1120, 120), 38, WHITE, align="right")
    center = state.center or t("board.center_default", lang)
    plan.text(center, (40, 0, 1060, 120), 46, WHITE, bold=True, min_size=26)


def _plan_current(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    call = state.current_call
    panel = (40, 136, 1840, 388)
    if call is None:
        plan.box(panel, PANEL, 24)
        plan.text(t("board.call.none", lang), panel, 64, MUTED, align="center")
        return
    lit = flash_lit(state, now)
    fill, number_color, text_color = (
        (YELLOW, BACKGROUND, BACKGROUND) if lit else (PANEL, YELLOW, WHITE)
    )
    plan.box(panel, fill, 24)
    plan.text(t("board.call.number_caption", lang), (90, 144, 820, 59), 50, text_color)
    plan.text(t("board.call.counter_caption", lang), (1110, 144, 740, 59), 50, text_color)
    plan.text(call.label, (90, 203, 860, 257), 220, number_color, bold=True, min_size=60)
    plan.text(
        t("board.call.arrow", lang),
        (950, 203, 160, 257),
        150,
        text_color,
        bold=True,
        align="center",
    )
    plan.text(
        t("board.call.counter", lang, number=call.counter),
        (1110, 203, 740, 257),
        190,
        number_color,
        bold=True,
        min_size=60,
    )
    service = state.service_name(call.service, call.service_name)
    plan.text(service, (90, 464, 1100, 47), 40, text_color)
    extra = call.counter_name
    if extra in {
        str(call.counter),
        *(t("board.call.counter", x, number=call.counter) for x in LANGS),
    }:
        extra = ""
    if call.recall:
        extra = (
            f"{t('board.call.recall', lang)} · {extra}" if extra else t("board.call.recall", lang)
        )
    if extra:
        plan.text(extra, (1200, 464, 650, 47), 40, text_color, align="right")


def _plan_recent(plan: BoardPlan, state: BoardState) -> None:
    lang = state.lang
    left, width = 40, 470
    _column_title(plan, t("board.recent.title", lang), left, width)
    calls = [c for c in state.recent_calls if c is not state.current_call][:RECENT_ROWS]
    for row, call in enumerate(calls):
        y = 596 + row * 58
        plan.box((left, y, width, 54), TILE, 10)
        plan.text(call.label, (left + 20, y, 200, 54), 42, WHITE, bold=True)
        plan.text(
            t("board.recent.row_counter", lang, number=call.counter),
            (left + 220, y, width - 240, 54),
            42,
            WHITE,
            align="right",
        )


def _pause_text(counter: Counter, lang: str) -> str:
    reason = counter.pause_reason
    if not reason:
        return ""
    if reason in {r.value for r in PauseReason}:
        return t(f"board.pause.{reason}", lang)
    return reason


def _plan_counters(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    left, top, width, height = 540, 596, 740, 400
    shown = [c for c in state.counters if c.state != CounterState.CLOSED]
    if not shown:
        _column_title(plan, t("board.counters.title", lang), left, width)
        return
    cols = 1 if len(shown) <= 5 else 2
    gap = 12
    rows = max(1, min(math.ceil(len(shown) / cols), (height + gap) // (64 + gap)))
    page, index, pages = _page(shown, rows * cols, now)
    _column_title(plan, t("board.counters.title", lang), left, width, _pager(lang, index, pages))
    tile_h = min(96, (height + gap) // rows - gap)
    tile_w = (width - gap * (cols - 1)) // cols
    for i, counter in enumerate(page):
        x = left + (i // rows) * (tile_w + gap)
        y = top + (i % rows) * (tile_h + gap)
        _plan_counter_tile(plan, counter, (x, y, tile_w, tile_h), lang)


def _plan_counter_tile(plan: BoardPlan, counter: Counter, box: Rect, lang: str) -> None:
    x, y, w, h = box
    plan.box(box, TILE, 10)
    name = t("board.call.counter", lang, number=counter.number)
    name_size = h * 45 // 100
    if counter.state != CounterState.PAUSED:
        plan.text(name, (x + 16, y, w // 2, h), name_size, WHITE)
        if counter.serving is not None:
            plan.text(
                counter.serving.label,
                (x + w // 2, y, w // 2 - 16, h),
                h * 6 // 10,
                YELLOW,
                bold=True,
                align="right",
            )
        else:
            plan.text(
                t("board.counters.free", lang),
                (x + w // 2, y, w // 2 - 16, h),
                name_size,
                MUTED,
                align="right",
            )
        return
    paused = t("board.counters.paused", lang)
    reason = _pause_text(counter, lang)
    name_w = text_size(name, name_size)[0]
    status = f"{paused} · {reason}" if reason else paused
    status_box = (x + name_w + 40, y, w - name_w - 56, h)
    if (
        not reason
        or fit_text(status, status_box[2], h, name_size, True, 1)[1] >= name_size * 3 // 4
    ):
        # Room enough: "Quầy 2 ........ Tạm nghỉ · Họp" on one line.
        plan.text(name, (x + 16, y, name_w, h), name_size, WHITE)
        plan.text(status, status_box, name_size, ORANGE, bold=True, align="right")
        return
    # Narrow tile: the reason gets a line of its own, the full width of the tile.
    half = (h - 8) // 2
    size = name_size * 85 // 100
    name_w = text_size(name, size)[0]
    plan.text(name, (x + 16, y + 4, name_w, half), size, WHITE)
    plan.text(
        paused,
        (x + name_w + 24, y + 4, w - name_w - 40, half),
        size,
        ORANGE,
        bold=True,
        align="right",
    )
    plan.text(reason, (x + 16, y + 4 + half, w - 32, half), size, ORANGE, min_size=20)


def _plan_services(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    left, top, width, height = 1310, 596, 570, 400
    services = state.zone_services
    if not services:
        _column_title(plan, t("board.services.title", lang), left, width)
        return
    row_h, gap = 88, 12
    per_page = max(1, (height + gap) // (row_h + gap))
    page, index, pages = _page(services, per_page, now)
    _column_title(plan, t("board.services.title", lang), left, width, _pager(lang, index, pages))
    for i, service in enumerate(page):
        _plan_service_row(plan, service, (left, top + i * (row_h + gap), width, row_h), lang)


def _plan_service_row(plan: BoardPlan, service: Service, box: Rect, lang: str) -> None:
    x, y, w, h = box
    plan.box(box, TILE, 10)
    name_color = WHITE if service.open else MUTED
    plan.text(service.name(lang), (x + 16, y + 4, w - 32, h // 2), 34, name_color, bold=True)
    line = (x + 16, y + h // 2, w - 32, h // 2 - 4)
    if not service.open:
        plan.text(t("board.services.closed", lang), line, 30, MUTED)
        return
    waiting = plan.text(t("board.services.waiting", lang, count=service.waiting), line, 30, YELLOW)
    start = waiting.x + waiting.rect[2] + 20
    if service.waiting and service.estimated_wait_min and x + w - 16 - start > 60:
        estimate = t("board.services.estimate", lang, minutes=service.estimated_wait_min)
        plan.text(estimate, (start, line[1], x + w - 16 - start, line[3]), 28, MUTED, align="right")


def flash_lit(state: BoardState, now: datetime) -> bool:
    """Is the current call in the bright half of its flash at ``now``?"""
    if state.current_call is None:
        return False
    age = age_seconds(state.current_call, now)
    return 0 <= age < FLASH_S and int(age / (FLASH_PERIOD_S / 2)) % 2 == 0


def still_key(state: BoardState, now: datetime) -> tuple[int, bool]:
    """What of ``now`` the board above the scrolling notice depends on: the clock's
    second (clock, pages) and the flash phase.  Two instants with the same key (and the
    same state) draw the same pixels there, so a screen loop re-plans only when the key
    or the state changes and redraws just the footer (``plan_footer``) in between."""
    return int(now.timestamp()), flash_lit(state, now)


def plan_footer(state: BoardState, now: datetime) -> BoardPlan:
    """The footer strip alone (scrolling notice, reconnecting mark) at ``now``."""
    plan = BoardPlan()
    _plan_footer(plan, state, now)
    return plan


def _plan_footer(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    bar = FOOTER_RECT
    plan.box(bar, HEADER)
    right = 1920
    if not state.connected:
        mark = t("board.reconnecting", state.lang)
        width = text_size(mark, 28)[0] + 40
        right = 1920 - width - 16
        plan.box((right, 1016, width, 52), (70, 20, 30), 26)
        plan.text(mark, (right, 1016, width, 52), 28, ALERT, align="center")
    notice = " ".join(state.notice.split())
    if not notice:
        return
    clip = (24, 1004, right - 48, 76)
    text_w, text_h = text_size(notice, 40)
    span = text_w + 240
    offset = (now.timestamp() * NOTICE_SPEED_PX_S) % span
    x = clip[0] + clip[2] - offset
    y = 1004 + (76 - text_h) // 2
    while x > clip[0] - text_w:
        plan.texts.append(TextItem(notice, 40, False, WHITE, int(x), y, clip))
        x -= span


def draw_plan(plan: BoardPlan, surface: pygame.Surface) -> None:
    for box in plan.boxes:
        pygame.draw.rect(surface, box.color, pygame.Rect(box.rect), border_radius=box.radius)
    for item in plan.texts:
        surface.set_clip(pygame.Rect(item.clip) if item.clip else None)
        surface.blit(text_surface(item.text, item.size, item.bold, item.color), (item.x, item.y))
    surface.set_clip(None)


def render_board(
    state: BoardState,
    now: datetime,
    surface: pygame.Surface | None = None,
    size: tuple[int, int] = LOGICAL_SIZE,
) -> pygame.Surface:
    """The board at ``now``; drawn into ``surface`` when given (letterboxed if its size
    is not the logical size), else into a new surface of ``size``."""
    target_size = surface.get_size() if surface is not None else size
    if target_size == LOGICAL_SIZE:
        logical = surface if surface is not None else pygame.Surface(LOGICAL_SIZE)
        draw_plan(plan_board(state, now), logical)
        return logical
    logical = pygame.Surface(LOGICAL_SIZE)
    draw_plan(plan_board(state, now), logical)
    if surface is None:
        return scale_to(logical, target_size)
    scale_into(logical, surface)
    return surface


def letterbox_rect(source_size: tuple[int, int], target_size: tuple[int, int]) -> pygame.Rect:
    """Where a source of ``source_size`` lands in ``target_size`` keeping its aspect."""
    sw, sh = source_size
    tw, th = target_size
    scale = min(tw / sw, th / sh)
    w, h = max(1, round(sw * scale)), max(1, round(sh * scale))
    return pygame.Rect((tw - w) // 2, (th - h) // 2, w, h)


def scale_into(surface: pygame.Surface, target: pygame.Surface) -> pygame.Rect:
    """Letterbox ``surface`` into ``target`` (black bars); returns the content rect."""
    rect = letterbox_rect(surface.get_size(), target.get_size())
    target.fill(LETTERBOX)
    area = target.subsurface(rect)
    try:
        pygame.transform.smoothscale(surface, rect.size, area)
    except ValueError:
        # smoothscale needs 24/32-bit pixels; some display surfaces have fewer.
        pygame.transform.scale(surface, rect.size, area)
    return rect


def scale_to(surface: pygame.Surface, target_size: tuple[int, int]) -> pygame.Surface:
    """A new surface of ``target_size`` with ``surface`` letterboxed into it."""
    target = pygame.Surface(target_size)
    scale_into(surface, target)
    return target


def save_png(
    state: BoardState, now: datetime, path: Path | str, size: tuple[int, int] = LOGICAL_SIZE
) -> Path:
    """Render and write a PNG atomically (a viewer never sees half a file)."""
    return write_png(render_board(state, now, size=size), path)


def write_png(surface: pygame.Surface, path: Path | str) -> Path:
    """Write an already drawn board as a PNG, atomically (temporary file + rename)."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        pygame.image.save(surface, tmp_name)
        os.replace(tmp_name, path)
    except (OSError, pygame.error):
        Path(tmp_name).unlink(missing_ok=True)
        raise
    logger.debug("board snapshot written to %s", path)
    return path
