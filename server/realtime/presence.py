"""How many connections each device holds, over every process.

Supervisors' device list says which boards, kiosks and pads are connected; with several
processes a device is connected to one of them, maybe not the one answering.  Each
process publishes its own counts to Redis (`<prefix>:live:<process>`, a hash living
`TTL_S`, rewritten by the realtime sweep every few seconds) and lists itself in
`<prefix>:procs`; a reader adds its own fresh counts to the others' published ones.  A
process that dies drops out within `TTL_S`."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections import Counter
from typing import Any

import redis

log = logging.getLogger(__name__)

#: A process's counts outlive its last publication this long (the sweep runs every 3 s).
TTL_S = 10


class SharedPresence:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.me = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.procs = f"{prefix}:procs"
        self.prefix = prefix

    def _key(self, proc: str) -> str:
        return f"{self.prefix}:live:{proc}"

    def publish(self, counts: Counter[int]) -> None:
        key = self._key(self.me)
        try:
            with self.redis.pipeline() as pipe:
                pipe.delete(key)
                if counts:
                    pipe.hset(key, mapping={str(k): v for k, v in counts.items()})
                    pipe.expire(key, TTL_S)
                pipe.zadd(self.procs, {self.me: time.time()})
                pipe.zremrangebyscore(self.procs, "-inf", time.time() - TTL_S)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("connection counts not published: %s", exc)

    def others(self) -> Counter[int]:
        """The other processes' published counts, added up."""
        total: Counter[int] = Counter()
        try:
            live: Any = self.redis.zrangebyscore(self.procs, time.time() - TTL_S, "+inf")
            procs = [p.decode() for p in live if p.decode() != self.me]
            with self.redis.pipeline(transaction=False) as pipe:
                for p in procs:
                    pipe.hgetall(self._key(p))
                found = pipe.execute()
        except redis.RedisError as exc:
            log.warning("other processes' connection counts unavailable: %s", exc)
            return total
        for raw in found:
            total.update({int(k): int(v) for k, v in raw.items()})
        return total
