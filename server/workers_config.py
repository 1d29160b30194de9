"""Where the slow work runs (config section `workers`): SMS sending, dossier imports and
the queue report's day cache.

    workers:
      mode: embedded        # embedded (default): `motcua serve` does it all in-process,
                            # one center needs no second process; external: the server
                            # does none of it, `motcua worker` processes do
      poll_seconds: 1       # how often an idle worker looks for new jobs
      lease_seconds: 60     # an import a dead worker held is taken over after this long
      warm_report_days: 62  # past days a worker keeps in the report day cache …
      warm_every_s: 600     # … checked this often (0: never)

`motcua worker` reads the same section whatever `mode` says (it is the process the
external shape runs); `mode` only decides whether `motcua serve` works too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .config import Config, ConfigError, shown
from .per_config import PerConfig

SECTION = "workers"
MODES = ("embedded", "external")
_KEYS = ("mode", "poll_seconds", "lease_seconds", "warm_report_days", "warm_every_s")


@dataclass(frozen=True)
class WorkerSettings:
    mode: str = "embedded"
    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    warm_report_days: int = 62
    warm_every_s: float = 600.0

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"


def _seconds(raw: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = raw.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ConfigError(f"{SECTION}.{key}: expected seconds {low:g}–{high:g}, got {shown(value)}")
    return float(value)


def _parse(cfg: Config) -> WorkerSettings:
    raw: Any = cfg.extra.get(SECTION)
    if raw is None:
        return WorkerSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{SECTION}: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(f"{SECTION}.{key}: unknown key (known: {', '.join(_KEYS)})")
    mode = raw.get("mode", WorkerSettings.mode)
    if mode not in MODES:
        raise ConfigError(f"{SECTION}.mode: expected {' or '.join(MODES)}, got {shown(mode)}")
    days = raw.get("warm_report_days", WorkerSettings.warm_report_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3660:
        raise ConfigError(
            f"{SECTION}.warm_report_days: expected a whole number 0–3660, got {shown(days)}"
        )
    warm_every = _seconds(raw, "warm_every_s", WorkerSettings.warm_every_s, 0, 86400)
    if 0 < warm_every < 10:
        raise ConfigError(
            f"{SECTION}.warm_every_s: expected 0 (never) or 10–86400 seconds, "
            f"got {shown(raw['warm_every_s'])}"
        )
    return WorkerSettings(
        mode=mode,
        poll_seconds=_seconds(raw, "poll_seconds", WorkerSettings.poll_seconds, 0.05, 60),
        lease_seconds=_seconds(raw, "lease_seconds", WorkerSettings.lease_seconds, 2, 3600),
        warm_report_days=days,
        warm_every_s=warm_every,
    )


settings: PerConfig[WorkerSettings] = PerConfig(_parse)


def embedded(cfg: Config) -> bool:
    """True when `motcua serve` does the background work itself (the default)."""
    return settings(cfg).embedded
