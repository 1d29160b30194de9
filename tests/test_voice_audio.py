"""Announcement audio as the hall hears it: speech, chime, joined files and the cache."""

from __future__ import annotations

import ast
import io
import math
import stat
import sys
import threading
import wave
from array import array
from collections.abc import Callable
from pathlib import Path

import pytest

from server.voice import (
    AnnouncementTemplateError,
    AudioCache,
    CacheKeyError,
    NumberReadingError,
    VoiceError,
    VoiceSettingsError,
    VoiceUnavailable,
    WavFormatError,
    announcement_text,
    chime_wav,
    concat_wav,
    default_template,
    open_engine,
    silence_wav,
    synthesize,
    wav_info,
)

ANNOUNCEMENT = "Xin mời công dân có số thứ tự một nghìn không trăm mười hai đến quầy số năm"


def measure(data: bytes) -> tuple[int, int, int, float, array[int]]:
    """Channels, sample width, rate, seconds and samples, read with the wave module."""
    with wave.open(io.BytesIO(data), "rb") as reader:
        frames = reader.readframes(reader.getnframes())
        samples = array("h")
        samples.frombytes(frames)
        if sys.byteorder == "big":
            samples.byteswap()
        seconds = reader.getnframes() / reader.getframerate()
        return (
            reader.getnchannels(),
            reader.getsampwidth(),
            reader.getframerate(),
            seconds,
            samples,
        )


def rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768


def loud_windows(samples: array[int], rate: int, threshold: float = 0.02) -> list[bool]:
    """Per 20 ms window: is there sound in it?"""
    size = rate // 50
    return [rms(samples[i : i + size]) > threshold for i in range(0, len(samples) - size, size)]


def test_announcement_is_real_vietnamese_speech() -> None:
    data = synthesize(ANNOUNCEMENT)

    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    channels, width, rate, seconds, samples = measure(data)
    assert (channels, width, rate) == (1, 2, 22050)
    assert 2.0 <= seconds <= 8.0
    assert rms(samples) > 0.03
    # Speech comes in words: sound most of the time, with short silences between words
    # (a tone or noise would have none, a broken engine no sound at all).
    loud = loud_windows(samples, rate)
    assert 0.5 < sum(loud) / len(loud) < 0.97
    word_ends = sum(1 for before, now in zip(loud, loud[1:], strict=False) if before and not now)
    assert word_ends >= 5


def test_longer_text_gives_longer_audio() -> None:
    short = measure(synthesize("Xin mời số năm"))[3]
    long = measure(synthesize(ANNOUNCEMENT))[3]
    assert long > short * 1.8


def test_speed_and_volume_settings_are_heard() -> None:
    slow = measure(synthesize(ANNOUNCEMENT, speed=100))[3]
    fast = measure(synthesize(ANNOUNCEMENT, speed=250))[3]
    assert slow > fast * 1.8
    quiet = rms(measure(synthesize(ANNOUNCEMENT, volume=50))[4])
    loud = rms(measure(synthesize(ANNOUNCEMENT, volume=150))[4])
    assert loud > quiet * 2


