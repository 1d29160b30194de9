"""The gunicorn worker `motcua serve` runs: one gevent worker with WebSocket support.

Two changes to gevent-websocket's handler, both for the cost of every small request:

- it writes an access-log line for every HTTP request through the root logger, which
  `motcua` sets to INFO: formatting and writing that line cost about a tenth of a small
  request's time and flooded the service log.  That line is dropped (gunicorn's own
  access log is off as well; errors are still logged by the app);
- gevent reads a request's header block through the `email` package (~35 µs, close to
  a tenth of a health check).  `RequestHeaders` reads it in one pass, and is stricter:
  a malformed field line (no name, a space before the colon, an obsolete folded line)
  is a 400, as RFC 9112 allows, instead of being guessed at.

The worker also collects cyclic garbage less often (`YOUNG_COLLECTION_AFTER`): with
hundreds of boards connected, most young objects are the sockets' waiting state, which
every call replaces.  CPython starts a young collection after 700 more allocations than
frees, so every ~10 calls one started inside a call's fan-out and scanned the 5,000–19,000
live young objects (1.2–2 ms, measured in the worker), before the first board got its
frame.  The scan costs the same at a higher threshold (it is the live objects), so it
now happens about 14 times less often.

Connections are limited (server/connlimits.py, config `connections`): a request line and
header block must arrive within `header_timeout_s` (else 408, or a silent close when
nothing came), a kept-alive connection waits `idle_timeout_s` for its next request, the
header block is capped in bytes, per line and in fields (431), and one address holds at
most `per_address` connections at once (the next is answered 429 and closed at once).

gunicorn imports this module by name, so nothing here runs in tests or in the CLI
unless they start `motcua serve`."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import logging
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import gevent
from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from geventwebsocket.handler import WebSocketHandler
from gunicorn.workers.ggevent import PyWSGIServer

from .connlimits import AddressCounter, ConnectionLimits, client_address
from .i18n import t
from .realtime.guard import AnonymousSockets

log = logging.getLogger(__name__)

#: Default limits of a header block (config `connections` sets the worker's own): the
#: longest field line, the whole block, the most fields.
MAX_LINE = ConnectionLimits.max_header_line
MAX_BLOCK = ConnectionLimits.max_header_bytes
MAX_FIELDS = ConnectionLimits.max_header_fields
#: Young-generation threshold of the worker's garbage collector (CPython's is 700).
YOUNG_COLLECTION_AFTER = 10_000
#: field-name ":" OWS field-value OWS (RFC 9112 §5): the name is a token, the value
#: holds no CR, LF or NUL (RFC 9110 §5.5).
_FIELD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n\x00]*?)[ \t]*\r?\n?")


class HeadersTooLarge(ValueError):
    """The header block, one of its lines, or its number of fields is over the limit."""


class RequestTimeout(ValueError):
    """The request line came, the rest of the header block not within the deadline."""


class TooManyConnections(ValueError):
    """The address behind a trusted proxy already holds its share of connections."""


class _Late(Exception):
    """Raised inside a connection's greenlet when its header or idle deadline passes."""


