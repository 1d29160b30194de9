"""A value derived from a configuration, built once per Config object.

Config is frozen but holds a dict (unhashable), so entries are keyed by identity and
keep their Config alive, which keeps the id stable for as long as the entry lives.
Past 64 entries (tests build many configurations) a cache starts again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from server.config import Config

T = TypeVar("T")

MAX_ENTRIES = 64


class PerConfig(Generic[T]):
    """`build(cfg)` called once per Config object, then its value returned."""

    def __init__(self, build: Callable[[Config], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[Config, T]] = {}

    def __call__(self, cfg: Config) -> T:
        with self._lock:
            hit = self._cache.get(id(cfg))
            if hit is not None and hit[0] is cfg:
                return hit[1]
        value = self._build(cfg)
        with self._lock:
            if len(self._cache) > MAX_ENTRIES:
                self._cache.clear()
            self._cache[id(cfg)] = (cfg, value)
        return value
