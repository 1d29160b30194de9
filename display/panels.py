"""The board's three lower columns: recent calls, counters, people waiting.

Every string is at least ``MIN_TEXT_PX``; a counter's services or pause reason and a
service's name wrap onto more lines rather than being cut.  A column shows all its
items at once when they fit; when they do not, it rotates through pages every
``PAGE_S`` seconds and says so: "Trang 1/2" and a bar filling up to the next page.
The waiting column first tries rows with the estimate, then one-line rows (name and
count), and pages only when even those do not fit; the counters column likewise first
tries tiles with each counter's services, then one line per counter (a paused one keeps
its reason), so the demo's ten counters take two pages, not four.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from display.fonts import text_size
from display.payload import Call, Counter, Service
from display.plan import (
    DIM,
    MIN_TEXT_PX,
    MUTED,
    ORANGE,
    TILE,
    TILE_ENDED,
    WHITE,
    YELLOW,
    BoardPlan,
    Rect,
    wrap,
)
from display.state import BoardState
from server.i18n import t
from server.protocol import CallState, CounterState, PauseReason

PAGE_S = 10.0
"""A column that does not fit turns to its next page this often."""

LOWER_TOP = 436
TITLE_H = 52
CONTENT_TOP = LOWER_TOP + TITLE_H + 8
CONTENT_BOTTOM = 994
PAGER_H = 52
GAP = 6
LINE_H = 48
"""One line of 40 px text (DejaVu's line box is 47 px)."""
PAD = 6
COMPACT_PAD = 4

RECENT = (40, 580)
COUNTERS = (640, 600)
SERVICES = (1260, 620)
RECENT_ROWS = 8


@dataclass(frozen=True)
class _Item:
    height: int
    draw: Callable[[BoardPlan, int], None]
    """Draws the item with its top at the given y."""


def plan_columns(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    _plan_recent(plan, state)
    _plan_counters(plan, state, now)
    _plan_services(plan, state, now)


def _title(plan: BoardPlan, text: str, left: int, width: int) -> None:
    plan.text(text, (left, LOWER_TOP, width, TITLE_H), 42, YELLOW, bold=True)


def _pages(items: list[_Item], height: int) -> list[list[_Item]]:
    pages: list[list[_Item]] = [[]]
    used = 0
    for item in items:
        need = item.height + (GAP if pages[-1] else 0)
        if pages[-1] and used + need > height:
            pages.append([])
            used, need = 0, item.height
        pages[-1].append(item)
        used += need
    return pages


def _fits(items: list[_Item], height: int) -> bool:
    return sum(i.height for i in items) + GAP * max(0, len(items) - 1) <= height


def _place(
    plan: BoardPlan, name: str, items: list[_Item], left: int, width: int, now: datetime, lang: str
) -> None:
    """Items top-down in the column; pages (with their pager) when they do not fit."""
    full = CONTENT_BOTTOM - CONTENT_TOP
    plan.regions[name] = (left, CONTENT_TOP, width, full)
    pages = [items] if _fits(items, full) else _pages(items, full - PAGER_H - GAP)
    period_ms = int(PAGE_S * 1000)
    elapsed_ms = int(now.timestamp() * 1000) % period_ms
    index = int(now.timestamp() // PAGE_S) % len(pages)
    y = CONTENT_TOP
    for item in pages[index]:
        item.draw(plan, y)
        y += item.height + GAP
    if len(pages) == 1:
        return
    plan.regions[f"{name}.page"] = (index + 1, len(pages), period_ms, elapsed_ms)
    top = CONTENT_BOTTOM - PAGER_H
    pager = plan.text(
        t("board.page", lang, page=index + 1, pages=len(pages)),
        (left, top, width // 2, PAGER_H),
        MIN_TEXT_PX,
        MUTED,
    )
    bar_x = pager.x + pager.rect[2] + 20
    bar_w = left + width - bar_x
    bar_y = top + (PAGER_H - 12) // 2
    plan.box((bar_x, bar_y, bar_w, 12), TILE, 6)
    filled = max(12, bar_w * elapsed_ms // period_ms)
    plan.box((bar_x, bar_y, filled, 12), YELLOW, 6)
    plan.regions[f"{name}.progress"] = (bar_x, bar_y, bar_w, 12)


# --- recent calls ------------------------------------------------------------------------


def _plan_recent(plan: BoardPlan, state: BoardState) -> None:
    lang = state.lang
    left, width = RECENT
    _title(plan, t("board.recent.title", lang), left, width)
    plan.regions["recent"] = (left, CONTENT_TOP, width, CONTENT_BOTTOM - CONTENT_TOP)
    main = state.main_call
    calls = [c for c in state.recent_calls if main is None or c.seq != main.seq]
    row_h = 56
    for row, call in enumerate(calls[:RECENT_ROWS]):
        _recent_row(plan, state, call, (left, CONTENT_TOP + row * (row_h + 6), width, row_h))


def _recent_row(plan: BoardPlan, state: BoardState, call: Call, box: Rect) -> None:
    x, y, w, h = box
    ended = state.call_ended(call)
    plan.box(box, TILE if ended is None else TILE_ENDED, 10)
    color = WHITE if ended is None else DIM
    plan.text(call.label, (x + 16, y, 130, h), 44, color, bold=True)
    counter = t("board.recent.row_counter", state.lang, number=call.counter)
    plan.text(counter, (x + 152, y, 180, h), MIN_TEXT_PX, color)
    if ended is not None:
        mark = t(f"board.ended.{ended}", state.lang)
        tint = ORANGE if ended == CallState.NO_SHOW else MUTED
        plan.text(mark, (x + 336, y, w - 350, h), MIN_TEXT_PX, tint, align="right")


# --- counters ----------------------------------------------------------------------------


def _pause_text(counter: Counter, lang: str) -> str:
    reason = counter.pause_reason
    if not reason:
        return ""
    if reason in {r.value for r in PauseReason}:
        return t(f"board.pause.{reason}", lang)
    return reason


def _plan_counters(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    left, width = COUNTERS
    _title(plan, t("board.counters.title", lang), left, width)
    shown = [c for c in state.counters if c.state != CounterState.CLOSED]
    items = [_counter_tile(state, c, left, width) for c in shown]
    if not _fits(items, CONTENT_BOTTOM - CONTENT_TOP):
        items = [_counter_tile(state, c, left, width, compact=True) for c in shown]
    _place(plan, "counters", items, left, width, now, lang)


def _counter_tile(
    state: BoardState, counter: Counter, left: int, width: int, *, compact: bool = False
) -> _Item:
    """A counter's name and ticket ("Quầy 4   1003") and, below, its services or its
    pause reason, wrapped.  Compact (when the tiles with their services do not all fit):
    one line per counter, and only a paused counter keeps its reason (the services
    column lists every service)."""
    lang = state.lang
    paused = counter.state == CounterState.PAUSED
    if paused:
        detail, color = _pause_text(counter, lang), ORANGE
    elif compact:
        detail, color = "", MUTED
    else:
        names = [state.service_name(code, code) for code in counter.services]
        detail, color = " · ".join(names), MUTED
    lines = wrap(detail, width - 32, MIN_TEXT_PX, sep=" · ") if detail else []
    pad = COMPACT_PAD if compact else PAD
    height = 2 * pad + 56 + LINE_H * len(lines)

    def draw(plan: BoardPlan, y: int) -> None:
        plan.box((left, y, width, height), TILE, 10)
        name = t("board.call.counter", lang, number=counter.number)
        head = (left + 16, y + pad, width - 32, 56)
        item = plan.text(name, head, 44, WHITE, bold=True)
        right = (
            item.x + item.rect[2] + 24,
            y + pad,
            left + width - 16 - item.x - item.rect[2] - 24,
            56,
        )
        if paused:
            plan.text(t("board.counters.paused", lang), right, 44, ORANGE, bold=True, align="right")
        elif counter.serving is not None:
            plan.text(counter.serving.label, right, 48, YELLOW, bold=True, align="right")
        else:
            plan.text(t("board.counters.free", lang), right, 44, MUTED, align="right")
        body = (left + 16, y + pad + 56, width - 32, LINE_H * len(lines))
        plan.lines(lines, body, MIN_TEXT_PX, color, line_h=LINE_H)

    return _Item(height, draw)


# --- people waiting ----------------------------------------------------------------------


def _plan_services(plan: BoardPlan, state: BoardState, now: datetime) -> None:
    lang = state.lang
    left, width = SERVICES
    _title(plan, t("board.services.title", lang), left, width)
    services = state.zone_services
    full = CONTENT_BOTTOM - CONTENT_TOP
    items = [_service_rich(s, left, width, lang) for s in services]
    if not _fits(items, full):
        items = [_service_compact(s, left, width, lang) for s in services]
    _place(plan, "services", items, left, width, now, lang)


def _service_rich(service: Service, left: int, width: int, lang: str) -> _Item:
    """Name (bold, wrapped), then "12 người" and "khoảng 15 phút" on one line, or two."""
    inner = width - 32
    names = wrap(service.name(lang), inner, MIN_TEXT_PX, bold=True)
    if not service.open:
        info = [(t("board.services.closed", lang), MUTED)]
    else:
        info = [(t("board.services.count", lang, count=service.waiting), YELLOW)]
        if service.waiting and service.estimated_wait_min:
            estimate = t("board.services.estimate", lang, minutes=service.estimated_wait_min)
            info.append((estimate, MUTED))
    one_line = " · ".join(text for text, _ in info)
    info_lines = 1 if len(wrap(one_line, inner, MIN_TEXT_PX)) == 1 else len(info)
    height = 2 * PAD + LINE_H * (len(names) + info_lines)

    def draw(plan: BoardPlan, y: int) -> None:
        plan.box((left, y, width, height), TILE, 10)
        color = WHITE if service.open else MUTED
        top = y + PAD
        plan.lines(names, (left + 16, top, inner, 0), MIN_TEXT_PX, color, bold=True, line_h=LINE_H)
        top += LINE_H * len(names)
        if info_lines == 1 and len(info) == 2:
            first = plan.text(info[0][0], (left + 16, top, inner, LINE_H), MIN_TEXT_PX, info[0][1])
            rest = left + 16 + inner - first.x - first.rect[2] - 16
            box = (first.x + first.rect[2] + 16, top, rest, LINE_H)
            plan.text(info[1][0], box, MIN_TEXT_PX, info[1][1], align="right")
            return
        for i, (text, tint) in enumerate(info):
            plan.text(text, (left + 16, top + i * LINE_H, inner, LINE_H), MIN_TEXT_PX, tint)

    return _Item(height, draw)


def _service_compact(service: Service, left: int, width: int, lang: str) -> _Item:
    """One line when it fits: the name, and the number waiting (or "closed") at the right."""
    inner = width - 32
    if service.open:
        right, tint, size, bold = str(service.waiting), YELLOW, 44, True
    else:
        right, tint, size, bold = t("board.services.closed_short", lang), MUTED, MIN_TEXT_PX, False
    right_w = text_size(right, size, bold)[0]
    names = wrap(service.name(lang), inner - right_w - 20, MIN_TEXT_PX)
    height = 2 * COMPACT_PAD + LINE_H * len(names)

    def draw(plan: BoardPlan, y: int) -> None:
        plan.box((left, y, width, height), TILE, 10)
        color = WHITE if service.open else MUTED
        box = (left + 16, y + COMPACT_PAD, inner - right_w - 20, 0)
        plan.lines(names, box, MIN_TEXT_PX, color, line_h=LINE_H)
        spot = (left + width - 16 - right_w, y + COMPACT_PAD, right_w, LINE_H)
        plan.text(right, spot, size, tint, bold=bold, align="right")

    return _Item(height, draw)


__all__ = ["PAGE_S", "plan_columns"]