def _answer(status: str, code: str, key: str, extra: str = "") -> bytes:
    """A whole error answer that closes the connection, in the API's error shape."""
    body = json.dumps({"error": {"code": code, "message": t(key)}}, ensure_ascii=False).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class RequestHeaders:
    """A request's header fields, with the part of http.client.HTTPMessage that gevent's
    WSGI handler uses (`get`, `getheader`, `del`, `headers`, `typeheader`, `status`)."""

    status = ""  # gevent refuses the request when this is set; errors raise instead

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields

    @classmethod
    def read(
        cls,
        rfile: BinaryIO,
        *,
        max_line: int = MAX_LINE,
        max_block: int = MAX_BLOCK,
        max_fields: int = MAX_FIELDS,
    ) -> RequestHeaders:
        """Up to the blank line that ends the header block; HeadersTooLarge (a 431) when a
        line or the block is too long or there are too many fields, ValueError (a 400)
        when a line is not `name: value`."""
        fields: list[tuple[str, str]] = []
        left = max_block
        while True:
            line = rfile.readline(min(max_line, left) + 1)
            if len(line) > max_line:
                raise HeadersTooLarge("header line too long")
            if line in (b"\r\n", b"\n", b""):
                return cls(fields)
            left -= len(line)
            if left < 0:
                raise HeadersTooLarge(f"header block over {max_block} bytes")
            if len(fields) == max_fields:
                raise HeadersTooLarge(f"more than {max_fields} header fields")
            m = _FIELD.fullmatch(line.decode("latin-1"))
            if m is None:
                raise ValueError(f"malformed header line: {line[:80]!r}")
            fields.append((m[1], m[2]))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first field of that name (case-insensitive), as http.client gives it."""
        name = name.lower()
        for k, v in self._fields:
            if k.lower() == name:
                return v
        return default

    getheader = get

    def __delitem__(self, name: str) -> None:
        name = name.lower()
        self._fields = [(k, v) for k, v in self._fields if k.lower() != name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    @property
    def headers(self) -> Iterator[str]:
        for k, v in self._fields:
            yield f"{k}: {v}\r\n"

    @property
    def typeheader(self) -> str | None:
        return self.get("content-type")


@functools.cache
def too_many() -> bytes:
    """The answer to a connection over its address's share."""
    return _answer(
        "429 Too Many Requests", "too_many_connections", "connection.too_many", "Retry-After: 5\r\n"
    )


def _address(address: object) -> str:
    return str(address[0] if isinstance(address, tuple) else address)


class QuietWebSocketHandler(WebSocketHandler):
    """gevent-websocket's handler, quiet, with the connection limits: `limits` and the
    per-address `held` counter are the worker's own (see `Worker.load_wsgi`)."""

    limits = ConnectionLimits()
    held = AddressCounter(ConnectionLimits.per_address)
    _key: str | None = None  # the address this connection counts against
    _served = 0  # request lines read on this connection
    _deadline: gevent.Timeout | None = None
    #: The app's cap on anonymous Socket.IO sessions (server/realtime/guard.py).
    anonymous: AnonymousSockets | None = None

    def MessageClass(self, rfile: BinaryIO, *_: object) -> RequestHeaders:  # noqa: N802 (gevent's name)
        lim = self.limits
        return RequestHeaders.read(
            rfile,
            max_line=lim.max_header_line,
            max_block=lim.max_header_bytes,
            max_fields=lim.max_header_fields,
        )

    def log_request(self) -> None:
        return None

    def _peer(self) -> str:
        return _address(self.client_address)

    def handle(self) -> None:
        if not self.limits.trusted_proxies:
            if getattr(self.server, "counts_at_accept", False):
                self._key = self._peer()  # counted by Server.do_handle
            elif not self._count(self._peer()):
                self._refuse()
                return
        try:
            super().handle()
        except _Late:  # a deadline passed while an error answer was being sent
            pass
        finally:
            self._cancel()
            if self._key is not None:
                self.held.leave(self._key)
                self._key = None

    def _count(self, key: str) -> bool:
        """Count this connection against `key` (instead of the one before); False when
        `key` holds its share already."""
        if key == self._key:
            return True
        if self._key is not None:
            self.held.leave(self._key)
            self._key = None
        if self.held.enter(key):
            self._key = key
            return True
        if self.held.first_refusal(key):
            log.warning(
                "%s holds %d connections (connections.per_address): refusing more",
                key,
                self.held.cap,
            )
        return False

    def _refuse(self) -> None:
        """Answer 429 before reading anything and close; what the client sent already is
        read first (without waiting), so the close does not reset the answer away."""
        sock = self.socket
        with contextlib.suppress(OSError):
            sock.sendall(self._too_many())
            sock.setblocking(False)
            sock.recv(65536)
        with contextlib.suppress(OSError):
            sock.close()

    def _too_many(self) -> bytes:
        return too_many()

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.close()
            self._deadline = None

    def read_requestline(self) -> str:
        """The next request line, within the deadlines; '' (close quietly) when the
        client sent nothing in time."""
        lim = self.limits
        try:
            if self._served:  # kept alive: the next request may take idle_timeout_s
                with gevent.Timeout(lim.idle_timeout_s, _Late):
                    if not self.rfile.peek(1):  # type: ignore[attr-defined]
                        return ""
            self._deadline = gevent.Timeout.start_new(lim.header_timeout_s, _Late)
            line = super().read_requestline()
        except _Late:
            self._cancel()
            return ""
        except BaseException:
            self._cancel()
            raise
        self._served += 1
        return line

    def read_request(self, raw_requestline: str) -> Any:
        try:
            ok = super().read_request(raw_requestline)
        except _Late:
            raise RequestTimeout("header block not received in time") from None
        finally:
            self._cancel()
        if self.limits.trusted_proxies:
            environ = {
                "REMOTE_ADDR": self._peer(),
                "HTTP_X_FORWARDED_FOR": self.headers.get("X-Forwarded-For") or "",
            }
            if not self._count(client_address(environ, self.limits.trusted_proxies)):
                raise TooManyConnections("too many connections from one address")
        return ok

    def upgrade_websocket(self) -> Any:
        """A new Socket.IO session over WebSocket from an address at its anonymous cap is
        answered 429 here: past the upgrade, Engine.IO's refusal could not reach the
        client (the session's first frame would simply be missing)."""
        environ = self.environ
        if (
            self.anonymous is not None
            and environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            and environ.get("PATH_INFO", "").startswith("/socket.io/")
            and self.anonymous.full(environ)
        ):
            body = json.dumps(
                {
                    "error": {
                        "code": "too_many_anonymous_sockets",
                        "message": t("connection.too_many_anonymous"),
                    }
                },
                ensure_ascii=False,
            ).encode()
            self.close_connection = True
            self.start_response(
                "429 Too Many Requests",
                [("Content-Type", "application/json"), ("Retry-After", "30")],
            )
            return [body]
        return super().upgrade_websocket()

    def _handle_client_error(self, ex: BaseException) -> tuple[str, bytes]:
        if isinstance(ex, RequestTimeout):
            return "408", _answer("408 Request Timeout", "request_timeout", "connection.too_slow")
        if isinstance(ex, TooManyConnections):
            return "429", self._too_many()
        if isinstance(ex, HeadersTooLarge):
            return "431", _answer(
                "431 Request Header Fields Too Large",
                "headers_too_large",
                "connection.headers_too_large",
            )
        return super()._handle_client_error(ex)


