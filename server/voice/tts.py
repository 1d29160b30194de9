"""Vietnamese speech for hall announcements, through espeak-ng.

The primary engine is the ``libespeak-ng`` bundled in the ``espeakng-loader`` wheel, so
``pip install`` alone gives a working voice on a center's offline server; it is driven
with ctypes in synchronous mode (no audio device: samples come back through a callback).
The library keeps global state and is not thread-safe, so each loaded library is
initialised once and every synthesis holds its lock.  When the wheel cannot be loaded,
the ``espeak-ng`` program is used instead; when neither works, :class:`VoiceUnavailable`
says what was tried and how to fix it.

Under the gevent server the library runs in the hub's worker threads (``in_thread``), so
its 10–30 ms of synthesis never stops the sockets; the locks here are therefore the
operating system's, even after monkey-patching (see :func:`native_lock`).
"""

from __future__ import annotations

import ctypes
import logging
import shutil
import string
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Protocol

from server.i18n import t
from server.voice.chime import pcm_to_wav
from server.voice.numbers import read_label, read_number

logger = logging.getLogger(__name__)

DEFAULT_VOICE = "vi"
SPEED_RANGE = (80, 450)  # words per minute (espeakRATE_MINIMUM .. espeakRATE_MAXIMUM)
VOLUME_RANGE = (0, 200)  # espeak amplitude, 100 = normal
PROGRAM_TIMEOUT_S = 30.0

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_EE_OK = 0
_ESPEAK_RATE = 1
_ESPEAK_VOLUME = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def native_lock() -> threading.Lock:
    """A lock of the operating system's threads, even after gevent's monkey-patching.

    The gevent server synthesizes in the hub's worker threads, and only those threads
    take the engine's locks there; a gevent lock shared by native threads is fragile.
    In threading mode (tests, the development server) it is a plain ``threading.Lock``.
    Held only around synthesis, which never yields, so a greenlet that takes one (when
    nothing offloads) cannot deadlock with another greenlet of its own thread."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        return monkey.get_original("_thread", "allocate_lock")()  # type: ignore[no-any-return]
    return threading.Lock()


class VoiceError(RuntimeError):
    """Speech could not be produced for this request."""


class VoiceUnavailable(VoiceError):
    """No espeak-ng engine can be used on this machine."""


class VoiceSettingsError(VoiceError, ValueError):
    """A speed, volume or voice outside what espeak-ng accepts."""


class AnnouncementTemplateError(ValueError):
    """An announcement template that names an unknown placeholder or is malformed."""


class Engine(Protocol):
    """Something that turns text into a WAV file."""

    name: str
    #: Whether synthesis may run in a worker thread: True for in-process engines (CPU
    #: work that would stall an event loop); the program waits cooperatively under
    #: gevent, and gevent's subprocess module works only in the loop's own thread.
    in_thread: bool

    def synthesize(self, text: str, *, speed: int, volume: int, voice: str) -> bytes: ...


def _check(text: str, speed: int, volume: int) -> None:
    if not text.strip():
        raise VoiceError("there is no text to speak")
    if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
        raise VoiceSettingsError(f"speed must be {SPEED_RANGE[0]}..{SPEED_RANGE[1]} words/min")
    if not VOLUME_RANGE[0] <= volume <= VOLUME_RANGE[1]:
        raise VoiceSettingsError(f"volume must be {VOLUME_RANGE[0]}..{VOLUME_RANGE[1]}")


class EspeakLibrary:
    """libespeak-ng loaded with ctypes; use :meth:`open`, which shares one per library."""

    _opened: dict[Path, EspeakLibrary] = {}
    _opened_lock = native_lock()
    in_thread = True

    def __init__(self, library_path: Path, data_path: Path) -> None:
        self.name = f"libespeak-ng ({library_path})"
        self._lock = native_lock()
        self._chunks: list[bytes] = []
        try:
            lib = ctypes.CDLL(str(library_path))
        except OSError as exc:
            raise VoiceUnavailable(f"cannot load {library_path}: {exc}") from exc
        if not hasattr(lib, "espeak_Synth"):
            raise VoiceUnavailable(f"{library_path} is not libespeak-ng")
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise VoiceUnavailable(f"espeak-ng could not start with its data at {data_path}")
        # Kept on self: ctypes frees the trampoline if the Python object is collected.
        self._callback = _SYNTH_CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        self._lib = lib
        self.sample_rate = rate
        logger.info("speech engine: %s at %d Hz", self.name, rate)

    @classmethod
    def open(cls, library_path: Path, data_path: Path) -> EspeakLibrary:
        """The engine for this library file, initialised on first use only."""
        key = Path(library_path).resolve()
        with cls._opened_lock:
            engine = cls._opened.get(key)
            if engine is None:
                engine = cls(key, Path(data_path))
                cls._opened[key] = engine
            return engine

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def synthesize(self, text: str, *, speed: int, volume: int, voice: str) -> bytes:
        _check(text, speed, volume)
        encoded = text.encode("utf-8") + b"\0"
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise VoiceSettingsError(f"espeak-ng has no voice named {voice!r}")
            self._lib.espeak_SetParameter(_ESPEAK_RATE, speed, 0)
            self._lib.espeak_SetParameter(_ESPEAK_VOLUME, volume, 0)
            self._chunks = []
            status = self._lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            pcm, self._chunks = b"".join(self._chunks), []
        if status != _EE_OK:
            raise VoiceError(f"espeak-ng failed to speak (error {status})")
        if not pcm:
            raise VoiceError(f"espeak-ng produced no sound for {text!r}")
        return pcm_to_wav(pcm, sample_rate=self.sample_rate)


def _riff_from_stream(data: bytes) -> bytes:
    """A WAV with correct sizes from what ``espeak-ng --stdout`` writes into a pipe.

    Writing to a pipe, espeak-ng cannot seek back to fill in the RIFF and data sizes, so
    they hold placeholders; the samples simply run to the end of the stream.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise VoiceError("espeak-ng did not write a WAV file")
    pos = 12
    channels = rate = bits = 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt " and size >= 16:
            _fmt, channels, rate, _byte_rate, _align, bits = struct.unpack_from(
                "<HHIIHH", data, body
            )
        elif chunk_id == b"data":
            if (channels, bits) != (1, 16) or rate <= 0:
                raise VoiceError(f"espeak-ng wrote {bits}-bit × {channels} audio, not 16-bit mono")
            pcm = data[body:]
            return pcm_to_wav(pcm[: len(pcm) - len(pcm) % 2], sample_rate=rate)
        pos = body + size + (size & 1)
    raise VoiceError("espeak-ng wrote a WAV file without audio data")


