"""Draw a BoardState as a 1920×1080 hall board, readable from the back of the hall.

Rendering is split in two: ``plan_board`` decides every box and string with its size,
colour and place (pure, except for measuring text; the layout model is in
``display.plan``, the lower columns in ``display.panels``), ``render_board`` paints it.
Tests and tools read the plan to know exactly what was drawn where — every string can
be checked for missing glyphs and every region compared with the expected text —
without scraping pixels blindly.  All motion (clock, flashing, scrolling, paging) is a
function of the ``now`` passed in, so a frame is reproducible.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from display.fonts import text_size, text_surface
from display.panels import PAGE_S, plan_columns
from display.plan import (
    ALERT,
    BACKGROUND,
    HEADER,
    LETTERBOX,
    MIN_TEXT_PX,
    MUTED,
    PANEL,
    TILE,
    WHITE,
    YELLOW,
    BoardPlan,
    Box,
    Rect,
    TextItem,
    wrap,
)
from display.state import BoardState, age_seconds
from server.i18n import LANGS, t

import pygame  # isort: skip  (display.fonts silences pygame's banner before this import)

logger = logging.getLogger(__name__)

__all__ = [
    "BACKGROUND",
    "LETTERBOX",
    "PAGE_S",
    "PANEL",
    "TILE",
    "YELLOW",
    "BoardPlan",
    "Box",
    "TextItem",
    "plan_board",
    "render_board",
    "save_png",
]

LOGICAL_SIZE = (1920, 1080)
FLASH_S = 8.0
"""How long a new call flashes after it arrives."""
FLASH_PERIOD_S = 1.0
NOTICE_SPEED_PX_S = 120.0

FOOTER_RECT: Rect = (0, 1004, 1920, 76)
"""The bottom strip: scrolling notice and reconnecting mark (the only part that moves
every frame)."""
CURRENT_RECT: Rect = (40, 122, 1840, 300)
"""The main call: the newest call whose invitation still holds."""


def plan_board(state: BoardState, now: datetime) -> BoardPlan:
    """Everything the board draws at ``now``, in logical 1920×1080 coordinates."""
    plan = BoardPlan()
    plan.box((0, 0, *LOGICAL_SIZE), BACKGROUND)
    _plan_header(plan, state, now)
    _plan_current(plan, state, now)
    plan_columns(plan, state, now)
    _plan_footer(plan, state, now)
    return plan


def _plan_header(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    plan.box((0, 0, 1920, 110), HEADER)
    clock = t("board.clock", lang, hour=now.hour, minute=now.minute, second=now.second)
    clock_item = plan.text(clock, (1560, 0, 320, 110), 60, YELLOW, bold=True, align="right")
    weekday = t(f"board.weekday.{now.weekday()}", lang)
    date = t("board.date", lang, weekday=weekday, day=now.day, month=now.month, year=now.year)
    date_item = plan.text(date, (1100, 0, clock_item.x - 32 - 1100, 110), 40, WHITE, align="right")
    center = state.center or t("board.center_default", lang)
    width = date_item.x - 40 - 40
    lines = wrap(center, width, 44, bold=True)
    if len(lines) > 1:
        lines = _balanced(center, width)
    top = (110 - 50 * len(lines)) // 2
    for i, line in enumerate(lines):
        plan.text(line, (40, top + 50 * i, width, 50), 44, WHITE, bold=True)


def _balanced(text: str, width: int) -> list[str]:
    """A long center name on two lines of about equal length (at most two)."""
    words = text.split()
    best: list[str] = wrap(text, width, MIN_TEXT_PX, bold=True)[:2]
    best_w = width + 1
    for cut in range(1, len(words)):
        lines = [" ".join(words[:cut]), " ".join(words[cut:])]
        widest = max(text_size(line, MIN_TEXT_PX, True)[0] for line in lines)
        if widest < best_w:
            best, best_w = lines, widest
    return best


def _plan_current(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    call = state.main_call
    panel = CURRENT_RECT
    plan.regions["current"] = panel
    if call is None:
        plan.box(panel, PANEL, 24)
        key = "board.call.waiting" if state.recent_calls else "board.call.none"
        plan.text(t(key, lang), panel, 60, MUTED, align="center")
        return
    x0, y0 = panel[0], panel[1]
    lit = flash_lit(state, now)
    fill, number_color, text_color = (
        (YELLOW, BACKGROUND, BACKGROUND) if lit else (PANEL, YELLOW, WHITE)
    )
    plan.box(panel, fill, 24)
    plan.text(t("board.call.number_caption", lang), (x0 + 50, y0 + 6, 820, 50), 42, text_color)
    plan.text(t("board.call.counter_caption", lang), (x0 + 1070, y0 + 6, 740, 50), 42, text_color)
    plan.text(call.label, (x0 + 50, y0 + 56, 860, 190), 170, number_color, bold=True, min_size=60)
    plan.text(
        t("board.call.arrow", lang),
        (x0 + 910, y0 + 56, 160, 190),
        120,
        text_color,
        bold=True,
        align="center",
    )
    plan.text(
        t("board.call.counter", lang, number=call.counter),
        (x0 + 1070, y0 + 56, 740, 190),
        160,
        number_color,
        bold=True,
        min_size=60,
    )
    service = state.service_name(call.service, call.service_name)
    plan.text(service, (x0 + 50, y0 + 246, 1100, 50), 40, text_color)
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
        plan.text(extra, (x0 + 1160, y0 + 246, 650, 50), 40, text_color, align="right")


def flash_lit(state: BoardState, now: datetime) -> bool:
    """Is the current call in the bright half of its flash at ``now``?"""
    call = state.main_call
    if call is None:
        return False
    age = age_seconds(call, now)
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
        width = text_size(mark, MIN_TEXT_PX)[0] + 40
        right = 1920 - width - 16
        plan.box((right, 1012, width, 60), (70, 20, 30), 30)
        plan.text(mark, (right, 1012, width, 60), MIN_TEXT_PX, ALERT, align="center")
    notice = " ".join(state.notice.split())
    if not notice:
        return
    clip = (24, 1004, right - 48, 76)
    text_w, text_h = text_size(notice, MIN_TEXT_PX)
    span = text_w + 240
    offset = (now.timestamp() * NOTICE_SPEED_PX_S) % span
    x = clip[0] + clip[2] - offset
    y = 1004 + (76 - text_h) // 2
    while x > clip[0] - text_w:
        plan.texts.append(TextItem(notice, MIN_TEXT_PX, False, WHITE, int(x), y, clip))
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
