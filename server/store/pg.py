"""PostgreSQL behind the same ``Database`` interface as the embedded SQLite file.

The store modules write their statements once, in the form SQLite takes (``?`` and
``:name`` parameters); a connection of this module rewrites the placeholders for
psycopg (``%s``, ``%(name)s``) and hands rows back that index like ``sqlite3.Row``
(``row[0]``, ``row["name"]``, ``dict(row)``).  What the two dialects say differently
(a function, an upsert) each module keeps in one place, asking ``dialect.is_pg``.

Transactions keep SQLite's guarantees, so the queue's rules are proved once for both:
``write()`` is one READ COMMITTED transaction that first takes the database's write
lock (a transaction-scoped advisory lock, released by commit, rollback or a dead
connection), so a number allocation or a call selection never interleaves with
another writer in any process on any host; ``read()`` is a REPEATABLE READ snapshot.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import psycopg.errors
from psycopg import pq
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool, PoolTimeout

log = logging.getLogger(__name__)

#: The advisory lock every write transaction takes (SQLite's one writer, see above).
WRITE_LOCK = 0x6D6F7463  # "motc"
#: The session lock ``motcua migrate`` holds so several hosts may start it at once.
MIGRATE_LOCK = 0x6D6F7464
POOL_MAX = 16
#: How long a request waits for a pooled connection, then a 503 (``Busy``).
POOL_WAIT_S = 10.0


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and urlsplit(str(url)).scheme in ("postgres", "postgresql")


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


# --- placeholders ---------------------------------------------------------------------
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|%|(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """SQLite's placeholders as psycopg's: ``?`` → ``%s``, ``:name`` → ``%(name)s``,
    a literal ``%`` doubled; quoted strings and names and ``::`` casts left as they are."""

    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if m.group(1):
            return f"%({m.group(1)})s"
        return token

    return _TOKENS.sub(one, sql)


# --- rows -----------------------------------------------------------------------------
class Row(Sequence[Any]):
    """A result row indexed by position or column name, like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: Mapping[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return tuple(self._values) == tuple(other._values)
        return tuple(self._values) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=False))!r})"


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    desc = cursor.description
    names: dict[str, int] = {}
    for i, col in enumerate(desc or ()):
        names.setdefault(col.name, i)

    def make(values: Sequence[Any]) -> Row:
        return Row(names, values)

    return make


class _NumericLoader(Loader):
    """``numeric`` (what ``sum``/``avg`` of integers give) as int or float, as SQLite
    answers — never ``Decimal``, which JSON and arithmetic with floats refuse."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if "." in text or "e" in text or "E" in text or text in ("NaN", "Infinity"):
            return float(text)
        return int(text)


# --- one connection -------------------------------------------------------------------
class Cursor:
    """The results of one statement, as the store modules read them."""

    __slots__ = ("_cur",)

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def fetchone(self) -> Row | None:
        return self._cur.fetchone() if self._cur.description else None  # type: ignore[no-any-return]

    def fetchall(self) -> list[Row]:
        return self._cur.fetchall() if self._cur.description else []  # type: ignore[return-value]

    def fetchmany(self, size: int) -> list[Row]:
        return self._cur.fetchmany(size) if self._cur.description else []  # type: ignore[return-value]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def description(self) -> Any:
        return self._cur.description


class Connection:
    """A psycopg connection that speaks the subset of ``sqlite3.Connection`` the store
    layer uses: ``execute``, ``executemany``, ``in_transaction``, ``commit``, ``rollback``."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = None) -> Cursor:
        cur = self.raw.cursor()
        values = _params(params)
        _refuse_nul(values)
        cur.execute(translate(sql), values)
        return Cursor(cur)

    def executemany(self, sql: str, seq: Any) -> Cursor:
        cur = self.raw.cursor()
        rows = [_params(p) for p in seq]
        for values in rows:
            _refuse_nul(values)
        cur.executemany(translate(sql), rows)
        return Cursor(cur)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.raw.execute("ROLLBACK")


