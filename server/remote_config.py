"""Taking a number from home (config section `remote`): how many numbers one person may
take, how long a one-time code lives, and how many calls a remote ticket not yet
checked in may be passed over before it lapses.

    remote:
      enabled: true
      per_person_day: 2      # numbers one phone (or one CCCD) may take in a day
      per_service_day: 1     # … of them for one service
      grace_calls: 3         # calls passing over a ticket not checked in, then it lapses
      otp_ttl_s: 300         # a code is good this long …
      otp_attempts: 5        # … for this many tries
      otp_per_phone: 3       # codes one phone may be sent per `otp_window_s`
      otp_per_address: 10    # codes one address may ask for per `otp_window_s`
      otp_window_s: 900
      proof_ttl_s: 1800      # a confirmed phone may take numbers this long
      cccd_key: ""           # the CCCD hash key (empty: derived from the server secret)
      near_ahead: 3          # "your turn is near" SMS at this many people ahead (0: none)
      near_by_service: {DD: 5}   # … per service, where it differs

Why these numbers: Hanoi's centers allow 2 numbers a day and 1 per field; a 6-digit
code with 5 tries is a 1-in-200,000 guess, and a phone gets at most 3 codes in 15
minutes (the SMS limit `sms.limits.per_number_day` caps the day as well).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from .config import Config, ConfigError, shown
from .per_config import PerConfig

SECTION = "remote"

_INTS: dict[str, tuple[int, int, int]] = {  # key: (default, lowest, highest)
    "per_person_day": (2, 1, 20),
    "per_service_day": (1, 1, 20),
    "grace_calls": (3, 1, 100),
    "otp_ttl_s": (300, 30, 3600),
    "otp_attempts": (5, 1, 10),
    "otp_per_phone": (3, 1, 20),
    "otp_per_address": (10, 1, 1000),
    "otp_window_s": (900, 60, 86400),
    "proof_ttl_s": (1800, 60, 86400),
    "near_ahead": (3, 0, 50),
}
_KEYS = ("enabled", "cccd_key", "near_by_service", *_INTS)


@dataclass(frozen=True)
class RemoteSettings:
    enabled: bool = True
    per_person_day: int = 2
    per_service_day: int = 1
    grace_calls: int = 3
    otp_ttl_s: int = 300
    otp_attempts: int = 5
    otp_per_phone: int = 3
    otp_per_address: int = 10
    otp_window_s: int = 900
    proof_ttl_s: int = 1800
    cccd_key: str = ""
    near_ahead: int = 3
    near_by_service: tuple[tuple[str, int], ...] = ()

    def near_for(self, service: str) -> int:
        """People ahead at which a remote ticket of `service` is told its turn is near."""
        return dict(self.near_by_service).get(service, self.near_ahead)


def _parse(cfg: Config) -> RemoteSettings:
    raw: Any = cfg.extra.get(SECTION)
    if raw is None:
        return RemoteSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{SECTION}: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(f"{SECTION}.{key}: unknown key (known: {', '.join(_KEYS)})")
    values: dict[str, Any] = {}
    for key, (default, lo, hi) in _INTS.items():
        v = raw.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ConfigError(f"{SECTION}.{key}: expected a whole number {lo}–{hi}, got {shown(v)}")
        values[key] = v
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{SECTION}.enabled: expected true or false, got {shown(enabled)}")
    key = raw.get("cccd_key", "")
    if key is None:
        key = ""
    if not isinstance(key, str) or (key and len(key) < 16):
        raise ConfigError(f"{SECTION}.cccd_key: expected a text of at least 16 characters")
    by_service = raw.get("near_by_service") or {}
    if not isinstance(by_service, dict):
        raise ConfigError(f"{SECTION}.near_by_service: expected a mapping service: people ahead")
    for code, n in by_service.items():
        if (
            not isinstance(code, str)
            or isinstance(n, bool)
            or not isinstance(n, int)
            or not 0 <= n <= 50
        ):
            raise ConfigError(
                f"{SECTION}.near_by_service.{code}: expected a whole number 0–50, got {shown(n)}"
            )
    if values["per_service_day"] > values["per_person_day"]:
        raise ConfigError(f"{SECTION}.per_service_day: must not exceed per_person_day")
    return RemoteSettings(
        enabled=enabled, cccd_key=key, near_by_service=tuple(sorted(by_service.items())), **values
    )


settings: PerConfig[RemoteSettings] = PerConfig(_parse)


def cccd_hash(cfg: Config, server_secret: str | bytes, number: str) -> str:
    """The keyed hash a CCCD number is stored as (never the number itself): HMAC-SHA256
    with `remote.cccd_key`, or a key derived from the server secret when none is set."""
    key = settings(cfg).cccd_key.encode()
    if not key:
        secret = server_secret.encode() if isinstance(server_secret, str) else server_secret
        key = hmac.new(secret, b"motcua cccd", hashlib.sha256).digest()
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
