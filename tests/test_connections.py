"""No caller can hold the worker's connections (server/connlimits.py, server/wsgi.py,
server/socket_guard.py), through a real `motcua serve` on loopback: half-open
connections from one address, anonymous /track sockets, slow and oversized header
blocks, idle kept-alive connections, and an address behind a trusted proxy.

On f38df03, 4,100 connections that never finished their headers (gunicorn's pool held
4,000) stopped /health for as long as they stayed open; here the pool is 1,000 and an
attacker on 127.0.0.2 opens 1,100.  Deadlines are short so the tests stay quick; the
assertions are about what clients get (answers, refusals, closed connections), with
generous socket timeouts only so a regression fails instead of hanging."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from benchmarks import _server
from server import config as config_mod
from server import connlimits
from server.connlimits import ConnectionLimits, client_address

from .conftest import ROOT

LIMITS = {
    "header_timeout_s": 1,
    "idle_timeout_s": 2,
    "per_address": 50,
    "anonymous_sockets_per_address": 5,
    "new_sockets_per_s": 1000,  # the rate has its own test (its own server)
    "max_connections": 1000,
}
ATTACKER = "127.0.0.2"  # another loopback address: the caps are per address
WAIT_S = 15.0  # a socket timeout, far above every deadline: reached only by a regression


@contextlib.contextmanager
def _serving(extra: dict[str, Any]) -> Iterator[_server.Server]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_server, "NICE", 0)
        srv = _server.Server(extra=extra)
        srv.tokens = {  # type: ignore[attr-defined]
            "board": srv.device("board-conn", "display"),
            "kiosk": srv.device("kiosk-conn", "kiosk"),
        }
        srv.start()
        try:
            yield srv
        finally:
            srv.cleanup()


@pytest.fixture(scope="module")
def served() -> Iterator[_server.Server]:
    with _serving({"connections": LIMITS}) as srv:
        yield srv


def _connect(port: int, source: str = _server.HOST) -> socket.socket:
    s = socket.create_connection((_server.HOST, port), timeout=WAIT_S, source_address=(source, 0))
    return s


def _read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _health(srv: _server.Server) -> int:
    return srv.request("GET", "/api/v1/health", timeout=WAIT_S)[0]


def test_half_open_connections_from_one_address_leave_health_answering(served) -> None:
    held: list[socket.socket] = []
    try:
        for _ in range(LIMITS["max_connections"] + 100):  # more than the worker's pool
            s = _connect(served.port, ATTACKER)
            held.append(s)
            with contextlib.suppress(OSError):  # refused and closed already
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert _health(served) == 200  # another address is served meanwhile
        # One more from the attacker's address is answered 429 at once, and closed.
        with _connect(served.port, ATTACKER) as s:
            answer = _read_all(s)
        assert answer.startswith(b"HTTP/1.1 429")
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert body["error"]["code"] == "too_many_connections"
    finally:
        for s in held:
            s.close()


def test_a_slow_header_block_is_closed_after_the_deadline(served) -> None:
    with _connect(served.port) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        answer = _read_all(s)  # the server answers and closes; the client never finished
    assert answer.startswith(b"HTTP/1.1 408")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"


def test_a_connection_that_says_nothing_is_closed(served) -> None:
    with _connect(served.port) as s:
        assert _read_all(s) == b""  # closed quietly at the header deadline


def test_an_idle_kept_alive_connection_is_closed(served) -> None:
    with _connect(served.port) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(s)  # the answer, then the close once the idle deadline passes
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"}\n")


def test_an_oversized_header_block_gets_431(served) -> None:
    fields = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 4000) for i in range(5))  # 20 KB
    with _connect(served.port) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        answer = _read_all(s)
    assert answer.startswith(b"HTTP/1.1 431")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "headers_too_large"
    assert _health(served) == 200


def _track(port: int) -> socketio.SimpleClient:
    client = socketio.SimpleClient()
    client.connect(
        f"http://{_server.HOST}:{port}",
        namespace="/track",
        transports=["websocket"],
        wait_timeout=10,
    )
    return client


def test_the_cap_refuses_one_anonymous_socket_too_many(served) -> None:
    cap = LIMITS["anonymous_sockets_per_address"]
    clients = [_track(served.port) for _ in range(cap)]
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            _track(served.port)
        # A board's token vouches for it: the same address still connects one.
        with socketio.SimpleClient() as board:
            board.connect(
                f"http://{_server.HOST}:{served.port}",
                namespace="/display",
                transports=["websocket"],
                auth={"token": served.tokens["board"]},
            )
            assert board.receive(timeout=10)[0] == "snapshot"
        clients.pop().disconnect()  # one leaves: another phone may follow its ticket
        clients.append(_connect_when_free(served.port))
    finally:
        for c in clients:
            c.disconnect()


def test_sessions_that_join_no_namespace_are_capped_too(served) -> None:
    """An Engine.IO handshake opens a session without any namespace; an address may hold
    only its share of those (the pending ones), the next handshake is refused."""
    cap = LIMITS["anonymous_sockets_per_address"]
    source = "127.0.0.3"  # these sessions stay until their ping timeout: not 127.0.0.1's

    def handshake() -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(
            _server.HOST, served.port, timeout=WAIT_S, source_address=(source, 0)
        )
        try:
            conn.request("GET", "/socket.io/?EIO=4&transport=polling")
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    assert [handshake()[0] for _ in range(cap)] == [200] * cap
    status, body = handshake()
    assert status == 401
    assert json.loads(body)["error"]["code"] == "too_many_anonymous_sockets"
    with _connect(served.port, source) as s:  # a WebSocket handshake: refused before upgrade
        s.sendall(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        answer = _read_all(s)
    assert answer.startswith(b"HTTP/1.1 429")
    assert b"too_many_anonymous_sockets" in answer


def test_an_address_opens_only_so_many_sessions_a_second() -> None:
    """A burst of handshakes from one address, each leaving at once (so the caps on held
    sessions never bite): past `new_sockets_per_s` the next ones are refused."""
    extra = {"connections": {**LIMITS, "anonymous_sockets_per_address": 50, "new_sockets_per_s": 2}}
    with _serving(extra) as srv:
        statuses = []
        for _ in range(10):
            conn = http.client.HTTPConnection(_server.HOST, srv.port, timeout=WAIT_S)
            conn.request("GET", "/socket.io/?EIO=4&transport=polling")
            answer = conn.getresponse()
            body = answer.read()
            statuses.append(answer.status)
            if answer.status == 401:
                assert json.loads(body)["error"]["code"] == "too_many_anonymous_sockets"
            conn.close()
        assert statuses[:2] == [200, 200]  # the bucket holds two
        assert 401 in statuses[2:]  # then at most two a second
        assert _health(srv) == 200


def _connect_when_free(port: int) -> socketio.SimpleClient:
    """The server counts the departure when the socket's close reaches it."""
    for _ in range(50):
        try:
            return _track(port)
        except socketio.exceptions.ConnectionError:
            continue
    raise AssertionError("the freed anonymous slot was never given back")


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted() -> None:
    extra = {"security": {"trusted_proxies": 1}, "connections": {**LIMITS, "per_address": 3}}

    def ask(s: socket.socket, client: str) -> bytes:
        s.sendall(
            f"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\n\r\n".encode()
        )
        return s.recv(65536)

    with _serving(extra) as srv:
        proxy = [_connect(srv.port) for _ in range(4)]  # the proxy's kept-alive connections
        try:
            for s in proxy[:3]:
                assert ask(s, "10.0.0.9").startswith(b"HTTP/1.1 200")
            assert ask(proxy[3], "10.0.0.9").startswith(b"HTTP/1.1 429")  # its 4th at once
            with _connect(srv.port) as other:
                assert ask(other, "10.0.0.8").startswith(b"HTTP/1.1 200")  # not its neighbour
        finally:
            for s in proxy:
                s.close()


