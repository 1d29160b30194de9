"""The real pygame board client, headless, against a live server: what the hall sees
(the PNG it writes) and hears (what the announcement queue plays, in which order)."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pygame  # noqa: E402
import pytest  # noqa: E402

from benchmarks._server import free_port  # noqa: E402
from display.app import BoardApp, BoardOptions  # noqa: E402
from display.audio import AnnouncementQueue, RecordingPlayer  # noqa: E402
from display.client import BoardClient, ServerHTTP  # noqa: E402
from display.fonts import text_surface  # noqa: E402
from display.render import BACKGROUND, LOGICAL_SIZE, PANEL, YELLOW, plan_board  # noqa: E402
from display.state import BoardState  # noqa: E402
from tests.board_fixtures import Hall, make_hall, wait_for  # noqa: E402
from tests.sio_helpers import wake_connect_late  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def hall(live_server) -> Hall:
    return make_hall(live_server)


class Heard:
    """The announcement queue's on_start hook: (announcement id, sound index) in order."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, int]] = []

    def __call__(self, announcement_id: str, index: int, at: float) -> None:
        self.starts.append((announcement_id, index))

    @property
    def announcements(self) -> list[str]:
        return [a for a, i in self.starts if i == 0]


@pytest.fixture
def board_app(hall, tmp_path) -> Iterator[tuple[BoardApp, RecordingPlayer, Heard, Path]]:
    player = RecordingPlayer(duration_s=0.02)
    heard = Heard()
    png = tmp_path / "board.png"
    app = BoardApp(
        BoardOptions(hall.url, hall.board, windowed=True, size=(960, 540), snapshot=png, fps=30),
        player=player,
        on_start=heard,
    )
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    yield app, player, heard, png
    app.stop()
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def client(hall) -> Iterator[tuple[BoardClient, RecordingPlayer, Heard]]:
    """The network client and the real queue without a screen (the state is what shows)."""
    player = RecordingPlayer()
    heard = Heard()
    http = ServerHTTP(hall.url)
    queue = AnnouncementQueue(player, http.fetch, on_start=heard)
    board = BoardClient(hall.url, hall.board, BoardState(), queue, http=http, reconnect_delay_s=0.5)
    yield board, player, heard
    board.close()
    queue.close()


def label_drawn(png: Path, state: BoardState, label: str) -> bool:
    """Does the PNG show ``label`` as the current call, exactly where the plan puts it,
    in either phase of the flash (yellow panel, dark number / blue panel, yellow number)?"""
    image = pygame.image.load(str(png))
    if image.get_size() != LOGICAL_SIZE:
        return False
    items = [i for i in plan_board(state, state.current_call.at).texts if i.text == label]
    big = max(items, key=lambda i: i.size, default=None)
    if big is None or big.size < 100:
        return False
    x, y, w, h = big.rect
    drawn = pygame.image.tobytes(image.subsurface((x, y, w, h)), "RGB")
    for fill, ink in ((YELLOW, BACKGROUND), (PANEL, YELLOW)):
        expected = pygame.Surface((w, h))
        expected.fill(fill)
        expected.blit(text_surface(label, big.size, big.bold, ink), (0, 0))
        if pygame.image.tobytes(expected, "RGB") == drawn:
            return True
    return False