def _refuse_nul(values: Any) -> None:
    """PostgreSQL text cannot hold U+0000 (SQLite's can): text carrying one is refused as
    bad input, a 400 naming the problem, before it reaches the server as a 500."""
    items = values.values() if isinstance(values, Mapping) else values or ()
    if any(isinstance(v, str) and "\x00" in v for v in items):
        from server.errors import BadRequest

        raise BadRequest("Dữ liệu chứa ký tự không hợp lệ (NUL, mã 0).", code="invalid_character")


def _params(params: Any) -> Any:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return params
    return list(params)


def _configure(raw: psycopg.Connection[Any]) -> None:
    raw.execute("SET TIME ZONE 'UTC'")  # a time without offset is UTC, as in SQLite
    raw.row_factory = _row_factory
    raw.adapters.register_loader("numeric", _NumericLoader)


# --- the database ---------------------------------------------------------------------
class PgDatabase:
    """Connections and transactions on one PostgreSQL database (see the module doc)."""

    dialect = "postgresql"

    def __init__(self, url: str, *, max_size: int = POOL_MAX) -> None:
        self.url = url
        self.offload = None  # psycopg waits cooperatively under gevent by itself
        self.lock_wait = POOL_WAIT_S
        self._closed = False
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            name="motcua",
        )
        try:
            self._pool.open(wait=True, timeout=POOL_WAIT_S)
        except PoolTimeout:
            self._pool.close()
            raise psycopg.OperationalError(
                f"database.url: cannot connect to {redact(url)} within {POOL_WAIT_S:.0f} s"
            ) from None
        with self._pool.connection() as raw:
            schema = raw.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
        #: The locks of this schema's data: two schemas of one database (tests, or two
        #: deployments) never wait for each other's writers.
        self.write_lock = lock_key(WRITE_LOCK, schema)
        self.migrate_lock = lock_key(MIGRATE_LOCK, schema)

    @property
    def target(self) -> str:
        return self.url

    @property
    def path(self) -> Path:
        """There is no file: code that needs one (SQLite's backup, a job handed a file
        path) must ask ``dialect.is_pg`` first — rather than open a file named "None"."""
        raise AttributeError("a PostgreSQL database has no file path (ask dialect.is_pg)")

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if self._closed:
            from .db import DatabaseClosed

            raise DatabaseClosed(f"{redact(self.url)} is closed")
        try:
            with self._pool.connection(timeout=self.lock_wait) as raw:
                conn = Connection(raw)
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        raw.execute("ROLLBACK")
        except PoolTimeout:
            from server.errors import Busy

            raise Busy(
                "Hệ thống đang bận ghi dữ liệu; xin thử lại sau giây lát.", retry_after=1
            ) from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot for several SELECTs."""
        with self.connection() as conn:
            conn.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            finally:
                conn.rollback()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction holding the write lock; commits when the block exits."""
        with self.connection() as conn:
            conn.raw.execute("BEGIN")
            try:
                self._take_write_lock(conn)
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _take_write_lock(self, conn: Connection) -> None:
        """The write lock, waited for at most ``lock_wait`` seconds, then ``Busy`` (503)."""
        conn.raw.execute(f"SET LOCAL lock_timeout = {int(self.lock_wait * 1000)}")
        try:
            conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (self.write_lock,))
        except psycopg.errors.LockNotAvailable:
            from server.errors import Busy

            raise Busy(
                "Hệ thống đang bận ghi dữ liệu; xin thử lại sau giây lát.", retry_after=1
            ) from None
        conn.raw.execute("SET LOCAL lock_timeout = 0")

    def close(self) -> None:
        self._closed = True
        self._pool.close()


def lock_key(base: int, schema: str) -> int:
    """An advisory lock number for ``base`` in ``schema`` (a signed 64-bit integer)."""
    return (base << 32) | zlib.crc32(schema.encode())
