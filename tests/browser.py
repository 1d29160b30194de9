"""Browser-test support: a live server on 127.0.0.1 and Playwright driving Debian's
chromium (no browser download).  Import the fixtures from conftest."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from server import accounts
from server.app import create_app
from server.clock import ShiftedClock

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    app: object
    ctx: object

    def device(self, name: str, kind: str, **kw) -> str:
        return accounts.add_device(self.ctx.db, name, kind, self.ctx.now(), **kw)  # type: ignore[attr-defined]

    def user(self, username: str, role: str, password: str = "password123", counters=()) -> str:
        accounts.add_user(self.ctx.db, username, role, password, self.ctx.now(), counters=counters)  # type: ignore[attr-defined]
        return accounts.issue_user_token(self.ctx.db, username, self.ctx.now())  # type: ignore[attr-defined]


@pytest.fixture
def live_server(cfg, tmp_path: Path) -> Iterator[LiveServer]:
    from tests.conftest import MORNING

    app = create_app(cfg, tmp_path / "live", clock=ShiftedClock(MORNING), async_mode="threading")
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", app, app.extensions["motcua"])
    server.shutdown()
    app.extensions["motcua"].close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian chromium is missing: run `make test` (it installs it) or apt-get install chromium"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    pg = context.new_page()
    yield pg
    context.close()
