"""The call publishers' lock on Redis (server/realtime/sequencer.py): a process killed
while holding it holds up the others' calls for at most LOCK_TTL_S, and a holder that
has lost it stops emitting.  Needs MOTCUA_TEST_REDIS_URL (CI sets it)."""

from __future__ import annotations

import os
import secrets
import time

import pytest

from server.realtime.sequencer import LOCK_TTL_S, RedisMark, Unavailable

REDIS = os.environ.get("MOTCUA_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS, reason="MOTCUA_TEST_REDIS_URL is not set")


def _marks():
    import redis

    prefix = f"test-mark-{secrets.token_hex(6)}"
    a = RedisMark(redis.Redis.from_url(REDIS), prefix, 0)
    b = RedisMark(redis.Redis.from_url(REDIS), prefix, 0)
    return a, b


def test_a_dead_holder_frees_the_lock_within_its_ttl():
    a, b = _marks()
    assert a._lock.acquire()  # process A takes the lock, then is killed (never releases)
    started = time.monotonic()
    with b.held():  # process B publishes as soon as A's lock expires
        waited = time.monotonic() - started
        b.set(7)
    assert waited <= LOCK_TTL_S + 0.5
    assert a.get() == 7


def test_a_live_holder_keeps_the_lock_past_its_ttl():
    a, b = _marks()
    with a.held():
        for _ in range(int(LOCK_TTL_S * 2 / 0.1)):  # longer than the TTL, renewing
            time.sleep(0.1)
            a.keep()
        b_lock = b.redis.lock(b._lock.name, timeout=1, blocking_timeout=0.05)
        assert not b_lock.acquire()  # still A's


def test_a_holder_that_lost_the_lock_stops():
    a, _ = _marks()
    with pytest.raises(Unavailable), a.held():
        a.redis.delete(a._lock.name)  # expired meanwhile (a stall longer than the TTL)
        time.sleep(LOCK_TTL_S / 3 + 0.05)
        a.keep()
