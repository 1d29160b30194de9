"""The kiosk agent's network layer: one Socket.IO connection to the server's /kiosk
namespace, kept up by itself.

It knows nothing about printers: print jobs go to the ``on_job`` callback, and the agent
calls ``printed()`` and ``heartbeat()``.  Reconnection is our own loop rather than the
library's, because a refusal (revoked token, or another agent took over this kiosk)
must stop the agent with a clear reason instead of retrying forever, while a server
restart or a cable pulled out must be retried with backoff.  The token is sent only in
the connection's auth payload and never logged.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import socketio
from socketio.exceptions import BadNamespaceError, ConnectionError

from server.protocol import EV_ERROR, EV_HEARTBEAT, EV_PRINT, EV_PRINTED, NS_KIOSK
from server.sio_client import GoodbyeAwareClient

log = logging.getLogger(__name__)

#: Seconds before the first reconnection attempt; doubled after each failure up to the max.
BACKOFF_MIN = 0.5
BACKOFF_MAX = 30.0
#: Seconds to wait for the namespace to accept us.
CONNECT_TIMEOUT = 10.0
#: Seconds stop() waits for a clean goodbye to the server.
STOP_WAIT = 0.5
#: Seconds between looks at the transport while connected (see _wait_until_down).
LIVENESS_CHECK_S = 1.0
#: Seconds an acknowledgement waits for the connection before it is left to the resend.
ACK_WAIT = 5.0


class Refused(Exception):
    """The server will not take this agent (revoked/rotated token, or replaced)."""


class KioskClient:
    """Connects, reconnects with backoff, delivers jobs, sends acknowledgements."""

    def __init__(
        self,
        server_url: str,
        token: str,
        on_job: Callable[[dict[str, Any]], None],
        *,
        on_connect: Callable[[], None] | None = None,
        backoff_min: float = BACKOFF_MIN,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self._token = token
        self._on_job = on_job
        self._on_connect = on_connect
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.refused: str | None = None
        self.connections = 0  # successful connections so far (1 + reconnections)
        self._stop = threading.Event()
        self._up = threading.Event()
        self._down = threading.Event()
        self._thread: threading.Thread | None = None
        self._sio = self._make_client()

    def __repr__(self) -> str:  # never shows the token
        return f"KioskClient({self.server_url!r})"

    def _make_client(self) -> GoodbyeAwareClient:
        sio = GoodbyeAwareClient(reconnection=False, logger=False, engineio_logger=False)
        sio.on("connect", self._connected, namespace=NS_KIOSK)
        sio.on("disconnect", self._disconnected, namespace=NS_KIOSK)
        sio.on("connect_error", self._connect_error, namespace=NS_KIOSK)
        sio.on(EV_PRINT, self._job, namespace=NS_KIOSK)
        sio.on(EV_ERROR, self._server_error, namespace=NS_KIOSK)
        return sio

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-client", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._down.set()
        _close_in_background(self._sio).join(timeout=STOP_WAIT)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._up.wait(timeout)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the client stops (refused, or stop() called)."""
        return self._stop.wait(timeout)

    def _run(self) -> None:
        delay = self.backoff_min
        while not self._stop.is_set():
            self._down.clear()
            try:
                self._sio.connect(
                    self.server_url,
                    namespaces=[NS_KIOSK],
                    auth={"token": self._token, "agent": True},
                    wait_timeout=CONNECT_TIMEOUT,
                )
            except ConnectionError as exc:
                if NS_KIOSK in getattr(self._sio, "failed_namespaces", []) or self.refused:
                    self._refuse(self.refused or "the server refused this kiosk's token")
                    break
                log.warning("cannot reach %s (%s); retrying in %.1f s", self.server_url, exc, delay)
            else:
                delay = self.backoff_min
                self._wait_until_down()
                if self.refused:
                    self._refuse(self.refused)
                    break
                if self._stop.is_set():
                    break
                log.warning("connection to %s lost; reconnecting in %.1f s", self.server_url, delay)
            self._reset_client()
            if self._stop.wait(delay * random.uniform(0.8, 1.2)):
                break
            delay = min(self.backoff_max, delay * 2)

    def _wait_until_down(self) -> None:
        """Until the connection drops (or stop).  The library reports no drop that comes
        while connect() is still returning, so that case is looked for too: at once, and
        then now and then (a closed transport)."""
        while not self._down.is_set():
            if self._sio.early_goodbye or self._sio.eio.state != "connected":
                log.info("the connection to %s dropped unreported", self.server_url)
                self._up.clear()
                return
            self._down.wait(LIVENESS_CHECK_S)

    def _reset_client(self) -> None:
        """A fresh client for the next attempt.  The old one is closed (in the background,
        as in stop()) only if it still thinks it is connected: after a drop the library
        closes it itself, and closing it twice from two threads trips over its own
        bookkeeping."""
        old, self._sio = self._sio, self._make_client()
        if old.connected:
            _close_in_background(old)

    def _refuse(self, reason: str) -> None:
        log.error("server refused the kiosk agent: %s", reason)
        self.refused = reason
        self._stop.set()
        self._reset_client()

    # --- events ---------------------------------------------------------------------------
    def _connected(self) -> None:
        self.connections += 1
        log.info("connected to %s", self.server_url)
        self._up.set()
        if self._on_connect is not None:
            self._on_connect()

    def _disconnected(self, reason: Any = None) -> None:
        self._up.clear()
        self._down.set()
        log.info("disconnected from %s (%s)", self.server_url, reason)

    def _connect_error(self, data: Any = None) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        if message == "unauthorized":
            self.refused = "the server refused this kiosk's token (revoked or replaced?)"

    def _server_error(self, data: Any = None) -> None:
        error = data.get("error", {}) if isinstance(data, dict) else {}
        code = error.get("code") if isinstance(error, dict) else None
        if code == "replaced":
            self.refused = "another agent connected with this kiosk's token"
        elif code == "revoked":
            self.refused = "this kiosk's token was revoked or replaced"
        else:
            log.warning("server error: %s", data)

    def _job(self, data: Any = None) -> None:
        job = data.get("job") if isinstance(data, dict) else None
        if not isinstance(job, dict):
            log.warning("ignoring a print event without a job: %r", data)
            return
        self._on_job(job)

    # --- to the server --------------------------------------------------------------------
    def _send(self, event: str, payload: dict[str, Any], wait: float = 0.0) -> bool:
        """Emit if connected (waiting up to `wait` s for it); False when not — the server
        re-sends any job whose acknowledgement it misses."""
        deadline = time.monotonic() + wait
        while not self._up.is_set():
            if self._stop.is_set() or time.monotonic() >= deadline:
                return False
            self._up.wait(0.05)
        try:
            self._sio.emit(event, payload, namespace=NS_KIOSK)
        except (BadNamespaceError, ConnectionError, OSError) as exc:
            log.warning("could not send %s: %s", event, exc)
            return False
        return True

    def printed(
        self, job_id: str, ok: bool, error: str | None = None, printer: str | None = None
    ) -> bool:
        # Jobs re-sent on reconnection arrive with the connection itself, possibly before
        # the client has seen it complete: wait a moment rather than drop the ack.
        payload = {"job_id": job_id, "ok": ok, "error": error, "printer": printer}
        return self._send(EV_PRINTED, payload, wait=ACK_WAIT)

    def heartbeat(self, printer: str, detail: str = "") -> bool:
        return self._send(EV_HEARTBEAT, {"printer": printer, "detail": detail})


def _close_in_background(sio: socketio.Client) -> threading.Thread:
    """Close a connection without waiting for it: a websocket close waits for the server's
    answering frame (up to 3 s), and the server notices the drop anyway."""

    def close() -> None:
        try:
            sio.disconnect()
        except (ConnectionError, OSError) as exc:
            log.debug("closing an old connection: %s", exc)

    closer = threading.Thread(target=close, name="kiosk-client-close", daemon=True)
    closer.start()
    return closer
