"""The board's chime-then-voice queue: announcements one at a time, in order, none lost.

Two counters often call within the same second.  Playing both at once makes both
unintelligible, and dropping one sends a citizen to the wrong place, so every
announcement waits its turn on one worker thread.  Sounds are fetched lazily in the
background (the voice downloads while the chime plays) with a deadline, so a slow or
dead audio URL costs at most ``fetch_timeout_s`` and the chime still sounds.  The
player is injected: pygame's mixer on a real board, a recorder in tests, silence on a
host with no audio device.

The client enqueues ``("call-<seq>", [chime_bytes, call["audio_url"]])`` for each call
the state model says to announce; a recall has its own seq, so it plays again.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402  (the prompt switch above must precede the import)
import pygame.mixer  # noqa: E402

logger = logging.getLogger(__name__)

SoundSource = str | bytes | Path
"""A URL or file path (fetched through the queue's ``fetch``), or the WAV bytes."""
Fetch = Callable[[SoundSource], bytes]
Hook = Callable[[str, int, float], None]
"""``hook(announcement_id, sound_index, clock_time)``."""
ResultHook = Callable[[str, str, str], None]
"""``on_result(announcement_id, status, detail)`` once an announcement is over: status
"played" (every sound played) or "failed" (detail says which and why)."""


class AudioError(Exception):
    """Base class for the board's audio problems."""


class AudioFetchError(AudioError):
    """A sound could not be fetched (bad URL, network or file error)."""


class PlayerError(AudioError):
    """A sound could not be played (corrupt WAV, no free channel)."""


class NoAudioDevice(PlayerError):
    """The player has no device: every sound fails alike (logged once, reported always)."""


class QueueClosedError(AudioError):
    """``enqueue`` after ``close``."""


class Player(Protocol):
    def play(self, wav: bytes) -> None:
        """Play one sound, returning only when it has finished (or ``stop`` was called)."""

    def stop(self) -> None:
        """Cut the sound playing now short; used when the queue closes."""


def read_local(source: SoundSource) -> bytes:
    """The default fetch: bytes as they are, paths read from disk.  A network client
    injects its own fetch for ``/api/v1/audio/...`` URLs."""
    if isinstance(source, bytes):
        return source
    text = str(source)
    if "://" in text or text.startswith("/api/"):
        raise AudioFetchError(f"no network fetch configured for {text}")
    try:
        return Path(text).read_bytes()
    except OSError as exc:
        raise AudioFetchError(f"cannot read {text}: {exc}") from exc


@dataclass(frozen=True)
class Announcement:
    id: str
    sounds: tuple[SoundSource, ...]
    position: int
    """Order of arrival: announcements play in this order."""


class AnnouncementQueue:
    """Plays announcements sequentially on a worker thread; thread-safe ``enqueue``."""

    def __init__(
        self,
        player: Player,
        fetch: Fetch = read_local,
        *,
        fetch_timeout_s: float = 3.0,
        on_start: Hook | None = None,
        on_end: Hook | None = None,
        on_result: ResultHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        cache_size: int = 32,
    ) -> None:
        self._player = player
        self._fetch = fetch
        self._fetch_timeout_s = fetch_timeout_s
        self._on_start = on_start
        self._on_end = on_end
        self.on_result = on_result
        """Told how each announcement went (the board reports it to the server)."""
        self._clock = clock
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._cond = threading.Condition()
        self._queue: deque[Announcement] = deque()
        self._busy = False
        self._closed = False
        self._next_position = 0
        self._worker = threading.Thread(target=self._run, name="board-audio", daemon=True)
        self._worker.start()

    # --- public -----------------------------------------------------------------------

    def enqueue(self, announcement_id: str, sounds: Sequence[SoundSource]) -> int:
        """Queue an announcement (e.g. chime then voice); returns its position."""
        if not sounds:
            raise ValueError("an announcement needs at least one sound")
        with self._cond:
            if self._closed:
                raise QueueClosedError("the announcement queue is closed")
            position = self._next_position
            self._next_position += 1
            self._queue.append(Announcement(announcement_id, tuple(sounds), position))
            self._cond.notify_all()
        logger.debug("queued announcement %s at position %d", announcement_id, position)
        return position

    @property
    def pending(self) -> int:
        """Announcements not finished yet (queued or playing)."""
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything queued has played; False if ``timeout`` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, drain: bool = False, timeout: float = 5.0) -> None:
        """Stop the worker: after the queue empties when ``drain``, else right away
        (the sound playing now is cut short and the rest is discarded, logged)."""
        if drain:
            self.wait_idle(timeout)
        with self._cond:
            self._closed = True
            dropped = len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        if dropped:
            logger.info("audio queue closed with %d announcements unplayed", dropped)
        self._player.stop()
        self._worker.join(timeout)
        if self._worker.is_alive():
            logger.warning("audio worker did not stop within %.1f s", timeout)

    def __enter__(self) -> AnnouncementQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- worker -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if self._closed:
                    return
                announcement = self._queue.popleft()
                self._busy = True
            try:
                self._play(announcement)
            except Exception:
                # Thread boundary: a faulty injected player must not silence the board
                # for the rest of the day; log it and go on with the next call.
                logger.exception("announcement %s failed", announcement.id)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _play(self, announcement: Announcement) -> None:
        deadline = self._clock() + self._fetch_timeout_s
        futures = [self._fetch_async(source) for source in announcement.sounds]
        problems: list[str] = []
        for index, future in enumerate(futures):
            if self._closed:
                return
            try:
                wav = future.result(timeout=max(0.0, deadline - self._clock()))
            except TimeoutError:
                logger.warning(
                    "sound %d of %s not fetched within %.1f s; skipped",
                    index,
                    announcement.id,
                    self._fetch_timeout_s,
                )
                problems.append(f"sound {index}: not fetched within {self._fetch_timeout_s:.1f} s")
                continue
            except AudioFetchError as exc:
                logger.warning("sound %d of %s skipped: %s", index, announcement.id, exc)
                problems.append(f"sound {index}: {exc}")
                continue
            self._hook(self._on_start, announcement.id, index)
            try:
                self._player.play(wav)
            except PlayerError as exc:
                log = logger.debug if isinstance(exc, NoAudioDevice) else logger.warning
                log("sound %d of %s not played: %s", index, announcement.id, exc)
                problems.append(f"sound {index}: {exc}")
            self._hook(self._on_end, announcement.id, index)
        self._result(announcement.id, problems)

    def _result(self, announcement_id: str, problems: list[str]) -> None:
        if self.on_result is None:
            return
        status, detail = ("failed", "; ".join(problems)) if problems else ("played", "")
        try:
            self.on_result(announcement_id, status, detail)
        except Exception:
            # Thread boundary: reporting is a side channel; the next call must still play.
            logger.exception("sound report failed for %s", announcement_id)

    def _hook(self, hook: Hook | None, announcement_id: str, index: int) -> None:
        if hook is None:
            return
        try:
            hook(announcement_id, index, self._clock())
        except Exception:
            # Timing hooks are measurement aids; one that fails must not stop the sound.
            logger.exception("audio hook failed for %s", announcement_id)

    def _fetch_async(self, source: SoundSource) -> Future[bytes]:
        future: Future[bytes] = Future()
        if isinstance(source, bytes):
            future.set_result(source)
            return future
        key = str(source)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                future.set_result(cached)
                return future

        def fetch() -> None:
            try:
                data = self._fetch(source)
            except AudioFetchError as exc:
                future.set_exception(exc)
                return
            except Exception as exc:
                # Thread boundary: whatever the injected fetch raised (requests, OSError,
                # a bug) becomes one error type the worker knows how to skip.
                future.set_exception(AudioFetchError(f"cannot fetch {key}: {exc!r}"))
                return
            if self._cache_size > 0:
                with self._cache_lock:
                    self._cache[key] = data
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            future.set_result(data)

        threading.Thread(target=fetch, name="board-audio-fetch", daemon=True).start()
        return future


