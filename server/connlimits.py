"""How many connections one caller may hold, and how long a connection may take to say
what it wants (config section `connections`, validated here).

One worker serves a whole center, so a single address must not be able to take all of
its connections: 4,100 connections that never finished their headers, or 4,000
anonymous Socket.IO connections to /track, once stopped /health for 45 s.  The limits:

- `header_timeout_s`: a connection has this long, from its first byte (from accepting
  it, for its first request), to send its request line and header block;
- `idle_timeout_s`: a kept-alive connection waits this long for its next request;
- `max_header_bytes`, `max_header_line`, `max_header_fields`: the header block (request
  line excluded; gevent caps that line at 8 KiB), each field line, the number of fields
  — 60 connections with 100 lines of 64 KiB each once held 374 MB;
- `per_address`: connections one client address may hold at once (keyed by the TCP
  peer, or behind `security.trusted_proxies` by the address the proxies forward, from
  the request on — a proxy enforces its own header deadline before it forwards);
- `anonymous_sockets_per_address`: Socket.IO sessions one address may hold that no
  device or staff token vouches for (ticket tracking on /track, or no namespace yet);
- `new_sockets_per_s`: Socket.IO sessions one address may open per second (a burst of
  as many, then that rate): each costs the loop a few milliseconds, so a flood of them
  would queue kiosks' requests behind it;
- `max_connections`: the worker's connections in all (file descriptors are raised to
  match at start, or this is lowered to what the system allows, with a log line).

The worker (server/wsgi.py) applies the HTTP limits; server/realtime/guard.py the
anonymous sockets' cap."""

from __future__ import annotations

import logging
import resource
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .config import Config, ConfigError, shown

log = logging.getLogger(__name__)

#: Descriptors the worker needs beside its connections: the database's connections and
#: WAL files, the audio cache, logs, the hub's thread pool, gunicorn's pipes.
FD_RESERVE = 256


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float = 5.0
    idle_timeout_s: float = 30.0
    max_header_bytes: int = 16 * 1024
    max_header_line: int = 8 * 1024
    max_header_fields: int = 100
    per_address: int = 128
    anonymous_sockets_per_address: int = 64
    new_sockets_per_s: float = 20.0
    max_connections: int = 10_000
    #: From `security.trusted_proxies`: whose X-Forwarded-For names the client.
    trusted_proxies: int = 0


#: Each key's accepted range (inclusive).
_RANGES: dict[str, tuple[float, float]] = {
    "header_timeout_s": (0.5, 120),
    "idle_timeout_s": (1, 3600),
    "max_header_bytes": (1024, 64 * 1024),
    "max_header_line": (256, 64 * 1024),
    "max_header_fields": (8, 500),
    "per_address": (2, 100_000),
    "anonymous_sockets_per_address": (1, 100_000),
    "new_sockets_per_s": (1, 100_000),
    "max_connections": (64, 1_000_000),
}


def settings(cfg: Config) -> ConnectionLimits:
    """Validate config's `connections` section (raises ConfigError naming the key)."""
    from .security import settings as security_settings

    proxies = security_settings(cfg).trusted_proxies
    raw = cfg.extra.get("connections")
    if raw is None:
        return ConnectionLimits(trusted_proxies=proxies)
    if not isinstance(raw, dict):
        raise ConfigError(f"connections: expected a mapping, got {type(raw).__name__}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _RANGES:
            known = ", ".join(sorted(_RANGES))
            raise ConfigError(f"connections.{key}: unknown key (known: {known})")
        values[key] = _number(key, value)
    limits = replace(ConnectionLimits(trusted_proxies=proxies), **values)
    if limits.max_header_line > limits.max_header_bytes:
        raise ConfigError(
            f"connections.max_header_line: must not exceed max_header_bytes "
            f"({limits.max_header_bytes}), got {limits.max_header_line}"
        )
    if limits.per_address > limits.max_connections:
        raise ConfigError(
            f"connections.per_address: must not exceed max_connections "
            f"({limits.max_connections}), got {limits.per_address}"
        )
    return limits


def _number(key: str, value: Any) -> float | int:
    whole = {f.name: f.type for f in fields(ConnectionLimits)}[key] == "int"
    ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        kind = "a whole number" if whole else "a number of seconds"
        raise ConfigError(
            f"connections.{key}: expected {kind}, got {type(value).__name__} ({shown(value)})"
        )
    low, high = _RANGES[key]
    if not low <= value <= high:
        raise ConfigError(f"connections.{key}: must be between {low:g} and {high:g}, got {value}")
    return value


def fit_descriptors(wanted: int) -> int:
    """Raise this process's open-file limit (inherited by gunicorn's worker) so that
    `wanted` connections fit beside FD_RESERVE; returns how many connections fit (fewer
    than wanted when the hard limit is lower: a warning says so)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(hard, need)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit to %d (%s)", target, exc)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    fit = max(64, soft - FD_RESERVE)
    log.warning(
        "open-file limit %d allows %d connections, not connections.max_connections %d "
        "(raise the limit, e.g. LimitNOFILE= in the service unit)",
        soft,
        fit,
        wanted,
    )
    return fit


def client_address(environ: Mapping[str, Any], trusted_proxies: int) -> str:
    """The caller's address as security.trusted_proxies defines it (werkzeug's ProxyFix
    rule: the n-th address from the right of X-Forwarded-For, n = trusted proxies)."""
    if trusted_proxies:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        values = [v.strip() for v in forwarded.split(",")] if forwarded else []
        if len(values) >= trusted_proxies and values[-trusted_proxies]:
            return values[-trusted_proxies]
    return str(environ.get("REMOTE_ADDR") or "")


class AddressCounter:
    """How many of something each address holds, with a cap (one event loop: no lock)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held: Counter[str] = Counter()
        self._warned: set[str] = set()

    def enter(self, key: str) -> bool:
        """Count one more for `key`; False (nothing counted) when it holds `cap` already."""
        if self.held[key] >= self.cap:
            return False
        self.held[key] += 1
        return True

    def leave(self, key: str) -> None:
        left = self.held[key] - 1
        if left > 0:
            self.held[key] = left
        else:
            del self.held[key]
            self._warned.discard(key)

    def first_refusal(self, key: str) -> bool:
        """True the first time `key` is refused since it last held nothing (one log line
        per flood, not one per refused connection)."""
        if key in self._warned:
            return False
        self._warned.add(key)
        return True
