"""Which engine the suite runs on.  ``make test`` runs it on SQLite; with
``MOTCUA_TEST_ENGINE=postgresql`` (and ``MOTCUA_TEST_DATABASE_URL``) every test gets a
fresh PostgreSQL schema of its own, and ``MOTCUA_DATABASE_URL`` points there — so the
app, the CLI and every server process a test starts use it, as in production."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

ENGINE = os.environ.get("MOTCUA_TEST_ENGINE", "sqlite")
ON_PG = ENGINE == "postgresql"


def test_database_url() -> str:
    url = os.environ.get("MOTCUA_TEST_DATABASE_URL")
    if not url:
        raise RuntimeError("MOTCUA_TEST_ENGINE=postgresql needs MOTCUA_TEST_DATABASE_URL")
    return url


def in_schema(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new empty schema on the test database; its URL; dropped afterwards."""
    import psycopg

    base = test_database_url()
    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield in_schema(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def services_unreachable() -> list[str]:
    """What is wrong with the services the environment names (empty: all answer).
    ``MOTCUA_TEST_DATABASE_URL`` and ``MOTCUA_TEST_REDIS_URL`` are optional on a
    developer's machine; once named (``.ci/run`` names both) they must be reachable."""
    problems = []
    url = os.environ.get("MOTCUA_TEST_DATABASE_URL")
    if os.environ.get("MOTCUA_TEST_REQUIRE_SERVICES"):
        for name in ("MOTCUA_TEST_DATABASE_URL", "MOTCUA_TEST_REDIS_URL"):
            if not os.environ.get(name):
                problems.append(f"MOTCUA_TEST_REQUIRE_SERVICES is set but {name} is not")
    if ON_PG and not url:
        problems.append("MOTCUA_TEST_ENGINE=postgresql needs MOTCUA_TEST_DATABASE_URL")
    if url:
        import psycopg

        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            problems.append(f"MOTCUA_TEST_DATABASE_URL {url}: {str(exc).strip()}")
    redis_url = os.environ.get("MOTCUA_TEST_REDIS_URL")
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
        except ImportError:
            problems.append("MOTCUA_TEST_REDIS_URL is set but the redis package is missing")
        except Exception as exc:  # redis.exceptions.ConnectionError and the like
            problems.append(f"MOTCUA_TEST_REDIS_URL {redis_url}: {exc}")
    return problems


def table_names(conn) -> list[str]:
    """The tables of the database a connection is on, on either engine."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return [r[0] for r in conn.execute(sql)]


def open_db(data_dir):
    """The database a server or CLI with this data folder uses (either engine), opened
    again — as another process would."""
    from pathlib import Path

    from server import config as config_mod
    from server.dbconfig import open_store

    cfg = config_mod.load(Path(__file__).resolve().parent.parent / "config.yaml", env={})
    return open_store(cfg, Path(data_dir))
