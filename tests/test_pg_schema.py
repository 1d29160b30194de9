"""The PostgreSQL schema is the SQLite one, and `motcua migrate` may run on several hosts
at once.  Needs the test PostgreSQL (MOTCUA_TEST_DATABASE_URL; `.ci/run` sets it)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from server.store import Database, migrate
from server.store.migrations import PG_BASELINE, all_migrations
from server.store.pg import PgDatabase
from tests.engines import fresh_schema

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not os.environ.get("MOTCUA_TEST_DATABASE_URL"),
    reason="needs MOTCUA_TEST_DATABASE_URL (set by .ci/run)",
)


def _sqlite_shape(tmp_path: Path) -> dict[str, dict[str, bool]]:
    migrate(Database(tmp_path / "shape.sqlite3"))
    conn = sqlite3.connect(tmp_path / "shape.sqlite3")
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT IN ('sqlite_sequence', '_migration')"
        )
    ]
    shape = {}
    for t in tables:
        cols = conn.execute(f'PRAGMA table_info("{t}")').fetchall()
        # a rowid primary key is never NULL even where SQLite does not say NOT NULL
        shape[t] = {c[1]: bool(c[3] or c[5]) for c in cols}
    return shape


def _sqlite_indexes(tmp_path: Path) -> set[str]:
    conn = sqlite3.connect(tmp_path / "shape.sqlite3")
    return {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }


def test_postgres_schema_matches_sqlite(tmp_path):
    expected = _sqlite_shape(tmp_path)
    with fresh_schema() as url:
        db = PgDatabase(url)
        try:
            migrate(db)
            with db.read() as conn:
                rows = conn.execute(
                    """SELECT table_name, column_name, is_nullable FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name <> '_migration'"""
                ).fetchall()
                indexes = {
                    r[0]
                    for r in conn.execute(
                        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                        "AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"
                    )
                }
                triggers = {
                    r[0]
                    for r in conn.execute(
                        "SELECT DISTINCT trigger_name FROM information_schema.triggers "
                        "WHERE trigger_schema = current_schema()"
                    )
                }
        finally:
            db.close()
    got: dict[str, dict[str, bool]] = {}
    for table, column, nullable in rows:
        got.setdefault(table, {})[column] = nullable == "NO"
    assert got == expected
    assert indexes == _sqlite_indexes(tmp_path)
    assert triggers == {
        "waiting_count_insert",
        "waiting_count_delete",
        "waiting_count_enter",
        "waiting_count_leave",
    }


def test_every_migration_after_the_baseline_has_a_postgres_statement():
    later = [m for m in all_migrations() if m[0] > PG_BASELINE]
    assert [m[0] for m in later if len(m) < 3 or m[2] is None] == []


def test_migrate_on_three_hosts_at_once_applies_each_migration_once(tmp_path):
    with fresh_schema() as url:
        env = {**os.environ, "MOTCUA_DATABASE_URL": url}
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server.cli",
                    "migrate",
                    "--config",
                    str(ROOT / "config.yaml"),
                    "--data-dir",
                    str(tmp_path / f"host{i}"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i in range(3)
        ]
        outs = [p.communicate(timeout=120)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outs
        assert sum("applied" in o for o in outs) == 1, outs
        assert sum("up to date" in o for o in outs) == 2, outs
        db = PgDatabase(url)
        try:
            with db.read() as conn:
                names = [r[0] for r in conn.execute("SELECT name FROM _migration ORDER BY name")]
        finally:
            db.close()
        assert names == sorted(m[0] for m in all_migrations())


def test_migrate_names_an_unreachable_database(tmp_path):
    env = {**os.environ, "MOTCUA_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "migrate",
            "--config",
            str(ROOT / "config.yaml"),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "cannot open the database" in out.stderr
    assert "127.0.0.1:1" in out.stderr


def test_a_write_lock_held_elsewhere_is_busy_after_lock_wait():
    import psycopg

    from server.errors import Busy

    with fresh_schema() as url:
        db = PgDatabase(url)
        try:
            db.lock_wait = 0.2
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SELECT pg_advisory_lock(%s)", (db.write_lock,))  # another host
                with pytest.raises(Busy), db.write() as conn:
                    conn.execute("SELECT 1")
                other.execute("SELECT pg_advisory_unlock(%s)", (db.write_lock,))
            with db.write() as conn:  # free again: no wait
                assert conn.execute("SELECT 1").fetchone()[0] == 1
        finally:
            db.close()
