"""The pygame hall board, rendered off-screen (SDL dummy driver) and checked by pixels."""

from __future__ import annotations

import os
import threading

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import pygame  # noqa: E402
import pygame.freetype  # noqa: E402
import pytest  # noqa: E402

from display import render  # noqa: E402
from display.fonts import (  # noqa: E402
    BOLD,
    REGULAR,
    font_path,
    missing_glyphs,
    supported_codepoints,
    text_surface,
)
from display.render import (  # noqa: E402
    LOGICAL_SIZE,
    TextItem,
    plan_board,
    render_board,
    save_png,
    scale_to,
)
from display.state import BoardState  # noqa: E402
from server.i18n import bundle  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 9, 41, 7, tzinfo=TZ)  # a Monday
SERVICE_NAMES = ["Hộ tịch – Tư pháp", "Đất đai", "Đăng ký kinh doanh", "Người có công"]
CODES = ["HT", "DD", "KD", "NCC"]


def call(seq: int, label: str, counter: int, at: datetime = NOW) -> dict[str, Any]:
    return {
        "seq": seq,
        "ticket_id": seq,
        "label": label,
        "counter": counter,
        "counter_name": f"Quầy {counter}",
        "service": "HT",
        "service_name": "Hộ tịch – Tư pháp",
        "recall": False,
        "at": at.isoformat(),
        "text": "",
        "audio_url": None,
        "zone": "Tầng 1",
    }


def board(n_counters: int = 4, lang: str = "vi", connected: bool = True) -> BoardState:
    """A board for zone "Tầng 1" that has just called 1012 to counter 5 at NOW."""
    # each counter serves the ticket of its latest call (seq s went to counter s % 4 + 1)
    latest = {s % 4 + 1: s for s in range(3, 11)} | {5: 11}
    counters: list[dict[str, Any]] = [
        {
            "number": n,
            "name": f"Quầy {n}",
            "zone": "Tầng 1",
            "services": [CODES[n % 4]],
            "state": "open",
            "pause_reason": None,
            "serving": {"id": latest.get(n, 900 + n), "label": str(1000 + latest.get(n, n))},
        }
        for n in range(1, n_counters + 1)
    ]
    counters[1].update(state="paused", pause_reason="meeting", serving=None)
    counters.append(dict(counters[0], number=40, zone="Tầng 2"))
    services = [
        {
            "code": code,
            "name_vi": name,
            "name_en": code,
            "open": code != "NCC",
            "waiting": 12 if code == "HT" else 3,
            "estimated_wait_min": 15,
        }
        for code, name in zip(CODES, SERVICE_NAMES, strict=True)
    ]
    state = BoardState(lang=lang)
    state.apply_snapshot(
        {
            "seq": 10,
            "calls": [
                call(s, str(1000 + s), s % 4 + 1, NOW - timedelta(minutes=9)) for s in range(3, 11)
            ],
            "counters": counters,
            "services": services,
            "zone": "Tầng 1",
            "center": "Trung tâm Phục vụ hành chính công tỉnh Đắk Lắk",
            "notice": "Xin quý ông/bà vui lòng giữ trật tự. ư ơ đ ạ ễ ỹ Đ",
        },
        NOW - timedelta(minutes=10),
    )
    state.apply_call(call(11, "1012", 5), NOW)
    state.connected = connected
    return state


def texts(state: BoardState, now: datetime = NOW) -> list[str]:
    return [item.text for item in plan_board(state, now).texts]


def item(state: BoardState, text: str, now: datetime) -> TextItem:
    return next(i for i in plan_board(state, now).texts if i.text == text)


def mismatch(
    board_surface: pygame.Surface,
    drawn: TextItem,
    expected: str,
    background: tuple[int, int, int],
) -> float:
    """How far ``drawn``'s region on the board is from ``expected`` rendered the same way.

    The expected picture is the text composited on the plain ``background``; the result
    is the number of differing pixels over the number of inked pixels: 0 is identical.
    """
    rect = pygame.Rect(drawn.rect)
    region = board_surface.subsurface(rect).copy()
    want = pygame.Surface(rect.size)
    want.fill(background)
    want.blit(text_surface(expected, drawn.size, drawn.bold, drawn.color), (0, 0))
    with pygame.PixelArray(region) as got_px, pygame.PixelArray(want) as want_px:
        same = got_px.compare(want_px, distance=0.05).make_surface()
    matching = pygame.mask.from_threshold(same, (255, 255, 255), (1, 1, 1, 255)).count()
    ink = pygame.mask.from_threshold(want, background, (1, 1, 1, 255))
    ink.invert()
    return (rect.width * rect.height - matching) / ink.count()


