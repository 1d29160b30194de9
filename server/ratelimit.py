"""Sliding-window rate limits: at most `limit` hits per key in any `per_seconds`.

`RateLimiter` keeps the hits in this process's memory: right for one process (the
default).  With several processes (`realtime.message_queue` set), the next request may
land on any of them, so `limiter()` returns a `SharedRateLimiter`: the same window kept
in Redis, one sorted set per key, checked and updated by one Lua script (atomic, on
Redis's own clock, so hosts' clocks do not matter).  If Redis cannot answer, the shared
limiter counts in memory meanwhile (and asks Redis again `RETRY_AFTER_S` later) rather
than letting everything through or making each request wait for Redis."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from typing import Protocol

import redis

log = logging.getLogger(__name__)

#: After Redis failed to answer, the shared limiters count in memory this long.
RETRY_AFTER_S = 5.0


class Limiter(Protocol):
    limit: int
    per: float

    def hit(self, key: str) -> float: ...

    def reset(self, key: str) -> None: ...


class RateLimiter:
    def __init__(self, limit: int, per_seconds: float, *, clock=time.monotonic) -> None:
        self.limit = limit
        self.per = per_seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record one hit; return 0 when allowed, else the seconds until the next allowed hit."""
        now = self._clock()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= now - self.per:
                q.popleft()
            if len(q) >= self.limit:
                return max(0.001, q[0] + self.per - now)
            q.append(now)
            if len(self._hits) > 50_000:
                self._prune(now)
            return 0.0

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, q in self._hits.items() if not q or q[-1] <= now - self.per]:
            del self._hits[key]


#: KEYS[1] the key's sorted set (score = hit time in µs); ARGV: window (µs), limit, a
#: unique member.  Returns 0 (hit recorded) or the µs until the oldest hit leaves.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local per = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1000, tonumber(oldest[2]) + per - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(per / 1000))
return 0
"""


class SharedRateLimiter:
    """The window of `RateLimiter`, kept in Redis under `<prefix>:<key>`: every process
    of the deployment counts the same hits."""

    def __init__(self, client: redis.Redis, prefix: str, limit: int, per_seconds: float) -> None:
        self.limit = limit
        self.per = per_seconds
        self.prefix = prefix
        self.redis = client
        self._script = client.register_script(_HIT)
        self._fallback = RateLimiter(limit, per_seconds)
        self._down_until = 0.0

    def hit(self, key: str) -> float:
        if time.monotonic() < self._down_until:
            return self._fallback.hit(key)
        try:
            wait_us = self._script(
                keys=[f"{self.prefix}:{key}"],
                args=[int(self.per * 1_000_000), self.limit, secrets.token_hex(8)],
            )
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_S
            log.warning("rate limits counted in this process for now: Redis unavailable (%s)", exc)
            return self._fallback.hit(key)
        return int(wait_us) / 1_000_000

    def reset(self, key: str) -> None:
        self._fallback.reset(key)
        try:
            self.redis.delete(f"{self.prefix}:{key}")
        except redis.RedisError as exc:
            log.warning("rate limit %s not reset in Redis: %s", key, exc)


def limiter(
    message_queue: str | None, channel: str, name: str, limit: int, per_seconds: float
) -> Limiter:
    """The limiter `name` of an app: in memory, or in Redis when processes share one."""
    if message_queue is None:
        return RateLimiter(limit, per_seconds)
    from .redis_client import client

    return SharedRateLimiter(client(message_queue), f"{channel}:limit:{name}", limit, per_seconds)
