"""Versioned schema migrations, applied in order at start, each once, each in its own
transaction.  Append new migrations to MIGRATIONS with a unique name; never edit one
that has shipped.

On PostgreSQL a new database starts from ``schema_pg.sql``: the schema the SQLite
migrations up to ``PG_BASELINE`` build.  A migration after it is a triple
``(name, sqlite_fn, pg)`` whose ``pg`` is the PostgreSQL statement(s) — a string, or a
function given the connection.  ``migrate`` there holds an advisory lock, so several
hosts may run ``motcua migrate`` (or start) at once: one applies, the others wait and
find nothing left to do."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database as Utils

from .dialect import is_pg

log = logging.getLogger(__name__)

Migration = Callable[[Utils], None]
#: The last migration ``schema_pg.sql`` holds (see the module doc).
PG_BASELINE = "0013_calendar_cutoff"
SCHEMA_PG = Path(__file__).with_name("schema_pg.sql")


def m0001_queue(db: Utils) -> None:
    db.table("service").create(
        {
            "code": str,
            "name_vi": str,
            "name_en": str,
            "prefix": str,
            "width": int,
            "first_number": int,
            "last_number": int,
            "daily_cap": int,
            "hours": str,
            "active": int,
            "position": int,
            "closed_on": str,
        },
        pk="code",
        not_null={"name_vi", "prefix", "width", "first_number", "last_number"},
        defaults={"active": 1, "position": 0, "prefix": ""},
    )
    db.table("counter").create(
        {
            "number": int,
            "name": str,
            "zone": str,
            "services": str,
            "state": str,
            "pause_reason": str,
            "state_since": str,
            "priority_streak": int,
            "active": int,
        },
        pk="number",
        not_null={"name", "zone", "services", "state"},
        defaults={"state": "open", "priority_streak": 0, "active": 1, "services": "[]"},
    )
    db.table("daily_number").create({"service": str, "day": str, "n": int}, pk=("service", "day"))
    db.execute(
        """CREATE TABLE ticket (
            id INTEGER PRIMARY KEY,
            service TEXT NOT NULL REFERENCES service(code),
            day TEXT NOT NULL,
            number INTEGER NOT NULL,
            label TEXT NOT NULL,
            priority TEXT NOT NULL DEFAULT 'normal',
            status TEXT NOT NULL,
            queue_service TEXT NOT NULL,
            target_counter INTEGER,
            queued_at TEXT NOT NULL,
            channel TEXT NOT NULL,
            device_id INTEGER,
            token TEXT NOT NULL UNIQUE,
            phone TEXT,
            issued_at TEXT NOT NULL,
            called_at TEXT,
            started_at TEXT,
            finished_at TEXT,
            counter INTEGER,
            staff TEXT,
            recall_count INTEGER NOT NULL DEFAULT 0,
            transferred_from TEXT,
            UNIQUE (service, day, number)
        )"""
    )
    db.execute(
        "CREATE INDEX ticket_queue ON ticket (day, status, queue_service, priority, queued_at)"
    )
    db.execute("CREATE INDEX ticket_counter ON ticket (counter, status)")
    db.execute(
        """CREATE TABLE ticket_event (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL REFERENCES ticket(id),
            action TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT,
            counter INTEGER,
            detail TEXT
        )"""
    )
    db.execute("CREATE INDEX ticket_event_ticket ON ticket_event (ticket_id)")
    db.execute("CREATE INDEX ticket_event_at ON ticket_event (at)")
    db.execute(
        """CREATE TABLE call (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            ticket_id INTEGER NOT NULL REFERENCES ticket(id),
            label TEXT NOT NULL,
            counter INTEGER NOT NULL,
            counter_name TEXT NOT NULL,
            zone TEXT NOT NULL,
            service TEXT NOT NULL,
            recall INTEGER NOT NULL DEFAULT 0,
            at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX call_zone ON call (zone, seq)")
    db.execute(
        """CREATE TABLE counter_event (
            id INTEGER PRIMARY KEY,
            counter INTEGER NOT NULL,
            state TEXT NOT NULL,
            reason TEXT,
            at TEXT NOT NULL,
            actor TEXT
        )"""
    )


def m0002_accounts(db: Utils) -> None:
    db.execute(
        """CREATE TABLE user (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            full_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            counters TEXT NOT NULL DEFAULT '[]',
            active INTEGER NOT NULL DEFAULT 1,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE user_token (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES user(id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used TEXT,
            revoked_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE device (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            zone TEXT,
            counter INTEGER,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_seen TEXT,
            status TEXT,
            revoked_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            detail TEXT,
            ip TEXT
        )"""
    )
    db.execute("CREATE INDEX audit_at ON audit (at)")
    db.execute("CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_queue", m0001_queue),
    ("0002_accounts", m0002_accounts),
]


def all_migrations() -> list[tuple[Any, ...]]:
    """This module's migrations plus every `MIGRATIONS` list of the other store modules
    (one per aggregate: dossiers, ratings …), ordered by name ("0003_…", "0004_…")."""
    from . import __name__ as package
    from . import __path__ as path

    found = list(MIGRATIONS)
    for mod in pkgutil.iter_modules(path):
        if mod.name in ("migrations", "db"):
            continue
        module = importlib.import_module(f"{package}.{mod.name}")
        found.extend(getattr(module, "MIGRATIONS", []))
    names = [m[0] for m in found]
    if len(names) != len(set(names)):
        raise RuntimeError(
            f"duplicate migration names: {sorted(n for n in names if names.count(n) > 1)}"
        )
    return sorted(found, key=lambda m: m[0])


def migrate(database: Any) -> list[str]:
    """Apply every migration not yet applied; return the names applied now."""
    if is_pg(database):
        return _migrate_pg(database)
    applied_now: list[str] = []
    with database.write() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migration (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    for name, fn, *_ in all_migrations():
        with database.write() as conn:
            if _applied(conn, name):
                continue
            fn(Utils(conn))
            conn.execute(
                "INSERT INTO _migration (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
            applied_now.append(name)
            log.info("applied migration %s", name)
    return applied_now


def _applied(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM _migration WHERE name = ?", (name,)).fetchone() is not None


def _migrate_pg(database: Any) -> list[str]:
    applied_now: list[str] = []
    with database.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(?)", (database.migrate_lock,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _migration (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM _migration")}
            for entry in all_migrations():
                name = entry[0]
                if name in done:
                    continue
                conn.execute("BEGIN")
                try:
                    if not done and name <= PG_BASELINE:
                        if not applied_now:
                            conn.raw.execute(SCHEMA_PG.read_text(encoding="utf-8"))
                    elif name <= PG_BASELINE:
                        raise RuntimeError(
                            f"migration {name}: this PostgreSQL database lacks a migration "
                            f"its baseline ({PG_BASELINE}) holds; it was not made by motcua"
                        )
                    else:
                        _run_pg(name, entry)
                        pg = entry[2]
                        if callable(pg):
                            pg(conn)
                        else:
                            conn.raw.execute(pg)
                    conn.execute(
                        "INSERT INTO _migration (name, applied_at) VALUES (?, ?)",
                        (name, datetime.now(UTC).isoformat()),
                    )
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                applied_now.append(name)
                log.info("applied migration %s", name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(?)", (database.migrate_lock,))
    return applied_now


def _run_pg(name: str, entry: tuple[Any, ...]) -> None:
    if len(entry) < 3 or entry[2] is None:
        raise RuntimeError(f"migration {name} has no PostgreSQL statement (see migrations.py)")
