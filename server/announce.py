"""The spoken announcement of a call: its text from the config template, and its WAV
rendered once by the server and cached, so the pygame board and the web board play the
same sound from the same URL."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .config import Config
from .voice import AudioCache, VoiceUnavailable, announcement_text

log = logging.getLogger(__name__)

AUDIO_PREFIX = "/api/v1/audio"


class Announcer:
    def __init__(self, cfg: Config, directory: Path) -> None:
        self.cfg = cfg
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
            if len(self._texts) > 10_000:
                self._texts.clear()
            self._texts[key] = text
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
        if text is None:
            return None
        try:
            self.cache.render(text)
        except VoiceUnavailable:
            return None
        return self.cache.get(key)

    def chime(self) -> Path:
        return self.cache.chime_path()
