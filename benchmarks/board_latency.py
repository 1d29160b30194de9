"""Call → first sound on the pygame board, and call → voice audio ready.

The production server (gunicorn + one gevent worker, `benchmarks._server`) on
127.0.0.1; the real pygame board (`display.app.BoardApp`) runs headless in this
process (SDL dummy video, 1280×720 window, so every frame is rendered and scaled) with
a NullPlayer, and the announcement queue's ``on_start`` hook stamps the instant the
chime would start.  For each call: t0 just before ``POST /counters/1/next``; chime =
the hook for that call's seq; voice ready = ``GET audio_url`` answering 200 with the
WAV (the server renders it in a background task right after the call, or on that
request if it is not done yet).  Calls are spaced so each finds the queue idle: this
measures latency, not a backlog."""

from __future__ import annotations

import os
import statistics
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import requests  # noqa: E402

from display.app import BoardApp, BoardOptions  # noqa: E402
from display.audio import NullPlayer  # noqa: E402

from ._server import Server  # noqa: E402

Row = tuple[str, str, str, str]

CALLS = int(os.environ.get("BENCH_BOARD_CALLS", "30"))
WARMUP = 2
SPACING_S = 0.25


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class _Starts:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.cond = threading.Condition()

    def __call__(self, announcement_id: str, index: int, clock: float) -> None:
        if index == 0:
            with self.cond:
                self.at.setdefault(announcement_id, clock)
                self.cond.notify_all()

    def wait(self, announcement_id: str, timeout: float = 5.0) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: announcement_id in self.at, timeout)
            return self.at.get(announcement_id)


def measure(server: Server) -> tuple[list[float], list[float], list[float]]:
    board_token = server.device("bench-board", "display")
    kiosk = server.device("bench-kiosk", "kiosk")
    boss = server.user_token("bench-boss", "supervisor")
    base = f"http://127.0.0.1:{server.port}"
    http = requests.Session()
    auth = {"Authorization": f"Bearer {boss}"}
    for _ in range(CALLS + WARMUP):
        r = http.post(
            f"{base}/api/v1/tickets",
            json={"service": "DD"},
            headers={"Authorization": f"Bearer {kiosk}"},
        )
        r.raise_for_status()

    starts = _Starts()
    app = BoardApp(
        BoardOptions(base, board_token, windowed=True, size=(1280, 720), fps=20),
        player=NullPlayer(),
        on_start=starts,
    )
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    chime_ms: list[float] = []
    voice_ms: list[float] = []
    try:
        if not app.client.wait_connected(20):
            raise RuntimeError("the board did not connect to the benchmark server")
        for i in range(CALLS + WARMUP):
            time.sleep(SPACING_S)
            t0 = time.monotonic()
            r = http.post(f"{base}/api/v1/counters/1/next", headers=auth)
            r.raise_for_status()
            call = r.json()["call"]
            voice = http.get(base + call["audio_url"], timeout=10)
            t_voice = time.monotonic()
            if voice.status_code != 200 or not voice.content.startswith(b"RIFF"):
                raise RuntimeError(f"voice not ready: HTTP {voice.status_code}")
            t_chime = starts.wait(f"call-{call['seq']}")
            if t_chime is None:
                raise RuntimeError(f"call {call['seq']} was not announced")
            if i >= WARMUP:
                chime_ms.append((t_chime - t0) * 1000)
                voice_ms.append((t_voice - t0) * 1000)
        frames = list(app.frame_ms)
    finally:
        app.stop()
        thread.join(10)
    return chime_ms, voice_ms, frames


def run() -> list[Row]:
    with Server() as server:
        server.start()
        chime_ms, voice_ms, frames = measure(server)
    note = f"{len(chime_ms)} calls, gunicorn+gevent on 127.0.0.1, board headless 1280×720"
    rows: list[Row] = []
    for name, values, target in (
        ("board: call → chime starts", chime_ms, "≤ 300 ms"),
        ("board: call → voice WAV ready", voice_ms, "≤ 200 ms"),
    ):
        rows.append((f"{name} p50", f"{statistics.median(values):.0f} ms", target, note))
        rows.append((f"{name} p95", f"{_percentile(values, 0.95):.0f} ms", target, note))
    frame_note = (
        f"{len(frames)} frames, 1920×1080 logical → 1280×720; whole board redrawn only when "
        "the state, the clock's second or the flash changes, else the notice strip"
    )
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        rows.append(
            (
                f"board: frame draw + scale {label}",
                f"{_percentile(frames, q):.0f} ms",
                "≤ 50 ms (20 fps)",
                frame_note,
            )
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
