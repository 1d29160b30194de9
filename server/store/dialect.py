"""Which SQL dialect a connection or database speaks.  A store module that must say
something differently on PostgreSQL asks here, once, next to its statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg


def is_pg(conn_or_db: Any) -> bool:
    """True for a PostgreSQL connection or database (``server.store.pg``)."""
    return getattr(conn_or_db, "dialect", "sqlite") == "postgresql"


#: Most values one ``IN (?, ?, …)`` list binds (SQLite's and psycopg's limits are far above).
IN_CHUNK = 500


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    """``values`` in lists of at most ``size``, for ``IN (…)`` lists (see ``marks``)."""
    items = list(dict.fromkeys(values))
    for i in range(0, len(items), size):
        yield items[i : i + size]


def marks(values: Sequence[Any]) -> str:
    """``?, ?, …``: one placeholder per value."""
    return ", ".join("?" * len(values))


def indexed_by(conn: Any, table: str, index: str) -> str:
    """``table INDEXED BY index`` on SQLite — whose planner, with statistics, may prefer
    another index than the covering one a report was built for — and ``table`` on
    PostgreSQL, which has no such clause (its planner weighs the covering index itself).
    ``table`` may carry its alias: ``"ticket t"``."""
    return table if is_pg(conn) else f"{table} INDEXED BY {index}"


#: What a failing statement raises on either engine, for a loop that goes on after a
#: database error (a background worker's).
DATABASE_ERRORS = (sqlite3.Error, psycopg.Error)
