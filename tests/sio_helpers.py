"""Test helpers for the device clients' Socket.IO connections."""

from __future__ import annotations

import threading
import time

from server.sio_client import GoodbyeAwareClient

LATE_S = 0.3


def wake_connect_late(sio: GoodbyeAwareClient) -> None:
    """Make this client's next ``connect()`` return late after the server accepted it, as
    on a busy machine: whatever the server sends at once then arrives before the
    library counts itself connected."""

    class LateWaker(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            woke = super().wait(timeout)
            time.sleep(LATE_S)
            return woke

    sio._connect_event = LateWaker()  # type: ignore[attr-defined]
