"""Readable from 10 m (issue 16.10): the pygame board at 1920×1080 with the demo's
services and counters draws no text under 40 px, cuts no service line or pause reason
with "…", shows every service at once when they fit, and when a column must rotate it
shows which page is up and how long until the next one."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from dataclasses import replace  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pygame  # noqa: E402
import pytest  # noqa: E402

from display import plan as colors  # noqa: E402
from display.fonts import font_path, missing_glyphs  # noqa: E402
from display.panels import PAGE_S  # noqa: E402
from display.plan import MIN_TEXT_PX  # noqa: E402
from display.render import plan_board, save_png  # noqa: E402
from display.state import BoardState  # noqa: E402
from server.i18n import bundle  # noqa: E402
from server.protocol import NS_DISPLAY  # noqa: E402
from tests.conftest import TZ, drain  # noqa: E402
from tests.test_board_render import mismatch  # noqa: E402

#: catalog texts that end with "…" of their own (not a cut)
OWN_ELLIPSIS = {v for v in bundle("board.", "vi").values() if "…" in v}


def demo_board(socketio, app, client, actors, issue, ctx, token: str) -> BoardState:
    for service, n in (("DD", 3), ("HT", 12), ("CC", 1), ("GT", 2)):
        for _ in range(n):
            issue(service)
    staff = actors.h(actors.supervisor)
    assert client.post("/api/v1/counters/3/next", headers=staff).status_code == 200
    r = client.post("/api/v1/counters/2/pause", json={"reason": "assisting"}, headers=staff)
    assert r.status_code == 200
    sio = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": token}, flask_test_client=client
    )
    snapshot = next(p for n, p in drain(sio, NS_DISPLAY) if n == "snapshot")
    state = BoardState()
    state.apply_snapshot(snapshot, ctx.now())  # type: ignore[arg-type]
    state.connected = False  # the reconnecting mark is on screen too
    return state


def rotation(state: BoardState, now) -> list:
    """The plans of one whole rotation of the paged columns."""
    return [plan_board(state, now + timedelta(seconds=PAGE_S * i + 3)) for i in range(8)]


@pytest.mark.parametrize("zone", [None, "A"], ids=["all-zones", "zone-A"])
def test_demo_board_is_readable_from_ten_metres(
    socketio, app, client, actors, issue, ctx, tmp_path: Path, zone
) -> None:
    token = actors.board if zone is None else actors.board_a
    state = demo_board(socketio, app, client, actors, issue, ctx, token)
    now = ctx.now().astimezone(TZ)
    plans = rotation(state, now)
    screen = pygame.Rect(0, 0, 1920, 1080)
    for plan in plans:
        for item in plan.texts:
            assert item.size >= MIN_TEXT_PX, item
            if item.clip is None:
                assert screen.contains(pygame.Rect(item.rect)), item
            assert "…" not in item.text or item.text in OWN_ELLIPSIS, item
            assert missing_glyphs(font_path(item.bold), item.text) == set(), item

    # every service of the board's zone at once, in one frame, with its count
    services = state.zone_services
    assert len(services) == (8 if zone is None else 4)
    first = plans[0]
    assert "services.page" not in first.regions
    box = pygame.Rect(first.regions["services"])
    in_column = [i for i in first.texts if box.collidepoint(i.x, i.y)]
    drawn = " ".join(i.text for i in in_column)
    for service in services:
        assert service.name_vi in drawn
    path = save_png(state, now + timedelta(seconds=3), tmp_path / "board.png")
    surface = pygame.Surface((1920, 1080))
    surface.blit(pygame.image.load(str(path)), (0, 0))
    land = next(i for i in in_column if i.text == "Đất đai")
    assert mismatch(surface, land, "Đất đai", colors.TILE) < 0.01

    counters = pygame.Rect(first.regions["counters"])

    def counter_names(plan) -> list[str]:
        return [
            i.text
            for i in plan.texts
            if i.text.startswith("Quầy ") and counters.collidepoint(i.x, i.y)
        ]

    if zone is not None:  # the zone's few counters all show at once
        assert "counters.page" not in first.regions
        assert len(counter_names(first)) == len(state.counters)
    else:
        _assert_counters_rotate_densely(state, now, plans, counter_names)
    # nothing hangs out of its column: every string of a column lies inside it
    for plan in plans:
        for name in ("counters", "services", "recent"):
            column = pygame.Rect(plan.regions[name])
            for item in plan.texts:
                if column.collidepoint(item.x, item.y):
                    assert column.contains(pygame.Rect(item.rect)), (name, item)
    # over the rotation every counter of the zone shows its services or its pause reason
    everything = " ".join(i.text for p in plans for i in p.texts)
    for counter in state.counters:
        assert f"Quầy {counter.number}" in everything
    assert "Hỗ trợ quầy khác" in everything and "Tạm nghỉ" in everything
    assert "Công chứng, chứng thực" in everything and "Hộ tịch – Tư pháp" in everything


def _assert_counters_rotate_densely(state: BoardState, now, plans: list, names) -> None:
    """Counters rotate and say so ("Trang i/n" and a bar filling towards the next page),
    densely enough: the demo's ten counters take at most two pages, five or more on the
    first."""
    pages = {p.regions["counters.page"][:2] for p in plans if "counters.page" in p.regions}
    n = max(total for _, total in pages)
    assert {page for page, _ in pages} == set(range(1, n + 1))
    assert any(i.text == f"Trang 1/{n}" for p in plans for i in p.texts)
    early = plan_board(state, now.replace(microsecond=0) + timedelta(seconds=1))
    late = plan_board(state, now.replace(microsecond=0) + timedelta(seconds=8))
    bar = early.regions["counters.progress"]

    def filled(plan) -> int:
        return next(
            b.rect[2] for b in plan.boxes if b.rect[:2] == bar[:2] and b.color == colors.YELLOW
        )

    assert filled(early) < filled(late) <= bar[2]
    assert n <= 2, n
    for plan in plans:
        page = plan.regions["counters.page"][0]
        shown = names(plan)
        assert len(shown) >= (5 if page == 1 else 1), (page, shown)


def test_counter_tiles_wrap_long_service_lines_whole_when_they_fit() -> None:
    """Counters with their services (a zone's few counters): the line "Hộ tịch – Tư pháp ·
    Công chứng, chứng thực" is wider than the tile, so it wraps between the names, each
    name whole, inside the tile."""
    from tests.test_board_render import NOW, board

    state = board(n_counters=3)
    first = state.counters[0]
    state._counters[first.number] = replace(first, services=("HT", "KD"))
    plan = plan_board(state, NOW)
    column = pygame.Rect(plan.regions["counters"])
    assert "counters.page" not in plan.regions
    lines = [i for i in plan.texts if column.collidepoint(i.x, i.y)]
    for item in lines:
        assert column.contains(pygame.Rect(item.rect)), item
        assert "…" not in item.text, item
    names = {s.name_vi for s in state.services}
    texts = [i.text for i in lines]
    wrapped = [t for t in texts if " · " in t or t in names]
    assert "Hộ tịch – Tư pháp" in wrapped and "Đăng ký kinh doanh" in wrapped, texts
    for text in wrapped:
        for part in text.split(" · "):
            assert part in names, (part, texts)


def test_many_services_rotate_with_their_page_shown() -> None:
    from tests.test_board_render import NOW, board

    state = board()
    many = [
        {
            "code": f"S{i}",
            "name_vi": f"Lĩnh vực thử số {i}",
            "name_en": f"Service {i}",
            "open": True,
            "waiting": i,
            "estimated_wait_min": 5,
        }
        for i in range(14)
    ]
    state.apply_queue({"services": many, "version": 99})
    state.zone = None
    plans = rotation(state, NOW)
    assert {p.regions["services.page"][1] for p in plans} == {2}
    shown = " ".join(i.text for p in plans for i in p.texts)
    for service in many:
        assert service["name_vi"] in shown
    assert any(i.text == "Trang 2/2" for p in plans for i in p.texts)
