"""Online backup and restore of the SQLite database (safe while the server runs: the
backup API copies a consistent snapshot page by page while writers continue)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from ..datadir import create_private, private
from .db import Database


class BackupError(RuntimeError):
    pass


def backup(db: Database, target: Path) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    create_private(tmp)  # a copy of the same personal data: 0600
    dest = sqlite3.connect(tmp)
    try:
        with db.connection() as conn:
            conn.backup(dest, pages=1024)
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    check(tmp)
    os.replace(tmp, target)
    return target


def check(path: Path) -> dict[str, int]:
    """Open a database file read-only and verify it; returns row counts of key tables."""
    if not Path(path).is_file():
        raise BackupError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open ({exc})") from None
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"{path}: integrity check failed: {result}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "_migration" not in tables or "ticket" not in tables:
            raise BackupError(f"{path}: not a motcua database")
        return {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
            for t in sorted(tables)
            if not t.startswith("sqlite_")
        }
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a valid SQLite database ({exc})") from None
    finally:
        conn.close()


def restore(source: Path, db_path: Path) -> Path | None:
    """Replace the database file with a verified backup (the server must be stopped).

    The current file is kept beside it as `<name>.before-restore`; returns its path."""
    check(source)
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if db_path.exists():
        kept = db_path.with_name(db_path.name + ".before-restore")
        kept.unlink(missing_ok=True)
        create_private(kept)
        src = sqlite3.connect(db_path)
        try:
            dest = sqlite3.connect(kept)
            src.backup(dest)
            dest.close()
        finally:
            src.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    tmp = db_path.with_name(db_path.name + ".restoring")
    shutil.copyfile(source, tmp)
    private(tmp)
    os.replace(tmp, db_path)
    return kept
