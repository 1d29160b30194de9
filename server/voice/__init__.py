"""Announcement audio for the hall boards: number reading, speech, chime and the file cache.

A library with no Flask in it: the server renders each call's speech once through
:class:`AudioCache` and boards play ``chime.wav`` followed by the speech file.
"""

from __future__ import annotations

from server.voice.cache import AudioCache, CacheKeyError
from server.voice.chime import (
    SAMPLE_RATE,
    WavFormatError,
    WavInfo,
    chime_wav,
    concat_wav,
    pcm_to_wav,
    silence_wav,
    wav_info,
)
from server.voice.numbers import NumberReadingError, read_label, read_letter, read_number
from server.voice.tts import (
    AnnouncementTemplateError,
    Engine,
    VoiceError,
    VoiceSettingsError,
    VoiceUnavailable,
    announcement_text,
    default_engine,
    default_template,
    open_engine,
    synthesize,
)

__all__ = [
    "SAMPLE_RATE",
    "AnnouncementTemplateError",
    "AudioCache",
    "CacheKeyError",
    "Engine",
    "NumberReadingError",
    "VoiceError",
    "VoiceSettingsError",
    "VoiceUnavailable",
    "WavFormatError",
    "WavInfo",
    "announcement_text",
    "chime_wav",
    "concat_wav",
    "default_engine",
    "default_template",
    "open_engine",
    "pcm_to_wav",
    "read_label",
    "read_letter",
    "read_number",
    "silence_wav",
    "synthesize",
    "wav_info",
]
