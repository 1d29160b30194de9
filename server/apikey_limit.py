"""How many requests one department's API key may make (config section `api_keys`).

One key once sent 5,000 cheap invalid PUTs (each answered 400) in 13 s, and the kiosks'
ticket p99 rose to 4.1× quiet: every request, refused or not, costs the one worker that
serves the hall.  So each key may make `requests` requests in any `per_s` seconds
(a sliding window, `server.ratelimit`, shared by every process through Redis when
they share a message queue); beyond that it gets a 429 `rate_limited` with
Retry-After, before its request is looked at, while other keys, kiosks and staff are
served as before.  Every request a key makes counts: reads, writes, import uploads,
and requests it is not allowed to make.

A refusal is cheap, but not free (the token is still looked up): a client that loops
on its refusals as fast as it can (5,000 in 3.5 s over 4 connections) would still take
the worker from the kiosks.  So a refusal is answered after `hold_s` (at most its
Retry-After): the worker waits without working (a gevent sleep), and such a client
slows to one request per connection per `hold_s` (connections per address are capped,
config `connections.per_address`).

    api_keys:
      requests: 300   # requests one key may make in any `per_s` seconds … (0: no limit)
      per_s: 10       # … i.e. bursts of 300, then 30 a second sustained
      hold_s: 1       # a refusal is answered after this long (0: at once)

Why these numbers: a department's software syncs about 250 dossiers a day, one PUT each
(plus a few reads), so even a whole day's changes sent at once fit in one burst; 30 a
second sustained is ~100,000 requests an hour, far above any real sync (a year's
dossiers go through an import, one request per file), yet a tenth of the flood above.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import Config, ConfigError, shown
from .errors import RateLimited
from .per_config import PerConfig
from .ratelimit import Limiter

SECTION = "api_keys"
_KEYS = ("requests", "per_s", "hold_s")


@dataclass(frozen=True)
class ApiKeyLimit:
    requests: int = 300
    per_s: float = 10.0
    hold_s: float = 1.0

    @property
    def off(self) -> bool:
        return self.requests == 0


def _parse(cfg: Config) -> ApiKeyLimit:
    raw: Any = cfg.extra.get(SECTION)
    if raw is None:
        return ApiKeyLimit()
    if not isinstance(raw, dict):
        raise ConfigError(f"{SECTION}: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(f"{SECTION}.{key}: unknown key (known: {', '.join(_KEYS)})")
    requests = raw.get("requests", ApiKeyLimit.requests)
    if isinstance(requests, bool) or not isinstance(requests, int) or not 0 <= requests <= 10**6:
        raise ConfigError(
            f"{SECTION}.requests: expected a whole number 0 (no limit)–1000000, "
            f"got {shown(requests)}"
        )
    per_s = raw.get("per_s", ApiKeyLimit.per_s)
    if (
        isinstance(per_s, bool)
        or not isinstance(per_s, int | float)
        or not math.isfinite(per_s)
        or not 0.1 <= per_s <= 3600
    ):
        raise ConfigError(f"{SECTION}.per_s: expected seconds 0.1–3600, got {shown(per_s)}")
    hold_s = raw.get("hold_s", ApiKeyLimit.hold_s)
    if (
        isinstance(hold_s, bool)
        or not isinstance(hold_s, int | float)
        or not math.isfinite(hold_s)
        or not 0 <= hold_s <= 10
    ):
        raise ConfigError(f"{SECTION}.hold_s: expected seconds 0–10, got {shown(hold_s)}")
    return ApiKeyLimit(requests=requests, per_s=float(per_s), hold_s=float(hold_s))


settings: PerConfig[ApiKeyLimit] = PerConfig(_parse)


def check(
    limits: Limiter | None, key_id: int, hold_s: float, sleep: Callable[[float], object]
) -> None:
    """Count one request by API key `key_id`; when it is over its limit, wait up to
    `hold_s` (no longer than it must wait anyway) with `sleep` — the Socket.IO server's,
    a greenlet's under gevent (time.sleep there would stop the whole worker) — then
    raise a 429."""
    if limits is None:
        return
    wait = limits.hit(f"apikey:{key_id}")
    if wait:
        if hold_s > 0:
            sleep(min(hold_s, wait))
            wait = max(0.0, wait - min(hold_s, wait))
        raise RateLimited(
            "Khóa API này đã gửi quá nhiều yêu cầu trong thời gian ngắn; "
            "xin thử lại sau số giây ghi trong Retry-After.",
            code="rate_limited",
            retry_after=max(0.1, round(wait, 1)),  # header: whole seconds, ≥ 1
        )
