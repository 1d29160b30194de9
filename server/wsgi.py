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

gunicorn imports this module by name, so nothing here runs in tests or in the CLI
unless they start `motcua serve`."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from typing import BinaryIO

from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from geventwebsocket.handler import WebSocketHandler

#: What http.client allows: the longest header line, and the most fields.
MAX_LINE = 65536
MAX_FIELDS = 100
#: Young-generation threshold of the worker's garbage collector (CPython's is 700).
YOUNG_COLLECTION_AFTER = 10_000
#: field-name ":" OWS field-value OWS (RFC 9112 §5): the name is a token, the value
#: holds no CR, LF or NUL (RFC 9110 §5.5).
_FIELD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n\x00]*?)[ \t]*\r?\n?")


class RequestHeaders:
    """A request's header fields, with the part of http.client.HTTPMessage that gevent's
    WSGI handler uses (`get`, `getheader`, `del`, `headers`, `typeheader`, `status`)."""

    status = ""  # gevent refuses the request when this is set; errors raise instead

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields

    @classmethod
    def read(cls, rfile: BinaryIO) -> RequestHeaders:
        """Up to the blank line that ends the header block; ValueError (a 400) when a line
        is too long, there are too many fields, or one is not `name: value`."""
        fields: list[tuple[str, str]] = []
        while True:
            line = rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise ValueError("header line too long")
            if line in (b"\r\n", b"\n", b""):
                return cls(fields)
            if len(fields) == MAX_FIELDS:
                raise ValueError(f"more than {MAX_FIELDS} header fields")
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


class QuietWebSocketHandler(WebSocketHandler):
    def MessageClass(self, rfile: BinaryIO, *_: object) -> RequestHeaders:  # noqa: N802 (gevent's name)
        return RequestHeaders.read(rfile)

    def log_request(self) -> None:
        return None


class Worker(GeventWebSocketWorker):
    wsgi_handler = QuietWebSocketHandler

    def load_wsgi(self) -> None:
        super().load_wsgi()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_AFTER, older, oldest)
