"""Helpers for the ratings browser tests: a citizen's ticket taken and served over the
live server's real HTTP API, so the pad and the tracking page react as in the hall."""

from __future__ import annotations

from typing import Any

import requests

from tests.browser import LiveServer


def _post(live_server: LiveServer, path: str, token: str, body: Any = None) -> requests.Response:
    return requests.post(
        live_server.url + "/api/v1" + path,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def take_ticket(live_server: LiveServer, kiosk: str, service: str = "DD") -> dict[str, Any]:
    """A ticket from the kiosk with device token `kiosk` (its JSON: label, token …)."""
    r = _post(live_server, "/tickets", kiosk, {"service": service})
    assert r.status_code == 201, r.text
    return r.json()


def serve_next(live_server: LiveServer, staff: str, counter: int = 1) -> dict[str, Any]:
    """Counter `counter` calls the next ticket and finishes it; returns that ticket."""
    called = _post(live_server, f"/counters/{counter}/next", staff).json()["ticket"]
    r = _post(live_server, f"/tickets/{called['id']}/finish", staff)
    assert r.status_code == 200, r.text
    return called