def test_board_renders_at_the_logical_size() -> None:
    surface = render_board(board(), NOW)

    assert surface.get_size() == LOGICAL_SIZE == (1920, 1080)
    assert surface.get_at((5, 600))[:3] == render.BACKGROUND


def test_current_call_is_drawn_large_where_the_plan_says() -> None:
    state = board()
    steady = NOW + timedelta(seconds=30)
    surface = render_board(state, steady)
    number = item(state, "1012", steady)
    counter = item(state, "Quầy 5", steady)

    assert number.size >= 150 and counter.size >= 150
    assert number.rect[3] >= 150
    assert mismatch(surface, number, "1012", render.PANEL) < 0.01
    assert mismatch(surface, counter, "Quầy 5", render.PANEL) < 0.01
    assert mismatch(surface, number, "1013", render.PANEL) > 0.1
    assert mismatch(surface, counter, "Quầy 6", render.PANEL) > 0.05
    assert {"Xin mời số", "Mời đến quầy", "→", "Hộ tịch – Tư pháp"} <= set(texts(state, steady))
    yellow = pygame.mask.from_threshold(
        surface.subsurface(pygame.Rect(number.rect)), render.YELLOW, (30, 30, 30, 255)
    )
    assert yellow.count() > 0.2 * number.rect[2] * number.rect[3]


def test_new_call_flashes_for_a_few_seconds_then_stays_steady() -> None:
    state = board()
    corner = (60, 160)  # inside the current-call panel, clear of any text

    def panel(seconds: float) -> tuple[int, ...]:
        return tuple(render_board(state, NOW + timedelta(seconds=seconds)).get_at(corner)[:3])

    assert panel(0.2) == render.YELLOW
    assert panel(0.7) == render.PANEL
    assert panel(1.2) == render.YELLOW
    assert panel(7.2) == render.YELLOW
    assert panel(8.2) == panel(8.7) == panel(30) == render.PANEL
    lit = render_board(state, NOW + timedelta(seconds=0.2))
    number = item(state, "1012", NOW + timedelta(seconds=0.2))
    assert number.color == render.BACKGROUND
    assert mismatch(lit, number, "1012", render.YELLOW) < 0.01


@pytest.mark.parametrize(
    "state",
    [board(), board(n_counters=9, connected=False), board(n_counters=24, lang="en"), BoardState()],
    ids=["vi", "vi-9-counters-offline", "en-24-counters", "empty"],
)
def test_no_text_overlaps_another_or_leaves_the_screen(state: BoardState) -> None:
    for seconds in (0.2, 30):
        plan = plan_board(state, NOW + timedelta(seconds=seconds))
        fixed = [pygame.Rect(i.rect) for i in plan.texts if i.clip is None]
        scrolling = [i for i in plan.texts if i.clip is not None]

        for n, rect in enumerate(fixed):
            assert pygame.Rect(0, 0, *LOGICAL_SIZE).contains(rect), plan.texts[n]
            assert rect.collidelist(fixed[n + 1 :]) == -1, plan.texts[n]
        for notice in scrolling:
            assert notice.clip is not None
            clip = pygame.Rect(notice.clip)
            assert clip.contains(pygame.Rect(notice.rect).clip(clip))
            assert clip.collidelist(fixed) == -1


def test_header_shows_center_vietnamese_weekday_date_and_clock() -> None:
    shown = texts(board())

    assert "Trung tâm Phục vụ hành chính công tỉnh Đắk Lắk" in " ".join(shown)
    assert "Thứ Hai, 23/11/2026" in shown
    assert "09:41:07" in shown
    assert "Thứ Ba, 24/11/2026" in texts(board(), NOW + timedelta(days=1))


def test_lists_recent_calls_zone_counters_and_waiting_counts() -> None:
    shown = texts(board())

    assert "Số vừa gọi" in shown and "1010" in shown and "Quầy 3" in shown
    assert shown.count("1012") == 1  # the current call is not repeated in the list
    assert "1004" in shown and "1005" in shown
    assert "Quầy 40" not in shown  # another zone's counter
    assert "Tạm nghỉ" in shown and "Họp" in shown
    assert "12 người" in shown and "khoảng 15 phút" in shown
    assert "Tạm ngừng nhận số" in shown


