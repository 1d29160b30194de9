"""Which calls have gone out live: the publishers' mark and the lock they take.

Calls are numbered by the database (`call.seq`, global and gap-free).  Whoever publishes
takes the lock, emits every committed call after the mark in `seq` order and moves the
mark, so boards get calls in order even when two counters commit at once.  In one
process the mark is a number in memory.  With several processes (a message queue), the
mark and the lock live in Redis: a call committed through process A may be published by
B's next publish, never twice, and since every emit goes through the one Redis channel
while the lock is held, every board on every process gets them in `seq` order; `resync`
on any process replays up to the same mark."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import redis

log = logging.getLogger(__name__)

#: A process that dies holding the lock frees it after this long — so the other
#: processes' calls wait at most this much after a kill -9 (the fail-over bench measured
#: counters back in 5.8–9.3 s with 5 s).  A live holder keeps it (`keep`, between emits)
#: and stops emitting once it has lost it.
LOCK_TTL_S = 1.0
#: Longest wait for the lock, then `Unavailable` (the calls go out with the next publish).
LOCK_WAIT_S = 2 * LOCK_TTL_S
#: How often a publisher waiting for another process's lock asks Redis again (redis-py
#: polls; its 0.1 s default would add up to 100 ms to a call behind another one).
LOCK_POLL_S = 0.002


class Unavailable(RuntimeError):
    """The shared mark could not be read or taken (Redis down or too slow)."""


class CallMark(Protocol):
    def held(self) -> AbstractContextManager[None]: ...

    def get(self) -> int: ...

    def set(self, seq: int) -> None: ...

    def keep(self) -> None: ...


class LocalMark:
    """One process: the mark in memory, a lock in this process."""

    def __init__(self, start: int) -> None:
        self.value = start
        self._lock = threading.Lock()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            yield

    def get(self) -> int:
        return self.value

    def set(self, seq: int) -> None:
        self.value = seq

    def keep(self) -> None:
        """Nothing to renew in one process."""


class RedisMark:
    """Several processes: the mark is a Redis key, the lock a redis-py `Lock`."""

    def __init__(self, client: redis.Redis, prefix: str, start: int) -> None:
        self.redis = client
        self.key = f"{prefix}:calls:emitted"
        self._local = threading.Lock()  # one waiter per process on Redis, not one per request
        self._lock = client.lock(
            f"{prefix}:calls:lock",
            timeout=LOCK_TTL_S,
            sleep=LOCK_POLL_S,
            blocking_timeout=LOCK_WAIT_S,
        )
        self._renewed = 0.0
        try:
            # The first process of a deployment starts from the database's last call;
            # the others keep the mark (calls made before they started went out already).
            self.redis.set(self.key, start, nx=True)
        except redis.RedisError as exc:
            log.warning("Redis unavailable for the call mark at start: %s", exc)

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            try:
                got = self._lock.acquire()
            except redis.RedisError as exc:
                raise Unavailable(str(exc)) from exc
            if not got:
                raise Unavailable("the call publishers' lock stayed taken")
            self._renewed = time.monotonic()
            try:
                yield
            finally:
                try:
                    self._lock.release()
                except redis.RedisError as exc:  # expired (LOCK_TTL_S) or Redis gone
                    log.warning("call publishers' lock not released: %s", exc)

    def keep(self) -> None:
        """Renew the lock's TTL when a third of it has passed; `Unavailable` when this
        process no longer holds it (it expired: another may be publishing — stop)."""
        if time.monotonic() - self._renewed < LOCK_TTL_S / 3:
            return
        try:
            self._lock.reacquire()
        except (redis.exceptions.LockError, redis.RedisError) as exc:
            raise Unavailable(f"the call publishers' lock was lost: {exc}") from exc
        self._renewed = time.monotonic()

    def get(self) -> int:
        try:
            raw = self.redis.get(self.key)
        except redis.RedisError as exc:
            raise Unavailable(str(exc)) from exc
        return int(raw or 0)

    def set(self, seq: int) -> None:
        try:
            self.redis.set(self.key, seq)
        except redis.RedisError as exc:
            raise Unavailable(str(exc)) from exc
