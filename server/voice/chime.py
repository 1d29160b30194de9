"""The hall chime and the small WAV toolkit the voice package shares.

Everything is 16-bit mono PCM at espeak-ng's native 22,050 Hz, so the chime and the
speech can be queued or joined without resampling.  The chime is synthesized in pure
Python (no numpy) because it is made once per cache directory and must not add a
dependency to the server.
"""

from __future__ import annotations

import io
import logging
import math
import sys
import wave
from array import array
from typing import NamedTuple, TypedDict

logger = logging.getLogger(__name__)

#: espeak-ng's output rate; the chime is made at the same rate so they concatenate.
SAMPLE_RATE = 22050
SAMPLE_WIDTH = 2
CHANNELS = 1

#: (start s, frequency Hz, relative loudness): a descending "ding-dong-dong" on a C-major
#: triad (G5, E5, C5), the three-tone pattern Vietnamese halls and stations commonly use.
_NOTES = ((0.0, 783.99, 1.0), (0.28, 659.25, 0.9), (0.56, 523.25, 0.95))
_CHIME_SECONDS = 1.3
_DECAY_PER_SECOND = 4.2
_ATTACK_SECONDS = 0.006
_RELEASE_SECONDS = 0.08
#: Peak at about -4 dBFS: clearly audible over hall noise yet never clipping on a TV.
_PEAK = 0.62


class WavFormatError(ValueError):
    """Bytes that are not 16-bit PCM WAV, or parts whose formats cannot be joined."""


class WavInfo(TypedDict):
    duration_s: float
    rms: float
    peak: float
    sample_rate: int
    channels: int
    sample_width: int
    frames: int


def pcm_to_wav(pcm: bytes, *, sample_rate: int = SAMPLE_RATE, channels: int = CHANNELS) -> bytes:
    """Wrap little-endian 16-bit PCM in a complete RIFF/WAVE file."""
    if len(pcm) % (SAMPLE_WIDTH * channels):
        raise WavFormatError(f"{len(pcm)} bytes is not a whole number of 16-bit frames")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return out.getvalue()


def _samples_to_pcm(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _pcm_to_samples(pcm: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


class _Wav(NamedTuple):
    nchannels: int
    sampwidth: int
    framerate: int
    nframes: int
    pcm: bytes


def _read(data: bytes) -> _Wav:
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            params = reader.getparams()
            pcm = reader.readframes(params.nframes)
    except (wave.Error, EOFError) as exc:
        raise WavFormatError(f"not a WAV file: {exc}") from exc
    if params.sampwidth != SAMPLE_WIDTH:
        raise WavFormatError(f"expected 16-bit samples, got {8 * params.sampwidth}-bit")
    if params.framerate <= 0:
        raise WavFormatError(f"invalid sample rate {params.framerate}")
    nframes = len(pcm) // (params.sampwidth * params.nchannels)
    return _Wav(params.nchannels, params.sampwidth, params.framerate, nframes, pcm)


def chime_wav(sample_rate: int = SAMPLE_RATE) -> bytes:
    """A soft three-tone "ding-dong" (~1.3 s) that tells the hall a call is coming.

    Each note is a sine with a quieter octave partial (a bell-like timbre rather than a
    beep), a few-millisecond attack so it does not click, and an exponential decay; the
    whole is faded out at the end so it stops on silence.
    """
    if sample_rate < 8000:
        raise WavFormatError(f"sample rate {sample_rate} Hz is too low for the chime")
    total = int(_CHIME_SECONDS * sample_rate)
    mix = [0.0] * total
    attack = max(1, int(_ATTACK_SECONDS * sample_rate))
    for start_s, freq, loudness in _NOTES:
        start = int(start_s * sample_rate)
        step = 2.0 * math.pi * freq / sample_rate
        decay = math.exp(-_DECAY_PER_SECOND / sample_rate)
        envelope = loudness
        for i in range(total - start):
            shape = envelope * (i / attack if i < attack else 1.0)
            phase = step * i
            mix[start + i] += shape * (math.sin(phase) + 0.25 * math.sin(2.0 * phase))
            envelope *= decay
    release = int(_RELEASE_SECONDS * sample_rate)
    for i in range(release):
        mix[total - release + i] *= 1.0 - i / release
    scale = _PEAK * 32767 / max(abs(v) for v in mix)
    samples = array("h", (round(v * scale) for v in mix))
    return pcm_to_wav(_samples_to_pcm(samples), sample_rate=sample_rate)


def silence_wav(seconds: float, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A silent WAV, for a pause between joined parts."""
    frames = max(0, round(seconds * sample_rate))
    return pcm_to_wav(bytes(frames * SAMPLE_WIDTH * CHANNELS), sample_rate=sample_rate)


def concat_wav(parts: list[bytes]) -> bytes:
    """Join WAV files of the same format into one (chime + voice for a single stream)."""
    if not parts:
        raise WavFormatError("nothing to join")
    first = _read(parts[0])
    chunks = [first.pcm]
    for number, part in enumerate(parts[1:], start=2):
        params = _read(part)
        if (params.nchannels, params.framerate) != (first.nchannels, first.framerate):
            raise WavFormatError(
                f"part {number} is {params.framerate} Hz × {params.nchannels} channel(s), "
                f"part 1 is {first.framerate} Hz × {first.nchannels} channel(s)"
            )
        chunks.append(params.pcm)
    return pcm_to_wav(b"".join(chunks), sample_rate=first.framerate, channels=first.nchannels)


def wav_info(data: bytes) -> WavInfo:
    """Duration and loudness of a 16-bit WAV; ``rms`` and ``peak`` are 0..1 of full scale."""
    params = _read(data)
    samples = _pcm_to_samples(params.pcm)
    count = len(samples)
    rms = math.sqrt(sum(s * s for s in samples) / count) / 32768 if count else 0.0
    peak = max(map(abs, samples)) / 32768 if count else 0.0
    return WavInfo(
        duration_s=params.nframes / params.framerate,
        rms=rms,
        peak=peak,
        sample_rate=params.framerate,
        channels=params.nchannels,
        sample_width=params.sampwidth,
        frames=params.nframes,
    )