# --- configuration ---------------------------------------------------------------------


def _cfg(section: Any, security: Any = None) -> config_mod.Config:
    cfg = config_mod.load(ROOT / "config.yaml", env={})
    cfg.extra["connections"] = section
    if security is not None:
        cfg.extra["security"] = security
    return cfg


def test_limits_are_read_from_config() -> None:
    limits = connlimits.settings(_cfg(LIMITS, {"trusted_proxies": 2}))
    assert limits.header_timeout_s == 1 and limits.per_address == 50
    assert limits.max_header_bytes == ConnectionLimits.max_header_bytes  # default kept
    assert limits.trusted_proxies == 2


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("many", "connections: expected a mapping"),
        ({"header_timeout": 5}, "connections.header_timeout: unknown key"),
        ({"header_timeout_s": "5"}, "connections.header_timeout_s: expected a number"),
        ({"per_address": True}, "connections.per_address: expected a whole number"),
        ({"per_address": 2.5}, "connections.per_address: expected a whole number"),
        ({"idle_timeout_s": 0}, "connections.idle_timeout_s: must be between"),
        ({"max_header_bytes": 10**9}, "connections.max_header_bytes: must be between"),
        ({"max_header_line": 9000, "max_header_bytes": 4096}, "must not exceed max_header_bytes"),
        ({"per_address": 500, "max_connections": 100}, "must not exceed max_connections"),
    ],
)
def test_bad_limits_are_named(section: Any, message: str) -> None:
    with pytest.raises(config_mod.ConfigError, match=message):
        connlimits.settings(_cfg(section))


def test_the_client_address_follows_the_trusted_proxies() -> None:
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 10.0.0.9"}
    assert client_address(environ, 0) == "127.0.0.1"  # nobody's header is believed
    assert client_address(environ, 1) == "10.0.0.9"
    assert client_address(environ, 2) == "6.6.6.6"
    assert client_address(environ, 3) == "127.0.0.1"  # fewer hops than proxies: the peer


def test_the_open_file_limit_is_raised_or_the_pool_lowered(monkeypatch, caplog) -> None:
    limits = {"soft": 1024, "hard": 4096}
    monkeypatch.setattr(
        connlimits.resource, "getrlimit", lambda _: (limits["soft"], limits["hard"])
    )

    def setrlimit(_: int, value: tuple[int, int]) -> None:
        limits["soft"] = value[0]

    monkeypatch.setattr(connlimits.resource, "setrlimit", setrlimit)
    assert connlimits.fit_descriptors(2000) == 2000
    assert limits["soft"] == 2000 + connlimits.FD_RESERVE  # raised to fit
    assert connlimits.fit_descriptors(10_000) == 4096 - connlimits.FD_RESERVE  # the hard limit
    assert "allows 3840 connections" in caplog.text
