"""`make run` as a new user runs it: `motcua demo --config config.yaml --data-dir data`
from the checkout's folder, a relative data folder (issue 16.1: the chime was a 500 since
Flask resolved `data/audio/chime.wav` against its package).  The demo must announce
calls with chime and voice, print a ticket whose QR opens on the served port, and say
what a first-time user needs in its banner."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from benchmarks._server import free_port
from kiosk.escpos_decode import Qr, decode
from tests.conftest import ROOT

MOTCUA = str(Path(sys.executable).parent / "motcua")
START_TIMEOUT_S = 90


@dataclass
class Demo:
    url: str
    cwd: Path
    out: Path
    err: Path

    def banner(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [MOTCUA, *args, "--config", "config.yaml", "--data-dir", "data"],
            cwd=self.cwd,
            env=_as_make_run(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()


def _as_make_run() -> dict[str, str]:
    """The environment `make run` gives: no MOTCUA_ settings (the embedded SQLite file)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the demo (gunicorn's arbiter stops its worker, the demo its kiosk
    agent), then anything of its process group that is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    cwd = tmp_path_factory.mktemp("checkout")
    shutil.copy(ROOT / "config.yaml", cwd / "config.yaml")
    port = free_port()
    out, err = cwd / "demo.out", cwd / "demo.err"
    env = _as_make_run()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [MOTCUA, "demo", "--config", "config.yaml", "--data-dir", "data"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, err.read_text(encoding="utf-8")[-3000:]
            try:
                if requests.get(url + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still booting
                pass
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.2)
        while "Devices (tokens" not in out.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "no banner"
            time.sleep(0.1)
        yield Demo(url, cwd, out, err)
    finally:
        _stop(proc)


def _wav_seconds(body: bytes) -> float:
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    with wave.open(io.BytesIO(body)) as w:
        return w.getnframes() / w.getframerate()


def _token(banner: str, device: str) -> str:
    match = re.search(rf"^\s+{re.escape(device)}\s+\w+\s+(?:counter \d+\s+)?(\S+)$", banner, re.M)
    assert match, banner
    return match.group(1)


def test_the_demo_plays_the_chime_and_the_voice_of_a_call(demo) -> None:
    r = requests.get(demo.url + "/api/v1/audio/chime.wav", timeout=10)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"] == "audio/wav"
    assert 0.3 < _wav_seconds(r.content) < 5
    assert (demo.cwd / "data" / "audio").is_dir()  # the relative folder of the working directory

    kiosk = _token(demo.banner(), "kiosk-1")
    r = requests.post(
        demo.url + "/api/v1/tickets",
        json={"service": "DD"},
        headers={"Authorization": f"Bearer {kiosk}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    ticket = r.json()

    staff = demo.cli("user", "token", "canbo1")
    r = requests.post(
        demo.url + "/api/v1/counters/1/next",
        headers={"Authorization": f"Bearer {staff}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    call = r.json()["call"]
    assert call["label"] == ticket["label"]
    assert call["text"].startswith("Xin mời công dân có số thứ tự")
    r = requests.get(demo.url + call["audio_url"], timeout=30)
    assert r.status_code == 200, r.text[:500]
    assert _wav_seconds(r.content) > 1.5  # a spoken sentence, not an empty file


def test_the_printed_ticket_qr_opens_on_the_served_port(demo) -> None:
    kiosk = _token(demo.banner(), "kiosk-1")
    r = requests.post(
        demo.url + "/api/v1/tickets",
        json={"service": "HT"},
        headers={"Authorization": f"Bearer {kiosk}"},
        timeout=10,
    )
    body = r.json()
    printed = demo.cwd / "data" / "tickets" / f"{body['print']['job_id']}.bin"
    deadline = time.monotonic() + 30
    while not printed.exists():
        assert time.monotonic() < deadline, "the demo's kiosk agent printed nothing"
        time.sleep(0.1)
    (qr,) = [c for c in decode(printed.read_bytes()) if isinstance(c, Qr)]
    link = urlsplit(qr.data)
    assert link.port == urlsplit(demo.url).port  # not config.yaml's old :5000
    assert link.hostname not in ("localhost", "127.0.0.1")  # this machine's LAN address
    assert link.path == f"/t/{body['token']}"


def test_the_banner_says_what_a_first_time_user_needs(demo) -> None:
    banner = demo.banner()
    # served on loopback only: phones cannot open the QR, and the banner says so
    assert "WARNING: the server listens on 127.0.0.1 only" in banner
    assert "--host 0.0.0.0" in banner
    # a counter's screen: its pairing link, ready, and how to add others
    screen = _token(banner, "screen-1")
    assert "Counter 1 screen (màn hình quầy 1): http://localhost:" in banner
    assert f"/board/pair?token={screen}" in banner
    assert "motcua device add screen-N --kind display --counter N" in banner
    # the demo's hours are a visible setting, beside the office's real ones
    assert "Chế độ trình diễn: nhận số cả ngày, mọi ngày" in banner
    assert "office hours 07:00–11:30, 13:30–17:00" in banner
    # staff have names
    assert re.search(r"canbo1\s+staff\s+Nguyễn Văn An", banner)
    r = requests.get(demo.url + "/board/pair", params={"token": screen}, timeout=10)
    assert r.url.endswith("/board/counter/1"), r.url
