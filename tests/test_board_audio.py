"""The board's announcement queue: chime then voice, in order, never overlapping or lost."""

from __future__ import annotations

import io
import logging
import math
import os
import struct
import threading
import time
import wave
from pathlib import Path

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
import pytest  # noqa: E402

from display.audio import (  # noqa: E402
    AnnouncementQueue,
    AudioFetchError,
    PygamePlayer,
    QueueClosedError,
    RecordingPlayer,
    SoundSource,
    read_local,
)

CHIME = b"RIFF-chime"


def voice_url(n: int) -> str:
    return f"/api/v1/audio/call-{n}.wav"


def fake_fetch(source: SoundSource) -> bytes:
    """The server's audio endpoint: every URL returns its own recognisable bytes."""
    assert isinstance(source, str)
    return f"voice:{source}".encode()


def tone(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        frames = int(22050 * seconds)
        wav.writeframes(
            b"".join(struct.pack("<h", int(6000 * math.sin(i / 8))) for i in range(frames))
        )
    return out.getvalue()


def assert_sequential(player: RecordingPlayer) -> None:
    assert player.max_concurrent == 1
    for before, after in zip(player.records, player.records[1:], strict=False):
        assert after.start >= before.end


def test_announcements_from_several_threads_play_in_order_without_overlap() -> None:
    player = RecordingPlayer(duration_s=0.02)
    starts: list[tuple[str, int]] = []
    queue = AnnouncementQueue(player, fake_fetch, on_start=lambda a, i, t: starts.append((a, i)))
    positions: dict[str, int] = {}
    barrier = threading.Barrier(5)

    def call(n: int) -> None:
        barrier.wait()
        positions[f"call-{n}"] = queue.enqueue(f"call-{n}", [CHIME, voice_url(n)])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert queue.wait_idle(timeout=5)
    queue.close()

    by_position = sorted(positions, key=positions.__getitem__)
    assert starts == [(a, i) for a in by_position for i in (0, 1)]
    expected_sounds = [
        s for a in by_position for s in (CHIME, fake_fetch(voice_url(int(a.split("-")[1]))))
    ]
    assert player.played == expected_sounds
    assert len(player.records) == 10
    assert_sequential(player)


def test_a_recall_enqueued_again_plays_again() -> None:
    player = RecordingPlayer()
    with AnnouncementQueue(player, fake_fetch) as queue:
        queue.enqueue("call-11", [CHIME, voice_url(1012)])
        queue.enqueue("call-12", [CHIME, voice_url(1012)])
        assert queue.wait_idle(timeout=5)

    voice = fake_fetch(voice_url(1012))
    assert player.played == [CHIME, voice, CHIME, voice]


def test_voice_fetch_failure_still_plays_the_chime_and_the_queue_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fetch(source: SoundSource) -> bytes:
        if source == voice_url(1):
            raise ConnectionError("server unreachable")
        return fake_fetch(source)

    player = RecordingPlayer()
    with (
        caplog.at_level(logging.WARNING, logger="display.audio"),
        AnnouncementQueue(player, fetch) as queue,
    ):
        queue.enqueue("call-1", [CHIME, voice_url(1)])
        queue.enqueue("call-2", [CHIME, voice_url(2)])
        assert queue.wait_idle(timeout=5)

    assert player.played == [CHIME, CHIME, fake_fetch(voice_url(2))]
    assert any(
        "call-1" in r.getMessage() and "unreachable" in r.getMessage() for r in caplog.records
    )


def test_a_hung_fetch_times_out_instead_of_blocking_the_queue() -> None:
    release = threading.Event()

    def fetch(source: SoundSource) -> bytes:
        if source == voice_url(1):
            release.wait(10)
        return fake_fetch(source)

    player = RecordingPlayer()
    queue = AnnouncementQueue(player, fetch, fetch_timeout_s=0.2)
    started = time.monotonic()
    queue.enqueue("call-1", [CHIME, voice_url(1)])
    queue.enqueue("call-2", [CHIME, voice_url(2)])
    assert queue.wait_idle(timeout=5)
    elapsed = time.monotonic() - started
    release.set()
    queue.close()

    assert player.played == [CHIME, CHIME, fake_fetch(voice_url(2))]
    assert 0.15 < elapsed < 2


def test_voice_downloads_while_the_chime_plays() -> None:
    fetch_started = threading.Event()

    def fetch(source: SoundSource) -> bytes:
        fetch_started.set()
        time.sleep(0.1)
        return fake_fetch(source)

    player = RecordingPlayer(duration_s=0.15)
    with AnnouncementQueue(player, fetch) as queue:
        queue.enqueue("call-1", [CHIME, voice_url(1)])
        assert queue.wait_idle(timeout=5)

    chime, voice = player.records
    assert voice.start - chime.end < 0.05  # no wait for the download after the chime


def test_timing_hooks_report_when_each_sound_starts_and_ends() -> None:
    events: list[tuple[str, str, int, float]] = []
    player = RecordingPlayer(duration_s=0.03)
    queue = AnnouncementQueue(
        player,
        fake_fetch,
        on_start=lambda a, i, t: events.append(("start", a, i, t)),
        on_end=lambda a, i, t: events.append(("end", a, i, t)),
    )
    enqueued_at = time.monotonic()
    queue.enqueue("call-7", [CHIME, voice_url(7)])
    assert queue.wait_idle(timeout=5)
    queue.close()

    assert [e[:3] for e in events] == [
        ("start", "call-7", 0),
        ("end", "call-7", 0),
        ("start", "call-7", 1),
        ("end", "call-7", 1),
    ]
    assert events[0][3] - enqueued_at < 0.3  # call → chime start
    assert events[1][3] - events[0][3] >= 0.03
    assert events[0][3] <= player.records[0].start <= events[1][3]


def test_close_stops_promptly_and_refuses_new_announcements() -> None:
    player = RecordingPlayer(duration_s=5)
    queue = AnnouncementQueue(player, fake_fetch)
    for n in range(3):
        queue.enqueue(f"call-{n}", [CHIME, voice_url(n)])
    time.sleep(0.05)

    started = time.monotonic()
    queue.close()

    assert time.monotonic() - started < 1
    assert len(player.records) == 1  # the chime in progress was cut short, the rest dropped
    with pytest.raises(QueueClosedError):
        queue.enqueue("call-9", [CHIME])


def test_close_with_drain_plays_everything_first() -> None:
    player = RecordingPlayer(duration_s=0.01)
    queue = AnnouncementQueue(player, fake_fetch)
    for n in range(3):
        queue.enqueue(f"call-{n}", [CHIME, voice_url(n)])
    queue.close(drain=True)

    assert len(player.played) == 6 and queue.pending == 0


def test_local_files_and_bytes_are_read_by_the_default_fetch(tmp_path: Path) -> None:
    chime = tmp_path / "chime.wav"
    chime.write_bytes(b"RIFF-local-chime")
    player = RecordingPlayer()
    with AnnouncementQueue(player) as queue:
        queue.enqueue("call-1", [chime, b"RIFF-voice", str(tmp_path / "missing.wav")])
        assert queue.wait_idle(timeout=5)

    assert player.played == [b"RIFF-local-chime", b"RIFF-voice"]
    with pytest.raises(AudioFetchError):
        read_local("http://server/api/v1/audio/x.wav")


def test_pygame_player_without_audio_device_runs_silently_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_device() -> None:
        raise pygame.error("No available audio device")

    starts: list[str] = []
    results: list[tuple[str, str, str]] = []
    with caplog.at_level(logging.WARNING, logger="display.audio"):
        player = PygamePlayer(mixer_init=no_device)
        with AnnouncementQueue(
            player,
            fake_fetch,
            on_start=lambda a, i, t: starts.append(a),
            on_result=lambda a, status, detail: results.append((a, status, detail)),
        ) as q:
            q.enqueue("call-1", [CHIME, voice_url(1)])
            q.enqueue("call-2", [CHIME, voice_url(2)])
            assert q.wait_idle(timeout=5)

    assert player.silent
    assert starts == ["call-1", "call-1", "call-2", "call-2"]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "No available audio device" in warnings[0].getMessage()
    # ... but every announcement reports that it was not heard (issue 16.4)
    assert [(a, status) for a, status, _ in results] == [("call-1", "failed"), ("call-2", "failed")]
    assert "no audio device (No available audio device)" in results[0][2]


def test_each_announcement_reports_played_or_failed() -> None:
    results: list[tuple[str, str, str]] = []

    def fetch(source):
        if "missing" in str(source):
            raise AudioFetchError("HTTP 404")
        return fake_fetch(source)

    player = RecordingPlayer()
    with AnnouncementQueue(player, fetch, on_result=lambda *r: results.append(r)) as q:
        q.enqueue("call-1", [CHIME, voice_url(1)])
        q.enqueue("call-2", [CHIME, "/api/v1/audio/missing.wav"])
        assert q.wait_idle(timeout=5)
    assert results[0] == ("call-1", "played", "")
    assert results[1][:2] == ("call-2", "failed") and "HTTP 404" in results[1][2]


def test_pygame_player_plays_real_wav_for_its_duration_and_rejects_garbage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    player = PygamePlayer()
    assert not player.silent  # SDL's dummy audio driver is a real, silent device
    try:
        started = time.monotonic()
        player.play(tone(0.2))
        assert 0.15 < time.monotonic() - started < 1.5

        ended: list[int] = []
        with (
            caplog.at_level(logging.WARNING, logger="display.audio"),
            AnnouncementQueue(player, on_end=lambda a, i, t: ended.append(i)) as queue,
        ):
            queue.enqueue("call-1", [b"not a wav", tone(0.05)])
            assert queue.wait_idle(timeout=5)
        assert any("sound 0 of call-1 not played" in r.getMessage() for r in caplog.records)
        assert ended == [0, 1]  # the bad chime did not stop the voice
    finally:
        player.close()
