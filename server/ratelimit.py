"""A small in-process sliding-window rate limiter (one server process serves a center;
with several processes, a shared store such as Redis would replace this class)."""

from __future__ import annotations

import threading
import time
from collections import deque


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
