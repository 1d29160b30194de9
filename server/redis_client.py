"""The one Redis client of a process for a URL (redis-py keeps a pool of connections
inside it).  Used only when `realtime.message_queue` is set; under gunicorn's gevent
worker redis-py's sockets are gevent's (monkey patched), so a wait never blocks the loop."""

from __future__ import annotations

import threading

import redis

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()

#: A Redis that does not answer within this is treated as down (the caller logs and
#: goes on without it) rather than holding a request.
TIMEOUT_S = 2.0


def client(url: str) -> redis.Redis:
    with _lock:
        found = _clients.get(url)
        if found is None:
            found = _clients[url] = redis.Redis.from_url(
                url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
            )
        return found
