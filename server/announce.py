"""The spoken announcement of a call: its text from the config template, and its WAV
rendered once by the server and cached, so the pygame board and the web board play the
same sound from the same URL.

A board may fetch the URL from another process than the one that made the call (and,
on several hosts, another audio folder): with a message queue the text behind each key
is kept in Redis too (`SharedTexts`), so any process can render a key it never saw.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import redis

from .config import Config
from .voice import AudioCache, VoiceUnavailable, announcement_text

log = logging.getLogger(__name__)

AUDIO_PREFIX = "/api/v1/audio"
#: How long a key's text stays in Redis: a call is replayed (resync, snapshot) for a
#: day at most, and a key's text never changes (the key hashes it).
TEXT_TTL_S = 2 * 86400


class SharedTexts:
    """Keys' texts in Redis under `<prefix>:audio:<key>`.  Redis not answering: a key
    is renderable only where it was announced (logged), as with one process."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def put(self, key: str, text: str) -> None:
        try:
            self.redis.set(f"{self.prefix}:audio:{key}", text.encode(), ex=TEXT_TTL_S)
        except redis.RedisError as exc:
            log.warning("announcement text not shared: %s", exc)

    def get(self, key: str) -> str | None:
        try:
            raw = self.redis.get(f"{self.prefix}:audio:{key}")
        except redis.RedisError as exc:
            log.warning("announcement text unavailable: %s", exc)
            return None
        return None if raw is None else bytes(raw).decode()  # type: ignore[arg-type]


class Announcer:
    def __init__(self, cfg: Config, directory: Path, shared: SharedTexts | None = None) -> None:
        self.cfg = cfg
        self.shared = shared
        self.cache = AudioCache(
            directory, speed=cfg.voice.speed, volume=cfg.voice.volume, voice="vi"
        )
        self._texts: dict[str, str] = {}
        self._lock = threading.Lock()
        self._warned = False

    def text(self, label: str, counter: int) -> str:
        v = self.cfg.voice
        return announcement_text(
            v.template, label=label, counter=counter, style=v.number_style, zero_tens=v.zero_tens
        )

    def __call__(self, label: str, counter: int) -> tuple[str, str]:
        return self.speak(self.text(label, counter))

    def speak(self, text: str) -> tuple[str, str]:
        """Any text (a board's test announcement): its URL, rendered when first asked."""
        key = self.cache.key_for(text)
        with self._lock:
            new = key not in self._texts
            if len(self._texts) > 10_000:
                self._texts.clear()
            self._texts[key] = text
        if new and self.shared is not None:
            self.shared.put(key, text)  # once per key and process, not per payload
        return text, f"{AUDIO_PREFIX}/{key}.wav"

    def render(self, label: str, counter: int) -> str | None:
        """Synthesize ahead of the boards' requests; returns the cache key (None: no voice)."""
        try:
            return self.cache.render(self.text(label, counter))
        except VoiceUnavailable as exc:
            if not self._warned:
                log.warning("announcements will be silent: %s", exc)
                self._warned = True
            return None

    def path(self, key: str) -> Path | None:
        """The WAV of a key, rendering it now if it was announced but not rendered yet."""
        found = self.cache.get(key)
        if found is not None:
            return found
        with self._lock:
            text = self._texts.get(key)
        if text is None and self.shared is not None:
            text = self.shared.get(key)  # announced by another process
        if text is None:
            return None
        try:
            self.cache.render(text)
        except VoiceUnavailable:
            return None
        return self.cache.get(key)

    def chime(self) -> Path:
        return self.cache.chime_path()
