"""A board may fetch a call's audio from another process, on another host with its own
audio folder: with a message queue, the text behind the URL's key is in Redis, so that
process renders the same announcement (MOTCUA_TEST_REDIS_URL; skipped when unset)."""

from __future__ import annotations

import secrets

from server import redis_client
from server.announce import Announcer, SharedTexts
from tests.test_processes import REDIS, needs_redis


def _key(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".wav")


@needs_redis
def test_a_call_announced_on_one_host_is_rendered_on_another(cfg, tmp_path) -> None:
    texts = SharedTexts(redis_client.client(REDIS), f"test-{secrets.token_hex(6)}")
    here = Announcer(cfg, tmp_path / "host-a", texts)
    there = Announcer(cfg, tmp_path / "host-b", texts)
    _, url = here("1001", 3)
    wav = there.path(_key(url))
    assert wav is not None and wav.parent == tmp_path / "host-b"
    assert wav.read_bytes()[:4] == b"RIFF"
    assert wav.stat().st_size > 20_000  # a spoken sentence, not an empty file
    assert texts.get(_key(url)) == here.text("1001", 3)  # the call's own words


def test_without_a_queue_only_the_announcing_process_knows_the_key(cfg, tmp_path) -> None:
    here = Announcer(cfg, tmp_path / "host-a")
    _, url = here("1002", 4)
    assert Announcer(cfg, tmp_path / "host-b").path(_key(url)) is None
    assert here.path(_key(url)) is not None