def test_synthesis_from_many_threads_keeps_each_text_whole() -> None:
    # espeak-ng varies a few samples from run to run, so compare what a listener would:
    # each text's length and loudness, which mixed-up or cut-off audio would change.
    texts = ["Xin mời", "Xin mời số năm đến quầy số một", ANNOUNCEMENT]
    alone = {text: measure(synthesize(text)) for text in texts}
    results: dict[str, list[bytes]] = {text: [] for text in texts}

    def speak(text: str) -> None:
        results[text].append(synthesize(text))

    threads = [threading.Thread(target=speak, args=(text,)) for text in texts * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for text, sounds in results.items():
        assert len(sounds) == 4
        for sound in sounds:
            _channels, _width, _rate, seconds, samples = measure(sound)
            assert seconds == pytest.approx(alone[text][3], abs=0.05)
            assert rms(samples) == pytest.approx(rms(alone[text][4]), rel=0.1)


def test_bad_requests_are_refused_clearly() -> None:
    with pytest.raises(VoiceError, match="no text"):
        synthesize("   ")
    with pytest.raises(VoiceSettingsError, match="speed"):
        synthesize("một", speed=20)
    with pytest.raises(VoiceSettingsError, match="volume"):
        synthesize("một", volume=300)
    with pytest.raises(VoiceSettingsError, match="no-such-voice"):
        synthesize("một", voice="no-such-voice")
    # the engine still speaks Vietnamese after a refused voice
    assert measure(synthesize("một", voice="vi"))[3] > 0.1


def test_without_any_engine_the_error_says_what_was_tried_and_how_to_fix_it(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "libespeak-ng.so"
    with pytest.raises(VoiceUnavailable) as error:
        open_engine(library_path=missing, data_path=tmp_path, program="motcua-no-such-espeak")
    message = str(error.value)
    assert str(missing) in message
    assert "'motcua-no-such-espeak'" in message
    assert "pip install espeakng-loader" in message
    assert "apt install espeak-ng" in message


def write_fake_espeak(tmp_path: Path, *, fails: bool = False) -> tuple[Path, Path]:
    """An ``espeak-ng`` stand-in that writes a WAV into a pipe like the real one.

    The real program cannot seek on a pipe, so its RIFF and data sizes are placeholders;
    this one does the same, and records its arguments and input.
    """
    record = tmp_path / "called.txt"
    script = tmp_path / "espeak-ng"
    body = [
        f"#!{sys.executable}",
        "import struct, sys",
        "text = sys.stdin.buffer.read().decode('utf-8')",
        f"open({str(record)!r}, 'w', encoding='utf-8').write(repr((sys.argv[1:], text)))",
    ]
    if fails:
        body += ["sys.stderr.write('Failed to read voice'); sys.exit(1)"]
    else:
        body += [
            "pcm = struct.pack('<h', 8000) * 11025 + struct.pack('<h', -8000) * 11025",
            "fmt = struct.pack('<HHIIHH', 1, 1, 22050, 44100, 2, 16)",
            "sys.stdout.buffer.write(b'RIFF' + struct.pack('<I', 0x7FFFFFFF) + b'WAVE'"
            " + b'fmt ' + struct.pack('<I', 16) + fmt"
            " + b'data' + struct.pack('<I', 0x7FFFFFFF) + pcm)",
        ]
    script.write_text("\n".join(body) + "\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, record


def test_espeak_program_is_used_when_the_bundled_library_is_missing(tmp_path: Path) -> None:
    script, record = write_fake_espeak(tmp_path)
    engine = open_engine(
        library_path=tmp_path / "missing.so", data_path=tmp_path, program=str(script)
    )
    assert "program" in engine.name

    data = engine.synthesize("Xin mời số -5", speed=170, volume=80, voice="vi")

    channels, width, rate, seconds, samples = measure(data)
    assert (channels, width, rate) == (1, 2, 22050)
    assert seconds == pytest.approx(1.0)
    assert rms(samples) == pytest.approx(8000 / 32768, rel=0.01)
    args, text = ast.literal_eval(record.read_text(encoding="utf-8"))
    assert text == "Xin mời số -5"
    assert args[args.index("-v") + 1] == "vi"
    assert args[args.index("-s") + 1] == "170"
    assert args[args.index("-a") + 1] == "80"
    assert "--stdout" in args


def test_a_failing_espeak_program_reports_its_message(tmp_path: Path) -> None:
    script, _record = write_fake_espeak(tmp_path, fails=True)
    engine = open_engine(
        library_path=tmp_path / "missing.so", data_path=tmp_path, program=str(script)
    )
    with pytest.raises(VoiceError, match="Failed to read voice"):
        engine.synthesize("một", speed=150, volume=100, voice="xx")


def test_chime_is_a_short_audible_ding_dong_without_clicks() -> None:
    data = chime_wav()

    channels, width, rate, seconds, samples = measure(data)
    assert (channels, width, rate) == (1, 2, 22050)
    assert 0.8 <= seconds <= 2.0
    assert rms(samples) > 0.05
    assert max(map(abs, samples)) < 32000  # headroom: never clips on a TV
    assert abs(samples[0]) < 500 and abs(samples[-1]) < 100  # starts and stops on silence
    # several separate strikes: the loudness rises again after the first note decays
    size = rate // 50
    envelope = [rms(samples[i : i + size]) for i in range(0, len(samples) - size, size)]
    rises = sum(1 for a, b in zip(envelope, envelope[1:], strict=False) if b > a * 1.3)
    assert rises >= 2
    assert chime_wav() == data  # the same sound every time


def test_chime_and_speech_join_into_one_file() -> None:
    chime = chime_wav()
    speech = synthesize("Xin mời số năm")
    joined = concat_wav([chime, silence_wav(0.25), speech])
    assert measure(joined)[3] == pytest.approx(
        measure(chime)[3] + 0.25 + measure(speech)[3], abs=0.001
    )
    info = wav_info(joined)
    assert info["sample_rate"] == 22050 and info["channels"] == 1
    assert info["rms"] > 0.05


def test_wav_info_matches_the_wave_module() -> None:
    data = synthesize(ANNOUNCEMENT)
    channels, _width, rate, seconds, samples = measure(data)
    info = wav_info(data)
    assert info["duration_s"] == pytest.approx(seconds)
    assert info["rms"] == pytest.approx(rms(samples))
    assert (info["sample_rate"], info["channels"], info["sample_width"]) == (rate, channels, 2)
    assert wav_info(silence_wav(0.5))["rms"] == 0.0


def test_files_that_cannot_be_joined_or_measured_are_refused() -> None:
    with pytest.raises(WavFormatError, match="44100 Hz"):
        concat_wav([chime_wav(), chime_wav(sample_rate=44100)])
    with pytest.raises(WavFormatError, match="nothing"):
        concat_wav([])
    with pytest.raises(WavFormatError, match="not a WAV"):
        wav_info(b"ID3 this is an mp3")


def test_announcement_text_fills_the_template_with_spoken_numbers() -> None:
    assert announcement_text(default_template(), label="1012", counter=5) == ANNOUNCEMENT
    assert (
        announcement_text(default_template(), label="1001", counter="12", zero_tens="le")
        == "Xin mời công dân có số thứ tự một nghìn không trăm lẻ một đến quầy số mười hai"
    )
    assert (
        announcement_text(default_template(), label="A012", counter=12, style="digits")
        == "Xin mời công dân có số thứ tự A, không, một, hai đến quầy số mười hai"
    )
    assert (
        announcement_text(
            "Mời số {label} ({number}), lĩnh vực {service}, quầy {counter_label}",
            label="2005",
            counter=3,
            service="Hộ tịch",
        )
        == "Mời số 2005 (hai nghìn không trăm linh năm), lĩnh vực Hộ tịch, quầy 3"
    )
    assert (
        announcement_text(default_template("en"), label="1012", counter=5)
        == "Number 1012, please go to counter 5"
    )


@pytest.mark.parametrize(
    ("template", "complaint"),
    [
        ("Mời số {so_thu_tu}", "{so_thu_tu}"),
        ("Mời số {0}", "{0}"),
        ("Mời số {number.upper}", "{number.upper}"),
        ("Mời số {number", "malformed"),
        ("Mời số {number:d}", "malformed"),
    ],
)
def test_bad_templates_are_refused_naming_the_problem(template: str, complaint: str) -> None:
    with pytest.raises(AnnouncementTemplateError) as error:
        announcement_text(template, label="1012", counter=5)
    assert complaint in str(error.value)


def test_unreadable_labels_do_not_make_an_announcement() -> None:
    with pytest.raises(NumberReadingError):
        announcement_text(default_template(), label="#12", counter=5)


def counting(calls: list[str]) -> Callable[..., bytes]:
    def counted(text: str, **settings: int | str) -> bytes:
        calls.append(text)
        return synthesize(text, **settings)  # type: ignore[arg-type]

    return counted


def test_cache_renders_each_text_once(tmp_path: Path) -> None:
    calls: list[str] = []
    cache = AudioCache(tmp_path / "audio", speed=160, volume=90, synthesize=counting(calls))

    key = cache.render(ANNOUNCEMENT)
    path = cache.get(key)
    assert path == tmp_path / "audio" / f"{key}.wav"
    assert len(key) == 24 and int(key, 16) >= 0
    first_mtime = path.stat().st_mtime_ns
    heard = measure(path.read_bytes())
    assert heard[3] == pytest.approx(
        measure(synthesize(ANNOUNCEMENT, speed=160, volume=90))[3], abs=0.05
    )

    assert cache.render(ANNOUNCEMENT) == key
    assert AudioCache(tmp_path / "audio", speed=160, volume=90).render(ANNOUNCEMENT) == key
    assert calls == [ANNOUNCEMENT]
    assert path.stat().st_mtime_ns == first_mtime
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == [f"{key}.wav"]


def test_cache_keys_follow_the_text_and_the_voice_settings(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path)
    key = cache.key_for(ANNOUNCEMENT)
    assert key == AudioCache(tmp_path / "other").key_for(ANNOUNCEMENT)
    assert cache.key_for(ANNOUNCEMENT + ".") != key
    assert AudioCache(tmp_path, speed=170).key_for(ANNOUNCEMENT) != key
    assert AudioCache(tmp_path, volume=80).key_for(ANNOUNCEMENT) != key
    assert AudioCache(tmp_path, voice="vi+f3").key_for(ANNOUNCEMENT) != key
    assert cache.get(key) is None  # not rendered yet


@pytest.mark.parametrize("bad", ["../../etc/passwd", "chime", "ABCDEF0123456789ABCDEF01", ""])
def test_cache_refuses_anything_that_is_not_a_key(tmp_path: Path, bad: str) -> None:
    cache = AudioCache(tmp_path)
    assert cache.get(bad) is None
    with pytest.raises(CacheKeyError):
        cache.path_for(bad)


def test_concurrent_renders_of_one_text_make_one_valid_file(tmp_path: Path) -> None:
    calls: list[str] = []
    cache = AudioCache(tmp_path, synthesize=counting(calls))
    start = threading.Barrier(8)
    keys: list[str] = []

    def render() -> None:
        start.wait()
        keys.append(cache.render(ANNOUNCEMENT))

    threads = [threading.Thread(target=render) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(keys) == 8 and len(set(keys)) == 1
    assert calls == [ANNOUNCEMENT]
    assert [p.name for p in tmp_path.iterdir()] == [f"{keys[0]}.wav"]  # no temp files left
    path = cache.get(keys[0])
    assert path is not None
    _channels, _width, _rate, seconds, samples = measure(path.read_bytes())
    assert 2.0 <= seconds <= 8.0 and rms(samples) > 0.03


def test_cache_writes_the_chime_once_and_repairs_a_damaged_one(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path)
    path = cache.chime_path()
    assert path == tmp_path / "chime.wav"
    assert path.read_bytes() == chime_wav()
    mtime = path.stat().st_mtime_ns
    assert cache.chime_path() == path and path.stat().st_mtime_ns == mtime

    path.write_bytes(path.read_bytes()[:30])  # a torn copy, e.g. after a power cut
    assert AudioCache(tmp_path).chime_path().read_bytes() == chime_wav()


def test_a_torn_speech_file_is_rendered_again(tmp_path: Path) -> None:
    calls: list[str] = []
    cache = AudioCache(tmp_path, synthesize=counting(calls))
    key = cache.render(ANNOUNCEMENT)
    cache.path_for(key).write_bytes(b"")
    assert cache.get(key) is None
    assert cache.render(ANNOUNCEMENT) == key
    assert len(calls) == 2
    assert measure(cache.path_for(key).read_bytes())[3] > 2.0
