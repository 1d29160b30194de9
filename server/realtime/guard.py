"""A cap on the Socket.IO sessions one address holds that no token vouches for.

Anyone may open a session and follow a ticket on /track (citizens' phones), so 4,000 of
them from one address once held the worker's every connection.  Per address (as
`security.trusted_proxies` defines it), `connections.anonymous_sockets_per_address`
caps two things:

- sessions still *pending*: opened, but not yet connected to any namespace.  One over
  the cap is refused at the handshake (HTTP 401 from Engine.IO, or 429 before a
  WebSocket upgrade: see server/wsgi.py);
- sessions *tracking*: connected to /track, the one namespace that needs no token.  One
  over the cap is refused by /track (a `connect_error` the page reports and retries).

And each address opens at most `connections.new_sockets_per_s` sessions a second (a
token bucket holding as many): a session's handshake and namespace connect cost the
loop milliseconds, so a burst of a hundred from one address queued kiosks behind it.

A session that connects to a namespace with a device or staff token (`vouch`, called by
`sockets._Base.remember`) counts no more, so a board or a kiosk is never refused because
phones at its address follow tickets.  The default namespace "/" is not served at all
(`NAMESPACES` in server/sockets.py), so a session cannot wait there uncounted."""

from __future__ import annotations

import logging
import time
from typing import Any

from ..connlimits import AddressCounter, ConnectionLimits, client_address
from ..i18n import t

log = logging.getLogger(__name__)

PENDING, TRACKING = "pending", "tracking"


def refusal() -> dict[str, Any]:
    """What a refused client is told (the API's error shape)."""
    return {
        "error": {
            "code": "too_many_anonymous_sockets",
            "message": t("connection.too_many_anonymous"),
        }
    }


class AnonymousSockets:
    def __init__(self, sio: Any, limits: ConnectionLimits) -> None:
        """`sio`: the python-socketio server; its Engine.IO connect and disconnect
        handlers are wrapped."""
        self.manager = sio.manager
        self.trusted_proxies = limits.trusted_proxies
        cap = limits.anonymous_sockets_per_address
        self.counters = {PENDING: AddressCounter(cap), TRACKING: AddressCounter(cap)}
        #: Engine.IO sid → (the address it counts against, PENDING or TRACKING).
        self.sessions: dict[str, tuple[str, str]] = {}
        self.rate = limits.new_sockets_per_s
        #: address → (tokens, when counted): new sessions it may still open now.
        self._buckets: dict[str, tuple[float, float]] = {}
        eio = sio.eio
        self._connect = eio.handlers["connect"]
        self._disconnect = eio.handlers["disconnect"]
        eio.on("connect", self._on_connect)
        eio.on("disconnect", self._on_disconnect)

    def full(self, environ: dict[str, Any]) -> bool:
        """Whether the new session this request asks for would be refused."""
        if "sid=" in environ.get("QUERY_STRING", ""):
            return False  # an existing session's request (polling, or its upgrade)
        key = client_address(environ, self.trusted_proxies)
        pending = self.counters[PENDING]
        return pending.held[key] >= pending.cap or self._tokens(key, time.monotonic()) < 1

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.rate, now))
        return min(self.rate, tokens + (now - at) * self.rate)

    def _take(self, key: str) -> bool:
        """One new session for `key`, if its bucket holds one."""
        now = time.monotonic()
        tokens = self._tokens(key, now)
        if len(self._buckets) > 10_000:  # forget the addresses whose buckets are full
            full = self.rate
            self._buckets = {
                k: v
                for k, v in self._buckets.items()
                if min(full, v[0] + (now - v[1]) * full) < full
            }
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        return True

    def _enter(self, key: str, state: str) -> bool:
        counter = self.counters[state]
        if counter.enter(key):
            return True
        if counter.first_refusal(key):
            log.warning(
                "%s holds %d %s anonymous Socket.IO sessions "
                "(connections.anonymous_sockets_per_address): refusing more",
                key,
                counter.cap,
                state,
            )
        return False

    def _on_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        key = client_address(environ, self.trusted_proxies)
        if not self._take(key):
            if self.counters[PENDING].first_refusal(key):
                log.warning(
                    "%s opens more than %g Socket.IO sessions a second "
                    "(connections.new_sockets_per_s): refusing more",
                    key,
                    self.rate,
                )
            return refusal()
        if not self._enter(key, PENDING):
            return refusal()
        self.sessions[eio_sid] = (key, PENDING)
        return self._connect(eio_sid, environ)

    def _on_disconnect(self, eio_sid: str, *args: Any) -> Any:
        self._release(eio_sid)
        return self._disconnect(eio_sid, *args)

    def _release(self, eio_sid: str) -> None:
        held = self.sessions.pop(eio_sid, None)
        if held is not None:
            key, state = held
            self.counters[state].leave(key)

    def _eio_sid(self, sid: str, namespace: str) -> str | None:
        return self.manager.eio_sid_from_sid(sid, namespace)

    def vouch(self, sid: str, namespace: str) -> None:
        """The session of Socket.IO `sid` connected with a token: it counts no more."""
        eio_sid = self._eio_sid(sid, namespace)
        if eio_sid is not None:
            self._release(eio_sid)

    def track(self, sid: str, namespace: str) -> bool:
        """The session of `sid` connects to an anonymous namespace: False (refuse it)
        when its address already holds its share of such sessions."""
        eio_sid = self._eio_sid(sid, namespace)
        held = self.sessions.get(eio_sid) if eio_sid is not None else None
        if eio_sid is None or held is None or held[1] == TRACKING:
            return True  # vouched for already, or counted already
        key = held[0]
        if not self._enter(key, TRACKING):
            return False
        self.counters[PENDING].leave(key)
        self.sessions[eio_sid] = (key, TRACKING)
        return True
