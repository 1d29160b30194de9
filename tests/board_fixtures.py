"""Helpers for the hall board tests: a live hall (server, tokens, tickets, calls) and
waiting for something a background thread will do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests

from tests.browser import LiveServer


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, step: float = 0.01) -> Any:
    """Poll until ``predicate()`` is truthy (returns it) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(step)


@dataclass
class Hall:
    """A live server with a board token, a kiosk and a supervisor who calls at any counter."""

    server: LiveServer
    board: str
    kiosk: str
    supervisor: str
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return self.server.url

    def h(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def issue(self, service: str = "DD", n: int = 1) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            r = self.http.post(
                f"{self.url}/api/v1/tickets", json={"service": service}, headers=self.h(self.kiosk)
            )
            assert r.status_code == 201, r.text
            out.append(r.json())
        return out

    def call(self, counter: int = 1, action: str = "next") -> dict[str, Any]:
        """Call next (or recall) at a counter; returns the call payload the API answers."""
        r = self.http.post(
            f"{self.url}/api/v1/counters/{counter}/{action}", headers=self.h(self.supervisor)
        )
        assert r.status_code == 200, r.text
        return r.json()["call"]

    def ticket(self, ticket_id: int, action: str) -> None:
        """start / finish / no-show a ticket."""
        r = self.http.post(
            f"{self.url}/api/v1/tickets/{ticket_id}/{action}", headers=self.h(self.supervisor)
        )
        assert r.status_code == 200, r.text

    def pause(self, counter: int, reason: str) -> None:
        r = self.http.post(
            f"{self.url}/api/v1/counters/{counter}/pause",
            json={"reason": reason},
            headers=self.h(self.supervisor),
        )
        assert r.status_code == 200, r.text

    def audio(self, url: str) -> bytes:
        r = self.http.get(self.url + url, timeout=10)
        assert r.status_code == 200, (url, r.status_code)
        return r.content

    def advance_clock(self, **delta: float) -> None:
        """Move the server's (shifted real-time) clock, e.g. to age calls already made."""
        self.server.ctx.clock.start += timedelta(**delta)  # type: ignore[attr-defined]


def make_hall(live_server: LiveServer, **device: Any) -> Hall:
    return Hall(
        server=live_server,
        board=live_server.device("board-test", "display", **device),
        kiosk=live_server.device("kiosk-test", "kiosk"),
        supervisor=live_server.user("boardboss", "supervisor"),
    )
