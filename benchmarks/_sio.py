"""A minimal Socket.IO (Engine.IO v4, WebSocket transport) display client for benchmarks.

Hundreds of boards must be simulated on the same 2-core machine as the server, so the
client has to cost far less than what it measures: python-socketio's threaded client
spends three threads and a full decode per message per board.  This one is an asyncio
Protocol per connection — it parses WebSocket frames, answers Engine.IO pings, and
stamps every `call` event with `time.perf_counter()` (CLOCK_MONOTONIC, comparable
across processes) the moment its frame is complete; JSON is decoded after the run.
The benchmark also connects real python-socketio clients beside these, so the protocol
is checked against the reference implementation."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import socketio

from server.protocol import RESYNC_MAX

HOST = "127.0.0.1"
CALL_PREFIX = '42/display,["call",'
SNAPSHOT_PREFIX = '42/display,["snapshot",'


def _frame(text: str) -> bytes:
    """A masked text frame (clients must mask; the key's value does not matter here)."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


@dataclass
class Board:
    """What one display connection saw: raw `call` messages with their arrival times."""

    calls: list[tuple[float, str]] = field(default_factory=list)
    snapshot: str | None = None
    connected: asyncio.Future[bool] | None = None
    closed: bool = False
    error: str | None = None

    def call_events(self) -> list[tuple[float, dict[str, Any]]]:
        return [(t, json.loads(raw[len(CALL_PREFIX) : -1])) for t, raw in self.calls]


class _Protocol(asyncio.Protocol):
    def __init__(self, board: Board, token: str, namespace: str) -> None:
        self.board = board
        self.token = token
        self.namespace = namespace
        self.buf = bytearray()
        self.upgraded = False
        self.fragments: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[: end + 4]
            if " 101 " not in head.split("\r\n", 1)[0]:
                self._fail(f"no websocket upgrade: {head.splitlines()[0]}")
                return
            self.upgraded = True
        while True:
            msg = self._next_frame()
            if msg is None:
                return
            self._on_message(msg, now)

    def _next_frame(self) -> str | None:
        buf = self.buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, pos = struct.unpack_from("!H", buf, 2)[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
        if len(buf) < pos + n:
            return None
        payload = bytes(buf[pos : pos + n])
        del buf[: pos + n]
        opcode = b0 & 0x0F
        if opcode == 0x9:  # ping → pong
            assert self.transport is not None
            self.transport.write(struct.pack("!BB", 0x8A, 0x80) + os.urandom(4))
            return self._next_frame()
        if opcode == 0x8:
            self.board.closed = True
            return self._next_frame()
        self.fragments.append(payload)
        if not b0 & 0x80:
            return self._next_frame()
        text = b"".join(self.fragments).decode()
        self.fragments = []
        return text

    def _on_message(self, msg: str, now: float) -> None:
        assert self.transport is not None
        if msg.startswith(CALL_PREFIX):
            self.board.calls.append((now, msg))
        elif msg == "2":  # Engine.IO ping
            self.transport.write(_frame("3"))
        elif msg.startswith("0{"):  # Engine.IO open → Socket.IO connect to the namespace
            auth = json.dumps({"token": self.token})
            self.transport.write(_frame(f"40{self.namespace},{auth}"))
        elif msg.startswith(SNAPSHOT_PREFIX):
            self.board.snapshot = msg
            if self.board.connected and not self.board.connected.done():
                self.board.connected.set_result(True)
        elif msg.startswith(f"44{self.namespace},"):
            self._fail(f"refused: {msg}")

    def _fail(self, why: str) -> None:
        self.board.error = why
        if self.board.connected and not self.board.connected.done():
            self.board.connected.set_exception(ConnectionError(why))
        if self.transport:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.board.closed = True
        if self.board.connected and not self.board.connected.done():
            self.board.connected.set_exception(ConnectionError(f"closed: {exc}"))


async def connect_board(port: int, token: str, namespace: str = "/display") -> Board:
    """Connect one display and wait for its snapshot (the server's proof of admission)."""
    loop = asyncio.get_running_loop()
    board = Board(connected=loop.create_future())
    await loop.create_connection(lambda: _Protocol(board, token, namespace), HOST, port)
    assert board.connected is not None
    await asyncio.wait_for(board.connected, 60)
    return board


async def connect_many(port: int, token: str, n: int, batch: int = 25) -> list[Board]:
    """Connect `n` boards, `batch` at a time (each connect makes the server build a snapshot)."""
    boards: list[Board] = []
    for i in range(0, n, batch):
        boards += await asyncio.gather(
            *(connect_board(port, token) for _ in range(min(batch, n - i)))
        )
    return boards


# --- boards that outlive a server restart (benchmarks.crash) -------------------------


@dataclass
class Follower:
    """A raw display that keeps up across server restarts, as every board must.

    It reconnects whenever its connection ends (with a short backoff), asks
    ``resync {after: last seq}`` after each new snapshot and whenever a call's
    ``prev_seq`` shows a gap, and accepts calls strictly in ``prev_seq`` order: a call
    after a gap waits for the resync, a call seen before is dropped and counted.
    ``accepted`` is what the board shows, in order, with the moment it was accepted."""

    port: int
    token: str
    accepted: list[tuple[float, int]] = field(default_factory=list)
    baseline: int | None = None  # the seq of the first snapshot: calls after it count
    last_seq: int = 0
    repeats: int = 0  # calls received again (a resync overlapping the live stream)
    connects: int = 0
    resyncs: int = 0
    errors: list[str] = field(default_factory=list)
    outages: list[float] = field(default_factory=list)  # s from a lost connection to a snapshot
    lost_at: float | None = None
    _pending: dict[int, int] = field(default_factory=dict)  # seq → prev_seq, after a gap
    _known: int = 0  # the newest seq the last snapshot announced
    _asked_at: float = 0.0
    _proto: _FollowProtocol | None = None

    def on_snapshot(self, snapshot: dict[str, Any]) -> None:
        self.connects += 1
        if self.lost_at is not None:
            self.outages.append(time.perf_counter() - self.lost_at)
            self.lost_at = None
        seq = self._known = int(snapshot["seq"])
        if self.baseline is None:
            self.baseline = self.last_seq = seq
        elif seq - self.last_seq > RESYNC_MAX:
            self.errors.append(f"missed {seq - self.last_seq} calls: beyond a resync")
            self.last_seq = seq
        elif seq > self.last_seq or self._pending:
            self.resync()

    def on_call(self, call: dict[str, Any], now: float) -> None:
        seq, prev = int(call["seq"]), int(call["prev_seq"])
        if self.baseline is None:
            self.errors.append(f"call {seq} before the first snapshot")
        elif seq <= self.last_seq or seq in self._pending:
            self.repeats += 1
        elif prev > self.last_seq:
            self._pending[seq] = prev
            if len(self._pending) == 1:
                self.resync()
        else:
            self._accept(seq, now)
            while self._pending:
                first = min(self._pending)
                if self._pending[first] > self.last_seq:
                    break
                del self._pending[first]
                if first > self.last_seq:
                    self._accept(first, now)

    def _accept(self, seq: int, now: float) -> None:
        self.last_seq = seq
        self.accepted.append((now, seq))

    def resync(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self.resyncs += 1
            self._asked_at = time.perf_counter()
            msg = '42/display,["resync",' + json.dumps({"after": self.last_seq}) + "]"
            self._proto.transport.write(_frame(msg))

    async def keep_up(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop`; re-ask a resync left unanswered for a second."""
        loop = asyncio.get_running_loop()
        delay = 0.1
        while not stop.is_set():
            lost: asyncio.Future[None] = loop.create_future()
            try:
                await loop.create_connection(
                    functools.partial(_FollowProtocol, self, lost), HOST, self.port
                )
            except OSError:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(1.0, delay * 2)
                continue
            delay = 0.1
            while not lost.done() and not stop.is_set():
                await asyncio.wait([lost], timeout=1.0)
                behind = self._pending or self.last_seq < self._known
                if behind and time.perf_counter() - self._asked_at > 1.0:
                    self.resync()
            if self._proto is not None and self._proto.transport is not None:
                self._proto.transport.close()
            self._proto = None
            if not stop.is_set() and self.lost_at is None:
                self.lost_at = time.perf_counter()


class _FollowProtocol(_Protocol):
    def __init__(self, follower: Follower, lost: asyncio.Future[None]) -> None:
        super().__init__(Board(), follower.token, "/display")
        self.follower, self.lost = follower, lost
        follower._proto = self

    def _on_message(self, msg: str, now: float) -> None:
        if msg.startswith(CALL_PREFIX):
            self.follower.on_call(json.loads(msg[len(CALL_PREFIX) : -1]), now)
        elif msg.startswith(SNAPSHOT_PREFIX):
            self.follower.on_snapshot(json.loads(msg[len(SNAPSHOT_PREFIX) : -1]))
        else:
            super()._on_message(msg, now)

    def _fail(self, why: str) -> None:
        self.follower.errors.append(why)
        super()._fail(why)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.lost.done():
            self.lost.set_result(None)


class Followers:
    """`Follower` boards on an event loop of their own thread (start, read, stop)."""

    def __init__(self, port: int, token: str, n: int) -> None:
        self.boards = [Follower(port, token) for _ in range(n)]
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="followers", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            await asyncio.gather(*(b.keep_up(self._stop) for b in self.boards))

        self._loop.run_until_complete(main())

    def start(self, timeout: float = 30.0) -> None:
        """Connect every board and wait for its first snapshot."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while any(b.baseline is None for b in self.boards):
            if time.monotonic() > deadline:
                raise RuntimeError(f"boards not connected in {timeout} s: {self.errors()}")
            time.sleep(0.02)

    def errors(self) -> list[str]:
        return [e for b in self.boards for e in b.errors]

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


class Tracker:
    """A tracking page: socket.io's own reconnection, following its ticket again each time."""

    def __init__(self, port: int, token: str) -> None:
        self.events: list[float] = []
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.5, logger=False)
        self.sio.on(
            "connect", lambda: self.sio.emit("follow", {"token": token}, "/track"), "/track"
        )
        self.sio.on("ticket", lambda data: self.events.append(time.perf_counter()), "/track")
        self.sio.connect(
            f"http://{HOST}:{port}",
            namespaces=["/track"],
            transports=["websocket"],
            wait_timeout=30,
        )
