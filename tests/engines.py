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