def test_many_counters_are_paged_over_time() -> None:
    state = board(n_counters=24)
    first, later = texts(state), texts(state, NOW + timedelta(seconds=render.PAGE_S))

    pagers = [t for t in first if t.startswith("Trang ")]
    assert len(pagers) == 1
    assert 1 < int(pagers[0].split("/")[1]) <= 5  # one line per counter: five or more a page
    shown_first = {t for t in first if t.startswith("Quầy ")}
    shown_later = {t for t in later if t.startswith("Quầy ")}
    assert shown_first != shown_later


def test_notice_scrolls_with_time_and_reconnecting_mark_shows_when_offline() -> None:
    online = board(connected=True)
    offline = board(connected=False)
    notice = "Xin quý ông/bà vui lòng giữ trật tự. ư ơ đ ạ ễ ỹ Đ"

    x_now = min(i.x for i in plan_board(online, NOW).texts if i.text == notice)
    x_later = min(
        i.x for i in plan_board(online, NOW + timedelta(seconds=1)).texts if i.text == notice
    )
    assert x_now - x_later == pytest.approx(render.NOTICE_SPEED_PX_S, abs=2)
    assert "Đang kết nối lại…" not in texts(online)
    mark = item(offline, "Đang kết nối lại…", NOW)
    assert mark.y > 1000 and mark.size == 40
    pill = next(b for b in plan_board(offline, NOW).boxes if b.rect[1] == 1012)
    assert mismatch(render_board(offline, NOW), mark, "Đang kết nối lại…", pill.color) < 0.01


def test_english_board_uses_the_english_catalog() -> None:
    shown = texts(board(lang="en"))

    assert "Counter 5" in shown and "Please go to" in shown and "Monday, 23/11/2026" in shown


def test_empty_board_before_any_call() -> None:
    state = BoardState()
    surface = render_board(state, NOW)

    assert surface.get_size() == LOGICAL_SIZE
    assert "Chưa có số được gọi" in texts(state)
    assert "Trung tâm Phục vụ hành chính công" in texts(state)


