"""Fixtures in the Flask-tutorial style: app, client, runner — plus the hall's actors
(a kiosk, staff at counters, a supervisor, a board) with real tokens in a real SQLite
file, and a clock fixed at a working morning in Asia/Ho_Chi_Minh."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from server import accounts  # noqa: E402
from server import config as config_mod  # noqa: E402
from server.app import create_app  # noqa: E402
from server.clock import FixedClock  # noqa: E402
from tests.engines import ON_PG, fresh_schema, services_unreachable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Wednesday 25 Nov 2026, 09:00 in Vietnam — a working day (24 Nov is a holiday).
MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=TZ)


def shipped_config() -> config_mod.Config:
    return config_mod.load(ROOT / "config.yaml", env={})


@pytest.fixture(autouse=True)
def engine(monkeypatch) -> Iterator[str]:
    """The store every test uses: SQLite files by default, or a PostgreSQL schema of its
    own (tests/engines.py), named to the app and to every process the test starts."""
    if not ON_PG:
        monkeypatch.delenv("MOTCUA_DATABASE_URL", raising=False)
        yield "sqlite"
        return
    with fresh_schema() as url:
        monkeypatch.setenv("MOTCUA_DATABASE_URL", url)
        yield "postgresql"


def pytest_sessionstart(session) -> None:
    """With a test database or Redis named, it must answer: CI fails, never skips."""
    problems = services_unreachable()
    if problems:
        pytest.exit("; ".join(problems), returncode=3)


def pytest_collection_modifyitems(config, items) -> None:
    if ON_PG:
        skip = pytest.mark.skip(reason="tests SQLite itself")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def cfg() -> config_mod.Config:
    """config.yaml, with one change: the fixed clock never refills a kiosk's ticket
    allowance, and tests issue dozens of tickets from one kiosk at one instant — so the
    per-kiosk limit is out of reach here (tests/test_kiosk_limit.py uses the shipped one).
    Likewise a department key's request limit: tests send hundreds of PUTs within a
    second (tests/test_apikey_limit.py uses the shipped one)."""
    shipped = shipped_config()
    extra = {**shipped.extra, "api_keys": {"requests": 0}}
    return replace(shipped, kiosk_burst=1_000_000, extra=extra)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MORNING)


@pytest.fixture
def app(cfg, clock, tmp_path):
    application = create_app(cfg, tmp_path / "data", clock=clock, testing=True)
    yield application
    application.extensions["motcua"].close()


@pytest.fixture
def ctx(app):
    return app.extensions["motcua"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Actors:
    kiosk: str
    board: str
    board_a: str
    supervisor: str
    admin: str
    staff: dict[int, str]

    @staticmethod
    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def actors(ctx) -> Actors:
    db, now = ctx.db, ctx.now()
    staff = {}
    for n in (1, 2, 3, 4, 5):
        accounts.add_user(db, f"staff{n}", "staff", "password123", now, counters=[n])
        staff[n] = accounts.issue_user_token(db, f"staff{n}", now)
    accounts.add_user(db, "boss", "supervisor", "password123", now)
    accounts.add_user(db, "root", "admin", "password123", now)
    return Actors(
        kiosk=accounts.add_device(db, "kiosk-1", "kiosk", now),
        board=accounts.add_device(db, "board-all", "display", now),
        board_a=accounts.add_device(db, "board-a", "display", now, zone="A"),
        supervisor=accounts.issue_user_token(db, "boss", now),
        admin=accounts.issue_user_token(db, "root", now),
        staff=staff,
    )


@pytest.fixture
def socketio(app):
    return app.extensions["motcua.socketio"]


def drain(sio_client, namespace: str) -> list[tuple[str, object]]:
    """Every event a Socket.IO test client has received so far, as (name, payload)."""
    return [
        (m["name"], m["args"][0] if m["args"] else None) for m in sio_client.get_received(namespace)
    ]


@pytest.fixture
def issue(client, actors) -> Iterator:
    def _issue(service: str = "DD", priority: str = "normal"):
        r = client.post(
            "/api/v1/tickets",
            json={"service": service, "priority": priority},
            headers=actors.h(actors.kiosk),
        )
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    yield _issue


from tests.browser import browser, live_server, page  # noqa: E402, F401  (fixtures)
