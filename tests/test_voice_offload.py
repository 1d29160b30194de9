"""Speech synthesis and its file writes leave the calling thread when an offload hook is
set (the gevent server's thread pool), so 10–30 ms of espeak-ng never stop the sockets."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from server.announce import Announcer
from server.voice import AudioCache, chime_wav, tts
from server.voice import cache as cache_mod

TEXT = "Xin mời công dân có số thứ tự một nghìn không trăm linh một đến quầy số một"


class Pool:
    """An offload hook like gevent's threadpool.apply: runs work in a worker, waits."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="offload")
        self.jobs = 0

    def __call__(self, work: Callable[[], Any]) -> Any:
        self.jobs += 1
        return self.executor.submit(work).result()


@pytest.fixture
def pool():
    p = Pool()
    yield p
    p.executor.shutdown()


def _recording_synthesizer(threads: list[int]) -> Callable[..., bytes]:
    def synthesize(text: str, **settings: Any) -> bytes:
        threads.append(threading.get_ident())
        return tts.synthesize(text, **settings)

    return synthesize


def test_offloaded_render_synthesizes_and_writes_in_the_worker(tmp_path, pool, monkeypatch):
    synth_threads: list[int] = []
    write_threads: list[int] = []
    real_write = cache_mod._write_atomically

    def write(path: Path, data: bytes) -> None:
        write_threads.append(threading.get_ident())
        real_write(path, data)

    monkeypatch.setattr(cache_mod, "_write_atomically", write)
    cache = AudioCache(tmp_path, synthesize=_recording_synthesizer(synth_threads))
    cache.offload = pool

    key = cache.render(TEXT)

    me = threading.get_ident()
    assert len(synth_threads) == 1 and synth_threads[0] != me
    assert len(write_threads) == 1 and write_threads[0] != me
    path = cache.get(key)
    assert path is not None and path.read_bytes()[:4] == b"RIFF"
    assert cache.render(TEXT) == key and len(synth_threads) == 1  # cached: no new work


def test_without_a_hook_everything_runs_in_the_calling_thread(tmp_path):
    synth_threads: list[int] = []
    cache = AudioCache(tmp_path, synthesize=_recording_synthesizer(synth_threads))
    cache.render(TEXT)
    assert synth_threads == [threading.get_ident()]


def test_concurrent_offloaded_renders_of_one_text_synthesize_once(tmp_path, pool):
    synth_threads: list[int] = []
    cache = AudioCache(tmp_path, synthesize=_recording_synthesizer(synth_threads))
    cache.offload = pool
    start = threading.Barrier(6)
    keys: list[str] = []

    def render() -> None:
        start.wait()
        keys.append(cache.render(TEXT))

    threads = [threading.Thread(target=render) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys) == 6
    assert len(synth_threads) == 1
    assert [p.name for p in tmp_path.iterdir()] == [f"{keys[0]}.wav"]


def test_one_synthesis_at_a_time_takes_a_pool_thread(tmp_path, pool):
    """The engine speaks one text at a time: other renders wait outside the pool, whose
    threads the database's commits need too."""
    active: list[int] = []
    most = [0]
    guard = threading.Lock()

    def synthesize(text: str, **settings: Any) -> bytes:
        with guard:
            active.append(1)
            most[0] = max(most[0], len(active))
        try:
            return tts.synthesize(text, **settings)
        finally:
            with guard:
                active.pop()

    cache = AudioCache(tmp_path, synthesize=synthesize)
    cache.offload = pool
    texts = [f"Xin mời số {n}" for n in range(1, 5)]
    threads = [threading.Thread(target=cache.render, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
    assert all(cache.get(cache.key_for(text)) is not None for text in texts)


def test_announcer_renders_a_requested_sound_off_the_request_thread(tmp_path, cfg, pool):
    announcer = Announcer(cfg, tmp_path)
    synth_threads: list[int] = []
    announcer.cache._synthesize = _recording_synthesizer(synth_threads)
    announcer.cache.offload = pool
    _text, url = announcer("1001", 1)
    key = url.rsplit("/", 1)[1].removesuffix(".wav")

    path = announcer.path(key)  # what GET /api/v1/audio/<key>.wav does

    assert path is not None and path.stat().st_size > 1000
    assert len(synth_threads) == 1 and synth_threads[0] != threading.get_ident()
    assert announcer.chime().read_bytes() == chime_wav()
    assert pool.jobs >= 3  # speech, its file, the chime


def test_the_espeak_program_stays_on_the_loops_thread(tmp_path, pool, monkeypatch):
    """gevent's subprocess works only in the loop's own thread, where it already waits
    cooperatively: the program engine is never handed to the pool."""
    seen: list[int] = []

    class Program:
        name = "fake espeak-ng program"
        in_thread = False

        def synthesize(self, text: str, *, speed: int, volume: int, voice: str) -> bytes:
            seen.append(threading.get_ident())
            return tts.EspeakLibrary.open(*_library()).synthesize(
                text, speed=speed, volume=volume, voice=voice
            )

    monkeypatch.setattr(tts, "_default", Program())
    cache = AudioCache(tmp_path)
    cache.offload = pool
    key = cache.render(TEXT)
    assert seen == [threading.get_ident()]
    assert cache.get(key) is not None


def _library() -> tuple[Path, Path]:
    import espeakng_loader

    return Path(espeakng_loader.get_library_path()), Path(espeakng_loader.get_data_path())


def test_engine_locks_are_native_even_after_monkey_patching() -> None:
    """Under `motcua serve` (gevent, monkey-patched) the real engine runs in the hub's
    thread pool, and its locks are the operating system's."""
    script = """
import json, sys, tempfile
from gevent import monkey
monkey.patch_all()
import gevent
from pathlib import Path
from server.voice import tts
from server.voice.cache import AudioCache
ident = monkey.get_original("_thread", "get_ident")
seen = []
real = tts.EspeakLibrary.synthesize
def synthesize(self, text, **kw):
    seen.append(ident())
    return real(self, text, **kw)
tts.EspeakLibrary.synthesize = synthesize
cache = AudioCache(Path(tempfile.mkdtemp()))
cache.offload = gevent.get_hub().threadpool.apply
key = gevent.spawn(cache.render, sys.argv[1]).get()
import threading
locks = [tts._default_lock, tts.EspeakLibrary._opened_lock, tts.default_engine()._lock]
print(json.dumps({
    "loop": ident(), "synth": seen, "size": cache.get(key).stat().st_size,
    "locks": [type(lock).__module__ + "." + type(lock).__name__ for lock in locks],
    "patched": type(threading.Lock()).__module__,
}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script, TEXT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["synth"]) == 1 and result["synth"][0] != result["loop"]
    assert result["size"] > 1000
    assert result["locks"] == ["_thread.lock"] * 3
    assert result["patched"].startswith("gevent")  # what threading.Lock() gives there
