"""The one Redis client of a process for a URL (redis-py keeps a pool of connections
inside it).  Used only when `realtime.message_queue` is set; under gunicorn's gevent
worker redis-py's sockets are gevent's (monkey patched), so a wait never blocks the loop."""

from __future__ import annotations

import threading

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()

#: A Redis that does not answer within this is treated as down (the caller logs and
#: goes on without it) rather than holding a request; one retry at once, no backoff
#: (redis-py's default backs off for seconds, a request would wait that long).
TIMEOUT_S = 2.0


def client(url: str) -> redis.Redis:
    with _lock:
        found = _clients.get(url)
        if found is None:
            found = _clients[url] = redis.Redis.from_url(
                url,
                socket_timeout=TIMEOUT_S,
                socket_connect_timeout=TIMEOUT_S,
                retry=Retry(NoBackoff(), 1),
            )
        return found
