"""The base of the queue engine's property tests: a fresh hall (config.yaml's services
and counters) in its own SQLite file, a clock that moves on with every action, and
`attempt`, which tries an action that the engine may refuse."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis.stateful import RuleBasedStateMachine

from server import config as config_mod
from server import counters
from server.errors import MotcuaError
from server.seed import apply_config
from server.store import Database, migrate
from tests.conftest import MORNING, ROOT

CFG = config_mod.load(ROOT / "config.yaml", env={})


class HallDay(RuleBasedStateMachine):
    #: How far the clock moves with each action.
    STEP = timedelta(seconds=30)

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.db = Database(self.dir / "hall.sqlite3")
        migrate(self.db)
        apply_config(self.db, CFG, MORNING)
        self.now = MORNING
        self.ids: list[int] = []  # every ticket issued, in order

    def teardown(self) -> None:
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def tick(self) -> None:
        self.now += self.STEP

    def attempt(self, fn, *args, **kwargs) -> None:
        """Run an action a step later; the engine's refusals are part of the game."""
        self.tick()
        with contextlib.suppress(MotcuaError):
            fn(*args, **kwargs)

    def pause_or_resume(self, counter: int, pause: bool) -> None:
        if pause:
            self.attempt(counters.pause, self.db, CFG, counter, "break", "s", self.now)
        else:
            self.attempt(counters.resume, self.db, CFG, counter, "s", self.now)