def test_board_shows_and_voices_every_call_in_order_and_recalls_again(hall, board_app) -> None:
    app, player, heard, png = board_app
    hall.issue("DD", 3)
    wait_for(lambda: app.client.state.connected and app.snapshots_written >= 1)
    assert pygame.image.load(str(png)).get_size() == (1920, 1080)
    assert "Chưa có số được gọi" in [i.text for i in plan_board(app.state, app.client.now()).texts]
    assert app.client.chime == hall.audio("/api/v1/audio/chime.wav")

    first = hall.call(1)
    wait_for(lambda: app.state.current_call and app.state.current_call.seq == first["seq"])
    wait_for(lambda: label_drawn(png, app.state, "1001"), step=0.05)
    texts = [i.text for i in plan_board(app.state, app.client.now()).texts]
    assert "Quầy 1" in texts and "Đất đai" in texts

    calls = [first, hall.call(2), hall.call(1), hall.call(1, "recall")]
    assert [c["label"] for c in calls] == ["1001", "1002", "1003", "1003"] and calls[3]["recall"]
    wait_for(lambda: app.state.current_call.seq == calls[3]["seq"])
    wait_for(lambda: label_drawn(png, app.state, "1003"), step=0.05)
    assert [c.label for c in app.state.recent_calls] == ["1003", "1002", "1001"]
    assert "Gọi lại" in [i.text for i in plan_board(app.state, app.client.now()).texts]

    # chime then the server's own WAV for every call, in order, one at a time;
    # the recall plays the same voice again
    wait_for(lambda: len(player.records) == 8)
    assert app.announcements.wait_idle(30)
    chime = hall.audio("/api/v1/audio/chime.wav")
    voices = [hall.audio(c["audio_url"]) for c in calls]
    assert player.played == [sound for v in voices for sound in (chime, v)]
    assert voices[2] == voices[3] != voices[1]
    assert heard.announcements == [f"call-{c['seq']}" for c in calls]
    assert player.max_concurrent == 1
    spans = [(r.start, r.end) for r in player.records]
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def test_calls_made_while_offline_appear_in_order_and_only_fresh_ones_are_voiced(
    hall, client
) -> None:
    board, _, heard = client
    hall.issue("DD", 6)
    board.start()
    wait_for(lambda: board.state.connected)
    before = hall.call(1)
    wait_for(lambda: heard.announcements == [f"call-{before['seq']}"])

    board.close()
    assert not board.state.connected
    assert "Đang kết nối lại…" in [i.text for i in plan_board(board.state, board.now()).texts]
    stale = [hall.call(n) for n in (1, 2)]
    hall.advance_clock(minutes=2)  # those two are now two minutes old
    fresh = [hall.call(n) for n in (1, 2, 1)]
    assert heard.announcements == [f"call-{before['seq']}"]

    board.start()
    wait_for(lambda: board.state.connected and board.state.last_seq == fresh[-1]["seq"])
    wait_for(lambda: len(heard.announcements) == 4)
    missed = stale + fresh
    assert [c.seq for c in board.state.recent_calls][:5] == [c["seq"] for c in reversed(missed)]
    assert board.state.current_call.label == fresh[-1]["label"]
    assert heard.announcements == [f"call-{c['seq']}" for c in [before, *fresh]]


def test_more_missed_calls_than_a_snapshot_holds_are_all_voiced_in_order(hall, client) -> None:
    board, _, heard = client
    hall.issue("DD", 13)
    board.start()
    wait_for(lambda: board.state.connected)
    board.close()
    missed = [hall.call(1 if i % 2 else 2) for i in range(12)]
    board.start()
    wait_for(lambda: len(heard.announcements) == 12)
    assert heard.announcements == [f"call-{c['seq']}" for c in missed]
    assert board.state.current_call.seq == missed[-1]["seq"]


def test_a_dropped_connection_reconnects_by_itself_and_loses_nothing(hall, client) -> None:
    board, _, heard = client
    hall.issue("KD", 2)
    board.start()
    wait_for(lambda: board.state.connected)
    wait_for(lambda: board.sio.transport() == "websocket")
    board.sio.eio.ws.sock.shutdown(socket.SHUT_RDWR)  # the network goes away
    call = hall.call(6)  # made while the board is offline or reconnecting
    wait_for(lambda: board.connects == 2 and board.state.connected)
    wait_for(lambda: board.state.current_call and board.state.current_call.seq == call["seq"])
    wait_for(lambda: heard.announcements == [f"call-{call['seq']}"])
    assert [c.label for c in board.state.recent_calls] == ["4001"]