@pytest.mark.parametrize(
    ("size", "content"),
    [
        ((1280, 720), (0, 0, 1280, 720)),
        ((3840, 2160), (0, 0, 3840, 2160)),
        ((1280, 1024), (0, 152, 1280, 720)),
        ((1080, 1920), (0, 656, 1080, 608)),
    ],
)
def test_board_scales_to_any_screen_letterboxed(
    size: tuple[int, int], content: tuple[int, int, int, int]
) -> None:
    logical = render_board(board(), NOW + timedelta(seconds=30))
    scaled = scale_to(logical, size)
    direct = render_board(board(), NOW + timedelta(seconds=30), size=size)
    x, y, w, h = content

    assert scaled.get_size() == direct.get_size() == size
    assert render.letterbox_rect(LOGICAL_SIZE, size) == pygame.Rect(content)
    if y > 0:
        assert scaled.get_at((w // 2, y // 2))[:3] == render.LETTERBOX
        assert scaled.get_at((w // 2, y + h + (size[1] - y - h) // 2))[:3] == render.LETTERBOX
    # The panel's corner and the background below the header land where they should.
    for lx, ly in [(60, 160), (5, 600)]:
        px, py = x + lx * w // 1920, y + ly * h // 1080
        assert tuple(scaled.get_at((px, py))[:3]) == pytest.approx(
            logical.get_at((lx, ly))[:3], abs=8
        )


def test_render_into_an_existing_screen_surface() -> None:
    screen = pygame.Surface((1366, 768))
    returned = render_board(board(), NOW, surface=screen)

    assert returned is screen
    assert screen.get_at((683, 700))[:3] != (0, 0, 0)


def test_save_png_writes_a_readable_image_atomically(tmp_path: Path) -> None:
    path = save_png(board(), NOW, tmp_path / "board.png")

    loaded = pygame.image.load(str(path))
    assert loaded.get_size() == LOGICAL_SIZE
    assert loaded.get_at((60, 160))[:3] == render.YELLOW
    assert [p.name for p in tmp_path.iterdir()] == ["board.png"]


def test_every_string_on_a_vietnamese_board_has_glyphs_in_the_bundled_font() -> None:
    state = board(n_counters=6)
    for seconds in (0.2, 30):
        plan = plan_board(state, NOW + timedelta(seconds=seconds))
        drawn = " ".join(i.text for i in plan.texts)
        for name in SERVICE_NAMES:
            assert name in drawn
        assert "ư ơ đ ạ ễ ỹ Đ" in drawn
        for text_item in plan.texts:
            assert missing_glyphs(font_path(text_item.bold), text_item.text) == set(), text_item


def test_every_board_catalog_text_has_glyphs() -> None:
    for lang in ("vi", "en"):
        for key, text in bundle("board.", lang).items():
            for path in (REGULAR, BOLD):
                assert missing_glyphs(path, text) == set(), (key, lang, path.name)


def test_missing_glyphs_detects_a_character_the_font_lacks() -> None:
    assert missing_glyphs(REGULAR, "Quầy 5 中") == {"中"}
    assert missing_glyphs(BOLD, "Đăng ký 漢字") == {"漢", "字"}
    # decomposed input (e + combining marks) is checked as it is drawn: precomposed
    assert missing_glyphs(REGULAR, "Tie\u0302\u0301ng Vie\u0323\u0302t") == set()


def test_cmap_reading_agrees_with_freetype() -> None:
    pygame.freetype.init()
    face = pygame.freetype.Font(str(REGULAR), 20)
    codepoints = supported_codepoints(REGULAR)
    for code in [*range(0x20, 0x250), *range(0x1E00, 0x1F00), *range(0x2000, 0x2200), 0x4E2D]:
        has_glyph = face.get_metrics(chr(code))[0] is not None
        assert (code in codepoints) == has_glyph, hex(code)


def test_render_loop_reads_safely_while_events_arrive_from_another_thread() -> None:
    state = board(n_counters=12)
    done = threading.Event()

    def feed() -> None:
        for seq in range(12, 212):
            state.apply_call(call(seq, str(2000 + seq), seq % 12 + 1), NOW)
            state.apply_counter(
                {
                    "counter": {
                        "number": seq % 12 + 1,
                        "name": "",
                        "zone": "Tầng 1",
                        "services": ["HT"],
                        "state": "open",
                        "pause_reason": None,
                        "serving": {"label": str(2000 + seq), "status": "called"},
                    }
                }
            )
        done.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    surface = pygame.Surface(LOGICAL_SIZE)
    frames = 0
    while not done.is_set() or frames == 0:
        render_board(state, NOW + timedelta(seconds=30), surface=surface)
        frames += 1
    feeder.join()

    assert frames >= 1
    assert "2211" in texts(state, NOW + timedelta(seconds=30))


def test_real_server_events_drive_a_zone_board(socketio, app, client, actors, issue, ctx) -> None:
    """The server's own Socket.IO payloads, fed to the model, end up on the board."""
    from server.protocol import NS_DISPLAY
    from tests.conftest import drain

    for service in ("DD", "KD", "DD"):
        issue(service)
    sio = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.board_a}, flask_test_client=client
    )
    staff = actors.h(actors.supervisor)
    assert client.post("/api/v1/counters/1/next", headers=staff).status_code == 200  # zone A
    assert client.post("/api/v1/counters/6/next", headers=staff).status_code == 200  # zone B
    assert client.post("/api/v1/counters/1/next", headers=staff).status_code == 200  # zone A

    state = BoardState()
    now = ctx.now()
    announced: list[str] = []
    resyncs: list[int | None] = []
    for name, payload in drain(sio, NS_DISPLAY):
        assert isinstance(payload, dict)
        if name == "snapshot":
            state.apply_snapshot(payload, now)
        elif name == "call":
            outcome = state.apply_call(payload, now)
            resyncs.append(outcome.resync_after)
            announced += [c.label for c in outcome.applied if state.should_announce(c, now)]
        elif name == "counter":
            state.apply_counter(payload)
        elif name == "queue":
            state.apply_queue(payload)
    state.connected = True

    assert resyncs == [None, None]  # zone B's call skipped a seq: not a gap
    assert len(announced) == 2 and announced == [c.label for c in reversed(state.recent_calls)]
    assert state.counters and {c.zone for c in state.counters} == {"A"}
    shown = texts(state, now)
    assert announced[-1] in shown and "Quầy 1" in shown
    for text_item in plan_board(state, now).texts:
        assert missing_glyphs(font_path(text_item.bold), text_item.text) == set()
