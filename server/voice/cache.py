"""Announcement audio rendered once and kept as files, so every board plays the same sound.

The server renders a call's speech when it makes the call and sends boards a URL built
from the key; pygame boards and smart-TV web boards then fetch the same file.  The key
is a hash of the text and the voice settings, so a changed setting gives new files and
never a stale sound.  Files are written to a temporary name and renamed into place, and
one lock per key makes concurrent requests for the same text synthesize it once: a
reader sees either no file or a complete one.

Synthesis and the fsync'd write are the slow, blocking part (10–30 ms).  The gevent
server sets :attr:`AudioCache.offload` to its hub's thread pool, so they run in a worker
thread while the loop keeps writing to the boards' sockets; the key locks stay on the
caller's side, and the worker thread only computes and writes a file of its own.  The
cache is made with the app, after gevent's monkey-patching, so its locks are gevent
locks: a greenlet may hold one while it waits for the pool.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from server.datadir import DIR_MODE
from server.voice.chime import chime_wav
from server.voice.tts import DEFAULT_VOICE, default_engine, synthesize

logger = logging.getLogger(__name__)

KEY_LENGTH = 24
CHIME_NAME = "chime.wav"
#: Bump when the rendering changes in a way the settings do not capture.
_FORMAT = 1
_KEY = re.compile(rf"^[0-9a-f]{{{KEY_LENGTH}}}$")
_TEMP_SUFFIX = ".tmp"
#: Temporary files older than this were left by a crash and are removed at start.
_STALE_TEMP_S = 3600.0
#: 44-byte header and at least some samples: anything smaller is a torn write.
_MIN_WAV_BYTES = 46

Synthesizer = Callable[..., bytes]
#: Runs a blocking function elsewhere and returns its result (gevent: threadpool.apply).
Offload = Callable[[Callable[[], Any]], Any]
T = TypeVar("T")


class CacheKeyError(ValueError):
    """A string that is not a cache key (keys come from URLs, so they are checked)."""


class _KeyLocks:
    """One lock per key, dropped once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` is either absent, the old file, or all of it."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _complete(path: Path) -> bool:
    try:
        return path.stat().st_size >= _MIN_WAV_BYTES
    except FileNotFoundError:
        return False


class AudioCache:
    """Speech WAV files named by key in ``directory``, plus the hall chime.

    ``synthesize`` defaults to espeak-ng (:func:`server.voice.tts.synthesize`); a test or
    another engine can pass any callable with the same keyword arguments (it must be
    safe to call from a worker thread when :attr:`offload` is set).
    """

    #: Where blocking work runs (synthesis, file writes); None: in the calling thread.
    offload: Offload | None = None

    def __init__(
        self,
        directory: Path,
        *,
        speed: int = 150,
        volume: int = 100,
        voice: str = DEFAULT_VOICE,
        synthesize: Synthesizer = synthesize,
    ) -> None:
        self.directory = Path(directory)
        self.speed = speed
        self.volume = volume
        self.voice = voice
        self._synthesize = synthesize
        self._locks = _KeyLocks()
        self._chime_lock = threading.Lock()
        #: Taken around an offloaded synthesis: the engine speaks one text at a time, so
        #: the others wait here, as greenlets, not in the pool's threads (commits use them).
        self._speaking = threading.Lock()
        self._default_in_thread: bool | None = None
        self._chime_checked = False
        self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        self._remove_stale_temps()

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - _STALE_TEMP_S
        for temp in self.directory.glob(f".*{_TEMP_SUFFIX}"):
            try:
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
                    logger.info("removed a half-written audio file %s", temp.name)
            except FileNotFoundError:
                continue

    def key_for(self, text: str) -> str:
        """The file key for ``text`` spoken with this cache's voice settings."""
        recipe = json.dumps(
            {
                "text": text,
                "speed": self.speed,
                "volume": self.volume,
                "voice": self.voice,
                "format": _FORMAT,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(recipe.encode("utf-8")).hexdigest()[:KEY_LENGTH]

    def path_for(self, key: str) -> Path:
        """Where the speech for ``key`` lives; rejects anything that is not a key."""
        if not _KEY.match(key):
            raise CacheKeyError(f"{key!r} is not an audio key")
        return self.directory / f"{key}.wav"

    def get(self, key: str) -> Path | None:
        """The rendered file for ``key``, or None when it is not rendered (or not a key)."""
        try:
            path = self.path_for(key)
        except CacheKeyError:
            return None
        return path if _complete(path) else None

    def render(self, text: str) -> str:
        """Synthesize ``text`` unless already rendered; returns its key."""
        key = self.key_for(text)
        path = self.path_for(key)
        if _complete(path):
            return key
        with self._locks.hold(key):
            if _complete(path):
                return key
            started = time.perf_counter()
            audio = self._speak(text)
            self._blocking(partial(_write_atomically, path, audio))
            logger.debug(
                "rendered %s (%d bytes) in %.0f ms: %s",
                path.name,
                len(audio),
                (time.perf_counter() - started) * 1000,
                text,
            )
        return key

    def _blocking(self, work: Callable[[], T]) -> T:
        return work() if self.offload is None else self.offload(work)  # type: ignore[no-any-return]

    def _speak(self, text: str) -> bytes:
        work = partial(
            self._synthesize, text, speed=self.speed, volume=self.volume, voice=self.voice
        )
        if self.offload is None or not self._may_leave_loop():
            return work()
        with self._speaking:
            return self._blocking(work)

    def _may_leave_loop(self) -> bool:
        """Whether synthesis may run in the pool: a given synthesizer may; the default
        one unless it is the espeak-ng program (gevent's subprocess works only in the
        loop's own thread, where it already waits cooperatively)."""
        if self._synthesize is not synthesize:
            return True
        if self._default_in_thread is None:
            # Opening the engine loads the library and its voice data: off the loop too.
            self._default_in_thread = self._blocking(default_engine).in_thread
        return self._default_in_thread

    def chime_path(self) -> Path:
        """The chime file, written on first use (and rewritten if the chime changed)."""
        path = self.directory / CHIME_NAME
        with self._chime_lock:
            if not self._chime_checked or not _complete(path):
                if self._blocking(partial(_ensure_chime, path)):
                    logger.info("wrote the hall chime to %s", path)
                self._chime_checked = True
        return path


def _ensure_chime(path: Path) -> bool:
    """Write the chime unless the file already holds it (True: written).  Computing it
    takes ~75 ms of pure Python, so the server does this once, off the loop."""
    audio = chime_wav()
    if _complete(path) and path.read_bytes() == audio:
        return False
    _write_atomically(path, audio)
    return True