def test_a_drop_while_the_connection_is_still_being_set_up_is_noticed(hall, live_server) -> None:
    """The server lets the board go from inside its connect handler, before the library
    has finished connect() (and so reports no disconnect): the board still notices,
    shows itself offline for that moment and connects again."""
    rt = live_server.ctx.realtime
    board = BoardClient(hall.url, hall.board, reconnect_delay_s=0.05)
    on_connect = board._on_connect

    def drop_the_first_time() -> None:
        on_connect()
        if board.connects == 1:
            ident = next(w for w in rt.identities.values() if w.name == "board-test")
            rt.disconnect_identity("device", ident.id)

    board._on_connect = drop_the_first_time  # type: ignore[method-assign]
    board.sio = board._new_socket()
    wake_connect_late(board.sio)
    board.start()
    try:
        wait_for(lambda: board.connects >= 2 and board.state.connected)
        assert any(w.name == "board-test" for w in rt.identities.values())
    finally:
        board.close()


def test_a_refused_token_keeps_the_board_offline_and_retrying(live_server) -> None:
    board = BoardClient(live_server.url, "not-a-token", reconnect_delay_s=0.05)
    board.start()
    try:
        assert not board.wait_connected(0.5)
        assert board.state.connected is False
        assert "Đang kết nối lại…" in [i.text for i in plan_board(board.state, board.now()).texts]
    finally:
        board.close()


def test_motcua_display_follow_runs_headless_and_rewrites_the_snapshot(hall, tmp_path) -> None:
    hall.issue("CC", 1)
    png = tmp_path / "cli.png"
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
        "MOTCUA_DISPLAY_TOKEN": hall.board,
    }
    motcua = str(Path(sys.executable).parent / "motcua")
    args = [motcua, "display", "--server", hall.url, "--windowed", "--size", "640x360"]
    proc = subprocess.Popen(
        [*args, "--snapshot", str(png), "--follow", "--fps", "10"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(png.exists, timeout=20, step=0.05)
        first = png.stat().st_mtime_ns
        hall.call(5)
        wait_for(lambda: png.stat().st_mtime_ns != first, step=0.05)
        assert pygame.image.load(str(png)).get_size() == (1920, 1080)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()[-2000:]


def _display(*args: str, token: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MOTCUA_DISPLAY_TOKEN": token}
    env.pop("SDL_VIDEODRIVER", None)  # the one-shot snapshot needs no screen driver set
    motcua = str(Path(sys.executable).parent / "motcua")
    return subprocess.run(
        [motcua, "display", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_motcua_display_snapshot_draws_the_board_once_and_exits(hall, tmp_path) -> None:
    """Issue 16.12: `--snapshot FILE` never exited, and logged 1024x768 for 1920x1080."""
    hall.issue("CC", 1)
    hall.call(5)
    png = tmp_path / "once.png"
    done = _display(
        "--server", hall.url, "--size", "1920x1080", "--snapshot", str(png), token=hall.board
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert pygame.image.load(str(png)).get_size() == (1920, 1080)
    assert "1920x1080" in done.stderr and "1024x768" not in done.stderr

    small = tmp_path / "small.png"
    done = _display(
        "--server", hall.url, "--size", "640x360", "--snapshot", str(small), token=hall.board
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert pygame.image.load(str(small)).get_size() == (640, 360)


def test_motcua_display_snapshot_names_the_reason_when_none_comes(hall, tmp_path) -> None:
    png = tmp_path / "never.png"
    done = _display(
        "--server", hall.url, "--snapshot", str(png), "--timeout", "10", token="not-a-token"
    )
    assert done.returncode == 1 and not png.exists()
    assert "no board snapshot from" in done.stderr and "refused" in done.stderr

    port = free_port()  # nobody listens there
    done = _display(
        "--server",
        f"http://127.0.0.1:{port}",
        "--snapshot",
        str(png),
        "--timeout",
        "1",
        token=hall.board,
    )
    assert done.returncode == 1 and not png.exists()
    assert "within 1 s (no connection)" in done.stderr


def test_motcua_display_help_and_bad_size() -> None:
    from click.testing import CliRunner

    from server.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["display", "--help"])
    assert result.exit_code == 0
    for option in (
        "--server",
        "--token",
        "--windowed",
        "--size",
        "--snapshot",
        "--follow",
        "--fps",
    ):
        assert option in result.output
    result = runner.invoke(main, ["display", "--token", "x", "--size", "big"])
    assert result.exit_code == 2 and "WIDTHxHEIGHT" in result.output
