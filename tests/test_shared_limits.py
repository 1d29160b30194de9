"""Rate limits hold across processes: two apps (two `create_app`, as two server
processes would build them) on one SQLite file and one Redis count the same hits, so a
caller cannot get twice the allowance by having its requests land on both.

Tests needing Redis read MOTCUA_TEST_REDIS_URL (skipped when unset); with nothing
configured the limits stay in the process's memory, and a Redis that stops answering
leaves them counted in memory, never off."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from flask import Flask

from server import redis_client
from server.app import create_app
from server.dossiers.apikeys import add_key
from server.ratelimit import RateLimiter, SharedRateLimiter
from tests.dossier_fixtures import CODE
from tests.test_processes import REDIS, needs_redis

LOOKUP_LIMIT = 30  # create_app's "lookup" window: 30 in any 60 s per address


@pytest.fixture
def shared_cfg(cfg):
    """The tests' config with a message queue and a channel of this test's own."""
    return replace(cfg, message_queue=REDIS, realtime_channel=f"test-{secrets.token_hex(6)}")


@pytest.fixture
def two_apps(shared_cfg, clock, tmp_path) -> Iterator[tuple[Flask, Flask]]:
    apps = [create_app(shared_cfg, tmp_path / "data", clock=clock, testing=True) for _ in range(2)]
    yield apps[0], apps[1]
    for a in apps:
        a.extensions["motcua"].close()


def _lookup(app: Flask, code: str = "000.00.06.H56-231027-0361") -> tuple[int, dict]:
    r = app.test_client().get(f"/api/v1/dossiers/{code}")
    return r.status_code, r.get_json()


@needs_redis
def test_a_lookup_limit_reached_on_one_process_holds_on_the_other(two_apps) -> None:
    a, b = two_apps
    answers = [_lookup(a if i % 2 else b)[0] for i in range(LOOKUP_LIMIT)]
    assert 429 not in answers  # the whole allowance, spread over both
    status, body = _lookup(b)
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert "thử lại" in body["error"]["message"]
    assert _lookup(a)[0] == 429


@needs_redis
def test_a_department_keys_limit_is_one_across_processes(shared_cfg, clock, tmp_path) -> None:
    extra = {**shared_cfg.extra, "api_keys": {"requests": 4, "per_s": 60, "hold_s": 0}}
    cfg = replace(shared_cfg, extra=extra)
    apps = [create_app(cfg, tmp_path / "data", clock=clock, testing=True) for _ in range(2)]
    try:
        ctx = apps[0].extensions["motcua"]
        _, secret = add_key(ctx.db, "STP", ctx.now(), name="Sở Tư pháp")
        headers = {"Authorization": f"Bearer {secret}"}
        statuses = [
            apps[i % 2]
            .test_client()
            .put(f"/api/v1/dossiers/{CODE}", json={"status": "không-có"}, headers=headers)
            .status_code
            for i in range(5)
        ]
    finally:
        for a in apps:
            a.extensions["motcua"].close()
    assert statuses[:4] == [400] * 4  # answered (a bad status), from both processes
    assert statuses[4] == 429


@needs_redis
def test_the_shared_window_slides(shared_cfg) -> None:
    """The Redis window is the memory one: `limit` hits, then the wait until the oldest
    leaves; a reset (a successful sign-in) starts the key over."""
    client = redis.Redis.from_url(REDIS)
    limiter = SharedRateLimiter(client, f"{shared_cfg.realtime_channel}:limit:t", 3, 60)
    assert [limiter.hit("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.hit("k")
    assert 59 < wait <= 60
    assert limiter.hit("other") == 0.0  # per key
    limiter.reset("k")
    assert limiter.hit("k") == 0.0


def test_nothing_configured_keeps_limits_in_memory(ctx) -> None:
    assert ctx.cfg.message_queue is None
    assert all(type(lim) is RateLimiter for lim in ctx.limits.values())


def test_a_redis_that_does_not_answer_leaves_the_limit_counted_here() -> None:
    """Nothing listens on port 1: each hit falls back to the process's own window."""
    limiter = SharedRateLimiter(redis_client.client("redis://127.0.0.1:1/0"), "t:limit", 2, 60)
    started = time.monotonic()
    assert limiter.hit("k") == 0.0
    assert limiter.hit("k") == 0.0
    assert limiter.hit("k") > 0
    assert time.monotonic() - started < 1.0  # no request waits on a Redis that is gone
