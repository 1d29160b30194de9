"""The hall board's network layer: Socket.IO ``/display`` in, BoardState and sounds out.

The rules (order, gaps, freshness) live in ``display.state``; this module only moves
events into the model and acts on what it answers.  Three things shape it:

- python-socketio hands every incoming message to a thread of its own, so two calls
  made in the same millisecond could be handled in either order.  This client handles
  every event on the connection's read thread, in arrival order (the state model would
  repair a swap, but only through a needless resync round trip).
- The board keeps the server's time: before each connection it reads the server's
  clock (``GET /api/v1/health``) and keeps the difference, so the clock on screen and
  "voice only calls of the last minute" stay right on a box whose clock drifted.
- One thread owns the connection and reconnects with backoff whatever ended it (a
  dropped network, a server restart, a refused token), so the board never stays dark
  waiting for someone to restart it.  While offline the board keeps what it showed.

A snapshot after an outage carries only the last few calls; when the board missed
more than that, the calls in between are read from ``GET /api/v1/calls`` so that every
call of the last minute is still voiced, in order.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import engineio
import requests
import socketio

from display.audio import AnnouncementQueue, AudioFetchError, QueueClosedError, SoundSource
from display.payload import BoardPayloadError, Call, parse_call
from display.state import BoardState
from server.protocol import (
    EV_CALL,
    EV_CALL_STATE,
    EV_COUNTER,
    EV_ERROR,
    EV_QUEUE,
    EV_RESYNC,
    EV_SNAPSHOT,
    EV_SOUND_STATUS,
    EV_SOUND_TEST,
    NS_DISPLAY,
)
from server.sio_client import GoodbyeAwareClient

logger = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CHIME_PATH = "/api/v1/audio/chime.wav"
HEALTH_PATH = "/api/v1/health"
CALLS_PATH = "/api/v1/calls"
CLOCK_JITTER_S = 0.5
"""A re-measured clock difference smaller than this is noise and is not applied."""
CLOCK_CHECK_S = 600.0
"""How often a connected board re-reads the server's clock."""


class _InOrderEngineIO(engineio.Client):
    """Engine.IO client that dispatches messages on its read thread, in arrival order."""

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)

    def drop(self) -> None:
        """End a WebSocket connection at once.  A polite close waits up to 3 s for the
        server's closing frame, which the read thread may swallow; the server notices a
        closed socket right away and treats it like any lost board."""
        sock = getattr(getattr(self, "ws", None), "sock", None)
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            logger.debug("socket already closed: %s", exc)


class _InOrderClient(GoodbyeAwareClient):
    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InOrderEngineIO