class Server(PyWSGIServer):
    """gunicorn's gevent WSGI server, counting connections per address as it accepts them.

    A connection over its address's share is answered 429 and closed right in the accept
    loop: no greenlet, no handler.  Thousands of them in a burst (a flood from one
    address) then cost the loop a few microseconds each instead of a whole connection's
    set-up, so kiosks' requests are not queued behind them.  Behind trusted proxies the
    address is only known from the headers: the handler counts it then."""

    counts_at_accept = True
    #: Connections accepted per turn of the loop (gevent's default is 100): between two
    #: turns, requests on open connections run, so a burst of connections (most of them
    #: refused) does not hold kiosks' requests for its whole length.
    max_accept = 8

    def do_handle(self, sock: Any, address: Any) -> None:
        handler: type[QuietWebSocketHandler] = self.handler_class
        if handler.limits.trusted_proxies:
            self.counts_at_accept = False
            super().do_handle(sock, address)
            return
        key = _address(address)
        if not handler.held.enter(key):
            if handler.held.first_refusal(key):
                log.warning(
                    "%s holds %d connections (connections.per_address): refusing more",
                    key,
                    handler.held.cap,
                )
            raw = sock._sock  # the real, non-blocking socket: this runs in the hub
            with contextlib.suppress(OSError):
                raw.send(too_many())
                raw.recv(65536)  # what already came, so the close does not reset the answer
            sock.close()
            return
        try:
            super().do_handle(sock, address)
        except BaseException:
            handler.held.leave(key)
            raise


class Worker(GeventWebSocketWorker):
    wsgi_handler = QuietWebSocketHandler
    server_class = Server

    def load_wsgi(self) -> None:
        super().load_wsgi()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_AFTER, older, oldest)
        extensions = getattr(getattr(self, "wsgi", None), "extensions", {})
        limits = extensions.get("motcua.connections", ConnectionLimits())
        # The limits and the per-address counts are this worker's own.

        class Handler(QuietWebSocketHandler):
            pass

        Handler.limits = limits
        Handler.held = AddressCounter(limits.per_address)
        Handler.anonymous = extensions.get("motcua.anonymous_sockets")
        self.wsgi_handler = Handler
