"""Which store a server uses: config's ``database.url`` (or ``MOTCUA_DATABASE_URL``).

Empty — the default — is the embedded SQLite file ``motcua.sqlite3`` in the data folder,
right for one center on one machine.  ``postgresql://user@host:port/db`` is the shared
store of the scale-out shape (several processes and hosts; see HACKING.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .config import Config, ConfigError, shown
from .store.pg import is_postgres_url

ENV = "MOTCUA_DATABASE_URL"
SQLITE_FILE = "motcua.sqlite3"


def database_url(cfg: Config, env: dict[str, str] | None = None) -> str | None:
    """The PostgreSQL URL to use, or None for the SQLite file (raises ConfigError)."""
    env = dict(os.environ) if env is None else env
    raw: Any = cfg.extra.get("database")
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"database: expected a mapping, got {type(raw).__name__}")
    section = raw or {}
    for key in section:
        if key != "url":
            raise ConfigError(f"database.{key}: unknown key (known: url)")
    url = env.get(ENV) or section.get("url") or None
    where = ENV if env.get(ENV) else "database.url"
    if url is None:
        return None
    if not isinstance(url, str) or not is_postgres_url(url):
        raise ConfigError(
            f"{where}: expected empty (SQLite in the data folder) or postgresql://…, "
            f"got {shown(url)}"
        )
    return url


def settings(cfg: Config) -> str | None:
    """Validate the section (``motcua check-config``)."""
    return database_url(cfg)


def open_store(cfg: Config, data_dir: Path, *, synchronous: str = "FULL") -> Any:
    """The configured database, not yet migrated."""
    from .store import Database
    from .store.pg import PgDatabase

    url = database_url(cfg)
    if url is not None:
        return PgDatabase(url)
    return Database(data_dir / SQLITE_FILE, synchronous=synchronous)
