"""The `Context` every handler works with, and `ctx()` to reach it from a request.

Its own module, below the app factory: auth, the API, the pages and the realtime
package import it, and none of them imports `server.app` (which imports them all)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app

from .clock import Clock
from .config import Config
from .ratelimit import Limiter
from .store import Database


@dataclass
class Context:
    """Everything a request handler needs, attached once to the app."""

    cfg: Config
    db: Database
    clock: Clock
    data_dir: Path
    limits: dict[str, Limiter] = field(default_factory=dict)
    realtime: Any = None  # server.realtime.events.Realtime
    announcer: Any = None  # server.announce.Announcer

    def now(self):
        return self.clock.now()

    def close(self) -> None:
        """Stop background tasks, then close the database (tests, shutdown)."""
        if self.realtime is not None:
            self.realtime.stop()
        self.db.close()


def ctx() -> Context:
    return current_app.extensions["motcua"]