class ServerHTTP:
    """Plain HTTP to the server: sound files, its clock, the call history."""

    def __init__(
        self, base_url: str, timeout_s: float = 3.0, session: requests.Session | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = session or requests.Session()

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def fetch(self, source: SoundSource) -> bytes:
        """The announcement queue's fetch: an audio URL of this server, as WAV bytes."""
        if isinstance(source, bytes):
            return source
        url = self.url(str(source))
        try:
            resp = self.session.get(url, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise AudioFetchError(f"cannot fetch {url}: {exc}") from exc
        if resp.status_code != 200 or not resp.content:
            raise AudioFetchError(f"cannot fetch {url}: HTTP {resp.status_code}")
        return resp.content

    def clock_offset_s(self) -> float:
        """This machine's clock minus the server's, in seconds (half the round trip
        taken off, so a slow answer does not age every call)."""
        sent = time.time()
        resp = self.session.get(self.url(HEALTH_PATH), timeout=self.timeout_s)
        received = time.time()
        resp.raise_for_status()
        server_now = datetime.fromisoformat(resp.json()["time"]).timestamp()
        return (sent + received) / 2 - server_now

    def calls_after(self, after: int, zone: str | None, limit: int = 500) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"after": after, "limit": limit}
        if zone is not None:
            params["zone"] = zone
        resp = self.session.get(self.url(CALLS_PATH), params=params, timeout=self.timeout_s)
        resp.raise_for_status()
        calls = resp.json().get("calls")
        return calls if isinstance(calls, list) else []


class BoardClient:
    """Feeds one BoardState from the server and queues the announcements it asks for."""

    def __init__(
        self,
        server_url: str,
        token: str,
        state: BoardState | None = None,
        announcements: AnnouncementQueue | None = None,
        *,
        http: ServerHTTP | None = None,
        reconnect_delay_s: float = 1.0,
        reconnect_delay_max_s: float = 30.0,
        tick_s: float = 1.0,
        tz: ZoneInfo = TZ,
    ) -> None:
        self.http = http or ServerHTTP(server_url)
        self.token = token
        self.state = state or BoardState()
        self.announcements = announcements
        self.chime: bytes | None = None
        self.reconnect_delay_s = reconnect_delay_s
        self.reconnect_delay_max_s = reconnect_delay_max_s
        self.tick_s = tick_s
        self.tz = tz
        self.offset_s = 0.0
        """This machine's clock minus the server's (see ``now``)."""
        self.version = 0
        """Bumped after every change of what the board shows (the PNG writer watches it)."""
        self.connects = 0
        """Connections made so far (1 + reconnections)."""
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._closing: list[threading.Thread] = []  # stopping after a close() that timed out
        self._last_refusal = ""
        self._server_refusal = ""  # the server's own answer (a bad token), not a network error
        self.sound_check: Callable[[], tuple[str, str] | None] | None = None
        """Asked at each connection: a known sound problem (no audio device) is reported
        then, before any call finds it."""
        self.sio = self._new_socket()

    def _new_socket(self) -> _InOrderClient:
        """A Socket.IO client with the board's handlers.  Each connection gets a new one:
        python-socketio learns that a dropped connection is gone from its read thread,
        and on a slow machine a reconnect can come first and be told "Already connected"
        by the old client for ever."""
        sio = _InOrderClient(reconnection=False, logger=False, engineio_logger=False)
        for event, handler in (
            ("connect", self._on_connect),
            ("disconnect", self._on_disconnect),
            ("connect_error", self._on_connect_error),
            (EV_SNAPSHOT, self._on_snapshot),
            (EV_CALL, self._on_call),
            (EV_QUEUE, self._on_queue),
            (EV_COUNTER, self._on_counter),
            (EV_CALL_STATE, self._on_call_state),
            (EV_SOUND_TEST, self._on_sound_test),
            (EV_ERROR, self._on_error),
        ):
            sio.on(event, handler, namespace=NS_DISPLAY)
        return sio

    # --- lifecycle --------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's time, in the center's zone: what every rule and the clock use."""
        return datetime.now(self.tz) - timedelta(seconds=self.offset_s)

    def start(self) -> None:
        """Connect in the background (and keep reconnecting) and start the ticker."""
        if self._threads:
            raise RuntimeError("the board client is already started")
        for thread in self._closing:
            # A close() that timed out (a slow machine): that thread still runs and
            # would carry on with the stop flag cleared, racing the new one for the
            # same connection.  It is stopping; let it finish first.
            thread.join()
        self._closing = []
        self._stop.clear()
        for target, name in ((self._run, "board-socket"), (self._tick_loop, "board-tick")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect for good; the state keeps what it showed (a later ``start`` is a
        reconnect: the board voices the fresh calls it missed)."""
        self._stop.set()
        self._hang_up()
        for thread in self._threads:
            thread.join(timeout)
        self._closing = [t for t in self._threads if t.is_alive()]
        self._threads = []
        self._set_connected(False)

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state.connected:
                return True
            time.sleep(0.01)
        return self.state.connected

    def wait_snapshot(self, timeout: float) -> bool:
        """Wait until the board has the server's snapshot (what ``--snapshot`` draws);
        False after ``timeout`` or as soon as the server refuses the token."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state.has_baseline:
                return True
            if self._server_refusal:
                return False
            time.sleep(0.02)
        return self.state.has_baseline

    @property
    def lock(self) -> threading.RLock:
        """Held while an event changes the state: hold it to read a consistent board."""
        return self._lock

    @property
    def refusal(self) -> str:
        """The server's last refusal of this board, e.g. a revoked token ("" when none
        since connecting; an unreachable server is not a refusal)."""
        return self._server_refusal

    def _run(self) -> None:
        delay = self.reconnect_delay_s
        while not self._stop.is_set():
            self._prepare()
            if self.sio.connected or self.sio.eio.state != "disconnected":
                self.sio = self._new_socket()
            try:
                self.sio.connect(
                    self.http.base_url,
                    auth={"token": self.token},
                    namespaces=[NS_DISPLAY],
                    wait_timeout=10,
                )
            except (socketio.exceptions.ConnectionError, ValueError) as exc:
                logger.info("board not connected (%s); retrying in %.1f s", exc, delay)
                if self._stop.wait(delay * (1 + random.uniform(-0.25, 0.25))):
                    break
                delay = min(delay * 2, self.reconnect_delay_max_s)
                continue
            delay = self.reconnect_delay_s
            if not self._stop.is_set() and not self.sio.early_goodbye:
                self.sio.eio.wait()  # until the connection ends, for whatever reason
            if self.sio.connected:  # stopping, or the server said goodbye too early
                self._hang_up()
            self._set_connected(False)
            if self._stop.wait(delay * random.uniform(0.5, 1.0)):
                break

    def _hang_up(self) -> None:
        try:
            if self.sio.transport() == "websocket":
                self.sio.eio.drop()
            self.sio.disconnect()
        except (socketio.exceptions.SocketIOError, OSError) as exc:
            logger.debug("disconnect while closing: %s", exc)

    def _prepare(self) -> None:
        """Before connecting: the server's clock, and the chime once."""
        self._read_server_clock()
        if self.chime is None:
            try:
                self.chime = self.http.fetch(CHIME_PATH)
            except AudioFetchError as exc:
                logger.debug("chime not fetched yet: %s", exc)

    def _read_server_clock(self) -> None:
        try:
            offset = self.http.clock_offset_s()
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            logger.debug("server clock not read: %s", exc)
            return
        if abs(offset - self.offset_s) > CLOCK_JITTER_S:
            logger.info("board clock differs from the server's by %.1f s", offset)
            self.offset_s = offset

    def _tick_loop(self) -> None:
        next_clock_check = time.monotonic() + CLOCK_CHECK_S
        while not self._stop.wait(self.tick_s):
            self.tick()
            if time.monotonic() >= next_clock_check and self.state.connected:
                # A board stays connected for weeks; its clock drifts meanwhile.
                next_clock_check = time.monotonic() + CLOCK_CHECK_S
                self._read_server_clock()

    # --- events -----------------------------------------------------------------------

    def _on_connect(self) -> None:
        self.connects += 1
        logger.info("board connected to %s (connection %d)", self.http.base_url, self.connects)
        self._last_refusal = self._server_refusal = ""
        self._set_connected(True)
        problem = self.sound_check() if self.sound_check is not None else None
        if problem is not None:
            self.report_sound("startup", *problem)

    def _on_disconnect(self, reason: Any = None) -> None:
        if not self._stop.is_set():
            logger.warning("board disconnected (%s); showing what it had", reason)
        self._set_connected(False)

    def _on_connect_error(self, data: Any = None) -> None:
        message = str(data.get("message", data)) if isinstance(data, Mapping) else str(data)
        if isinstance(data, Mapping):
            self._server_refusal = message
        if message != self._last_refusal:
            logger.warning("server refused the board: %s", message)
            self._last_refusal = message

    def _on_error(self, data: Any = None) -> None:
        logger.warning("server error on /display: %s", data)

    def _on_snapshot(self, payload: Any) -> None:
        now = self.now()
        with self._lock:
            reconnect = self.state.has_baseline
            missed_from = self.state.last_seq
            try:
                fresh = self.state.apply_snapshot(payload, now)
            except BoardPayloadError as exc:
                logger.warning("bad snapshot ignored: %s", exc)
                return
            if reconnect:
                fresh = self._missed_beyond_snapshot(payload, missed_from, now) + fresh
            self._announce(fresh, now)
            self.version += 1

    def _on_call(self, payload: Any) -> None:
        now = self.now()
        with self._lock:
            try:
                outcome = self.state.apply_call(payload, now)
            except BoardPayloadError as exc:
                logger.warning("bad call ignored: %s", exc)
                return
            self._announce(outcome.applied, now)
            if outcome.applied:
                self.version += 1
        if outcome.resync_after is not None:
            self._resync(outcome.resync_after)

    def _on_queue(self, payload: Any) -> None:
        self._apply(self.state.apply_queue, payload)

    def _on_counter(self, payload: Any) -> None:
        self._apply(self.state.apply_counter, payload)

    def _on_call_state(self, payload: Any) -> None:
        self._apply(self.state.apply_call_state, payload)

    def _on_sound_test(self, payload: Any) -> None:
        """A supervisor asks whether this board is heard: chime, then the test sentence."""
        test_id = payload.get("id") if isinstance(payload, Mapping) else None
        if not isinstance(test_id, str) or not test_id:
            logger.warning("bad sound test ignored: %s", payload)
            return
        sounds: list[SoundSource] = [self.chime if self.chime is not None else CHIME_PATH]
        audio_url = payload.get("audio_url")
        if isinstance(audio_url, str) and audio_url:
            sounds.append(audio_url)
        if self.announcements is None:
            self.report_sound(f"test-{test_id}", "failed", "no audio queue")
            return
        try:
            self.announcements.enqueue(f"test-{test_id}", sounds)
        except QueueClosedError:
            logger.debug("audio queue closed; sound test %s not played", test_id)

    def report_sound(self, announcement_id: str, status: str, detail: str) -> None:
        """Tell the server how an announcement went (the supervisor's device list shows
        it); the audio queue calls this from its thread after each announcement."""
        body = {"status": status, "detail": detail[:200], "announcement": announcement_id}
        try:
            self.sio.emit(EV_SOUND_STATUS, body, namespace=NS_DISPLAY)
        except socketio.exceptions.SocketIOError as exc:
            logger.debug("sound status not sent (%s): %s", exc, body)

    def tick(self) -> None:
        """Once a second: re-ask for missing calls, or give a hopeless gap up."""
        now = self.now()
        with self._lock:
            outcome = self.state.tick(now)
            self._announce(outcome.applied, now)
            if outcome.applied:
                self.version += 1
        if outcome.resync_after is not None:
            self._resync(outcome.resync_after)

    # --- helpers ----------------------------------------------------------------------

    def _apply(self, method: Callable[[Any], object], payload: Any) -> None:
        with self._lock:
            try:
                method(payload)
            except BoardPayloadError as exc:
                logger.warning("bad %s payload ignored: %s", method.__name__, exc)
                return
            self.version += 1

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            if self.state.connected != connected:
                self.state.connected = connected
                self.version += 1

    def _resync(self, after: int) -> None:
        try:
            self.sio.emit(EV_RESYNC, {"after": after}, namespace=NS_DISPLAY)
        except socketio.exceptions.SocketIOError as exc:
            # Offline: the snapshot of the next connection brings the board up to date.
            logger.debug("resync after %s not sent: %s", after, exc)

    def _missed_beyond_snapshot(self, payload: Any, after: int, now: datetime) -> list[Call]:
        """Fresh calls older than the snapshot's few recent ones, made while offline."""
        seqs = [c.get("seq") for c in payload.get("calls") or [] if isinstance(c, Mapping)]
        oldest = min((s for s in seqs if isinstance(s, int)), default=None)
        if oldest is None or oldest <= after + 1:
            return []
        try:
            rows = self.http.calls_after(after, self.state.zone)
        except (requests.RequestException, ValueError) as exc:
            logger.warning("calls missed before the snapshot not read: %s", exc)
            return []
        missed = []
        for row in rows:
            try:
                call = parse_call(row, arrived_at=now)
            except BoardPayloadError as exc:
                logger.warning("bad call in history ignored: %s", exc)
                continue
            if after < call.seq < oldest:
                missed.append(call)
        return sorted(missed, key=lambda c: c.seq)

    def _announce(self, calls: Iterable[Call], now: datetime) -> None:
        if self.announcements is None:
            return
        for call in calls:
            if not self.state.should_announce(call, now):
                logger.info("call %s (%s) is old: shown, not voiced", call.seq, call.label)
                continue
            sounds: list[SoundSource] = [self.chime if self.chime is not None else CHIME_PATH]
            if call.audio_url:
                sounds.append(call.audio_url)
            try:
                self.announcements.enqueue(f"call-{call.seq}", sounds)
            except QueueClosedError:
                logger.debug("audio queue closed; call %s not voiced", call.seq)


__all__ = ["CHIME_PATH", "TZ", "BoardClient", "ServerHTTP"]