class EspeakProgram:
    """The ``espeak-ng`` command-line program, writing a WAV to standard output."""

    in_thread = False

    def __init__(self, executable: Path) -> None:
        self.executable = executable
        self.name = f"espeak-ng program ({executable})"

    def synthesize(self, text: str, *, speed: int, volume: int, voice: str) -> bytes:
        _check(text, speed, volume)
        # The text goes through stdin so a leading "-" can never be taken for an option.
        command = [str(self.executable), "-v", voice, "-s", str(speed), "-a", str(volume)]
        command += ["-b", "1", "--stdout"]
        try:
            done = subprocess.run(
                command,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=PROGRAM_TIMEOUT_S,
                check=False,
            )
        except OSError as exc:
            raise VoiceUnavailable(f"cannot run {self.executable}: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise VoiceError(f"espeak-ng took over {PROGRAM_TIMEOUT_S:.0f} s") from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip()
            raise VoiceError(f"espeak-ng exited with {done.returncode}: {detail}")
        return _riff_from_stream(done.stdout)


def open_engine(
    *,
    library_path: Path | None = None,
    data_path: Path | None = None,
    program: str = "espeak-ng",
) -> Engine:
    """The best available engine: the bundled library, else the ``espeak-ng`` program.

    Without paths the library and its data come from the ``espeakng-loader`` wheel.
    """
    reasons: list[str] = []
    try:
        if library_path is None or data_path is None:
            import espeakng_loader

            library_path = library_path or Path(espeakng_loader.get_library_path())
            data_path = data_path or Path(espeakng_loader.get_data_path())
        return EspeakLibrary.open(library_path, data_path)
    except ImportError as exc:
        reasons.append(f"the espeakng-loader package is not installed ({exc})")
    except RuntimeError as exc:  # espeakng_loader's own error, and VoiceUnavailable
        reasons.append(str(exc))
    found = shutil.which(program)
    if found is not None:
        logger.warning("bundled espeak-ng unusable (%s); using %s", "; ".join(reasons), found)
        return EspeakProgram(Path(found))
    reasons.append(f"no {program!r} program on PATH")
    raise VoiceUnavailable(
        "no Vietnamese speech engine: "
        + "; ".join(reasons)
        + ". Install the espeakng-loader wheel (pip install espeakng-loader) "
        "or the espeak-ng program (apt install espeak-ng)."
    )


_default: Engine | None = None
_default_lock = native_lock()


def default_engine() -> Engine:
    """The engine :func:`synthesize` uses, chosen on first use and then kept."""
    global _default
    with _default_lock:
        if _default is None:
            _default = open_engine()
        return _default


def synthesize(
    text: str, *, speed: int = 150, volume: int = 100, voice: str = DEFAULT_VOICE
) -> bytes:
    """A complete WAV file (16-bit mono, 22,050 Hz) of ``text`` spoken in Vietnamese."""
    return default_engine().synthesize(text, speed=speed, volume=volume, voice=voice)


def default_template(lang: str = "vi") -> str:
    """The catalog's announcement template, for a center whose config sets none."""
    return t("voice.announcement", lang)


def _spoken_counter(counter: str | int, zero_tens: str) -> str:
    """Counters are always read as words ("quầy số mười hai"), even in halls that read
    queue numbers digit by digit: they are small numbers citizens know from the signs."""
    if isinstance(counter, int):
        return read_number(counter, "words", zero_tens)
    return read_label(counter, "words", zero_tens)


def announcement_text(
    template: str,
    *,
    label: str,
    counter: str | int,
    service: str = "",
    style: str = "words",
    zero_tens: str = "linh",
) -> str:
    """Fill an announcement template with the spoken forms of a call.

    Placeholders: ``{number}`` the label read aloud in ``style``, ``{counter}`` the
    counter read aloud (always as words), ``{label}`` and ``{counter_label}`` as
    printed, ``{service}`` the service name.  A label or counter that cannot be read
    raises :class:`~server.voice.numbers.NumberReadingError`.
    """
    values = {
        "number": read_label(label, style, zero_tens),
        "counter": _spoken_counter(counter, zero_tens),
        "label": label,
        "counter_label": str(counter),
        "service": service,
    }
    try:
        fields = [name for _text, name, _spec, _conv in string.Formatter().parse(template)]
    except ValueError as exc:
        raise AnnouncementTemplateError(f"malformed template {template!r}: {exc}") from exc
    for name in fields:
        if name is not None and name not in values:
            raise AnnouncementTemplateError(
                f"unknown placeholder {{{name}}} in {template!r}; use {sorted(values)}"
            )
    try:
        return template.format_map(values)
    except ValueError as exc:
        raise AnnouncementTemplateError(f"malformed template {template!r}: {exc}") from exc