class NullPlayer:
    """Plays nothing, instantly: a board without speakers still shows every call."""

    def play(self, wav: bytes) -> None:
        return None

    def stop(self) -> None:
        return None


def _default_mixer_init() -> None:
    # A small buffer keeps the chime's start well inside the 300 ms target.
    pygame.mixer.init(frequency=22050, size=-16, channels=2, buffer=512)


class PygamePlayer:
    """pygame.mixer playback; silent (NullPlayer behaviour) when there is no device."""

    def __init__(
        self, mixer_init: Callable[[], None] = _default_mixer_init, poll_s: float = 0.01
    ) -> None:
        self._stop = threading.Event()
        self._poll_s = poll_s
        self.silent = False
        self.silent_reason = ""
        try:
            mixer_init()
        except pygame.error as exc:
            logger.warning("no audio device (%s): the board will run silently", exc)
            self.silent = True
            self.silent_reason = str(exc)

    def play(self, wav: bytes) -> None:
        if self.silent:
            # Reported, not hidden: a board nobody hears is broken (the calls still show).
            raise NoAudioDevice(f"no audio device ({self.silent_reason})")
        self._stop.clear()
        try:
            sound = pygame.mixer.Sound(file=io.BytesIO(wav))
            channel = sound.play()
        except pygame.error as exc:
            raise PlayerError(f"cannot play sound: {exc}") from exc
        if channel is None:
            raise PlayerError("no free mixer channel")
        deadline = time.monotonic() + sound.get_length() + 1.0
        while channel.get_busy() and time.monotonic() < deadline:
            if self._stop.wait(self._poll_s):
                channel.stop()
                return

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.stop()
        if not self.silent and pygame.mixer.get_init():
            pygame.mixer.quit()


@dataclass(frozen=True)
class PlayRecord:
    start: float
    end: float
    wav: bytes


@dataclass
class RecordingPlayer:
    """A fake player for tests: takes ``duration_s`` per sound and records each play."""

    duration_s: float = 0.0
    clock: Callable[[], float] = time.monotonic
    records: list[PlayRecord] = field(default_factory=list)
    max_concurrent: int = 0
    """The most plays ever in progress at once; anything above 1 is an overlap."""
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def play(self, wav: bytes) -> None:
        with self._lock:
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
        self._stop.clear()
        start = self.clock()
        if self.duration_s:
            self._stop.wait(self.duration_s)
        end = self.clock()
        with self._lock:
            self._active -= 1
            self.records.append(PlayRecord(start, end, wav))

    def stop(self) -> None:
        self._stop.set()

    @property
    def played(self) -> list[bytes]:
        with self._lock:
            return [r.wav for r in self.records]
