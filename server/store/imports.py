"""SQL for dossier import jobs: the job row (its journal) and the scratch copy a file is
validated against.

A job row is the journal of one import: the stored file, its hash, the phase
(``queued`` → ``validating`` → ``applying`` → ``done``, or ``failed`` — after ``undoing``
what it applied, see ``import_publish``), how many rows are
applied (``applied``, committed in the same transaction as those rows, so a crash
resumes exactly after the last committed batch), the running report, and a lease
(``lease_owner``, ``lease_until`` in epoch seconds) so only one runner works on a job
and a dead runner's job is taken over once its lease has expired.

The scratch copy is a private SQLite file holding the live schema, every small table,
and of the dossier tables only the rows of the codes the file names: the whole file is
tried there, in one transaction nobody else waits for, before the live database sees
a single row of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database as Utils

from .db import Database
from .dialect import chunks, is_pg, marks


def m0010_import_jobs(db: Utils) -> None:
    db.execute(
        """CREATE TABLE import_job (
            id TEXT PRIMARY KEY,
            file TEXT NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            actor TEXT NOT NULL,
            scope TEXT,
            policy TEXT NOT NULL,
            dry_run INTEGER NOT NULL,
            notify INTEGER NOT NULL,
            status TEXT NOT NULL,
            phase TEXT NOT NULL,
            processed INTEGER NOT NULL DEFAULT 0,
            total INTEGER,
            applied INTEGER NOT NULL DEFAULT 0,
            skip TEXT NOT NULL DEFAULT '[]',
            report TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_until REAL,
            now TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        )"""
    )
    db.execute("CREATE INDEX import_job_open ON import_job (status) WHERE status = 'running'")


def m0014_import_upload(db: Utils) -> None:
    """An upload's bytes, kept with its job until the job ends: a worker on another host
    (the scale-out shape, see ``motcua worker``) reads the file from here."""
    db.execute("CREATE TABLE import_upload (job_id TEXT PRIMARY KEY, data BLOB NOT NULL)")


MIGRATIONS = [
    ("0010_import_jobs", m0010_import_jobs),
    (
        "0014_import_upload",
        m0014_import_upload,
        "CREATE TABLE import_upload (job_id TEXT PRIMARY KEY, data BYTEA NOT NULL)",
    ),
]

_JSON = ("skip", "report", "error")


def runner_database(live: Any) -> Any:
    """A database of ``live``'s engine with connections of its own, for one job's runner:
    SQLite's commits skip the fsync there (its batches are journaled, see ``Database``);
    PostgreSQL's is a small pool of its own."""
    if is_pg(live):
        from .pg import PgDatabase

        return PgDatabase(live.url, max_size=2)
    return Database(live.path, synchronous="NORMAL")


def _decode(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    job = dict(row)
    for key in _JSON:
        if job[key] is not None:
            job[key] = json.loads(job[key])
    job["dry_run"], job["notify"] = bool(job["dry_run"]), bool(job["notify"])
    return job


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for key in _JSON:
        if key in out and out[key] is not None:
            out[key] = json.dumps(out[key], ensure_ascii=False)
    return out


def insert_job(conn: sqlite3.Connection, job: dict[str, Any]) -> None:
    values = _encode(job)
    cols = list(values)
    conn.execute(
        f"INSERT INTO import_job ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        list(values.values()),
    )


def job(conn: sqlite3.Connection, job_id: str) -> dict[str, Any] | None:
    return _decode(conn.execute("SELECT * FROM import_job WHERE id = ?", (job_id,)).fetchone())


def update_job(conn: sqlite3.Connection, job_id: str, fields: dict[str, Any]) -> None:
    values = _encode(fields)
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.execute(f"UPDATE import_job SET {sets} WHERE id = ?", [*values.values(), job_id])


def claim(conn: sqlite3.Connection, job_id: str, owner: str, now: float, until: float) -> bool:
    """Take the job's lease when it is free or expired (a dead runner's); False if another
    runner holds it or the job is finished."""
    cur = conn.execute(
        """UPDATE import_job SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
           WHERE id = ? AND status = 'running'
             AND (lease_owner IS NULL OR lease_until < ? OR lease_owner = ?)""",
        (owner, until, job_id, now, owner),
    )
    return cur.rowcount == 1


def renew(conn: sqlite3.Connection, job_id: str, owner: str, until: float) -> bool:
    cur = conn.execute(
        "UPDATE import_job SET lease_until = ? WHERE id = ? AND lease_owner = ?",
        (until, job_id, owner),
    )
    return cur.rowcount == 1


def open_jobs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM import_job WHERE status = 'running' ORDER BY created_at")
    return [j for j in map(_decode, rows) if j is not None]


def count_open(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COUNT(*) AS n FROM import_job WHERE status = 'running'").fetchone()
    return int(row["n"])


# --- the staging file -----------------------------------------------------------------
def open_stage(path: Path) -> sqlite3.Connection:
    """The job's private staging file: the parsed rows (``import_staged``), then the
    scratch copy of the live tables the rows are tried against."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=MEMORY")  # ROLLBACK TO a row's savepoint must work
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        """CREATE TABLE IF NOT EXISTS import_staged (
            seq INTEGER PRIMARY KEY, line INTEGER NOT NULL, code TEXT, data TEXT NOT NULL)"""
    )
    return conn


def stage_rows(conn: sqlite3.Connection, rows: list[tuple[int, int, str | None, str]]) -> None:
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO import_staged (seq, line, code, data) VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")


def staged_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) AS n FROM import_staged").fetchone()["n"])


def staged(conn: sqlite3.Connection, after: int, limit: int) -> list[tuple[int, int, str]]:
    rows = conn.execute(
        "SELECT seq, line, data FROM import_staged WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, limit),
    )
    return [(r["seq"], r["line"], r["data"]) for r in rows]


# --- the scratch copy ------------------------------------------------------------------
#: Dossier tables copied only for the codes in the file (the rest could be millions).
_BY_CODE = {
    "dossier": "SELECT d.* FROM live.dossier d JOIN _codes c ON c.code = d.code",
    "dossier_event": "SELECT e.* FROM live.dossier_event e JOIN main.dossier d ON d.id = e.dossier_id",
    "dossier_ticket": "SELECT t.* FROM live.dossier_ticket t JOIN _codes c ON c.code = t.code",
    "notification": "SELECT n.* FROM live.notification n JOIN main.dossier d ON d.id = n.dossier_id",
}
#: Other tables are copied whole when they hold at most this many rows (departments,
#: procedures, settings, templates …); bigger ones (tickets, calls, audit) only as schema:
#: an import never reads them.
SMALL_TABLE = 20_000
#: Tables an import never reads, left empty whatever their size (uploads' bytes).
NOT_COPIED = frozenset({"import_upload"})


@contextmanager
def rolled_back(scratch: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction on the staging file that is always rolled back (a trial run)."""
    scratch.execute("BEGIN")
    try:
        yield scratch
    finally:
        scratch.execute("ROLLBACK")


def build_scratch(live: Database, scratch: sqlite3.Connection) -> None:
    """Copy into the staging file what importing its staged rows reads, from one
    consistent snapshot of the live database (the dossiers of the staged codes only):
    SQLite's file is attached; PostgreSQL's rows are read and inserted (``_build_scratch_pg``)."""
    scratch.execute("PRAGMA foreign_keys=OFF")
    if is_pg(live):
        try:
            _build_scratch_pg(live, scratch)
        finally:
            scratch.execute("PRAGMA foreign_keys=ON")
        return
    scratch.execute("ATTACH DATABASE ? AS live", (str(live.path.resolve()),))
    try:
        scratch.execute("BEGIN")  # one read snapshot of live for every copy below
        schema = scratch.execute(
            """SELECT type, name, sql FROM live.sqlite_master
               WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
               ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END"""
        ).fetchall()
        tables = [r["name"] for r in schema if r["type"] == "table"]
        for r in schema:
            if r["type"] in ("table", "index"):
                scratch.execute(r["sql"])
        scratch.execute(
            """CREATE TEMP TABLE _codes AS SELECT DISTINCT code FROM main.import_staged
               WHERE code IS NOT NULL"""
        )
        scratch.execute("CREATE UNIQUE INDEX temp._codes_code ON _codes (code)")
        for name in tables:
            if name in _BY_CODE or name in NOT_COPIED:
                continue
            small = scratch.execute(
                f'SELECT COUNT(*) AS n FROM (SELECT 1 FROM live."{name}" LIMIT {SMALL_TABLE + 1})'
            ).fetchone()["n"]
            if small <= SMALL_TABLE:
                scratch.execute(f'INSERT INTO main."{name}" SELECT * FROM live."{name}"')
        for name, select in _BY_CODE.items():
            if name in tables:
                scratch.execute(f'INSERT INTO main."{name}" {select}')
        for r in schema:
            if r["type"] not in ("table", "index"):
                scratch.execute(r["sql"])
        scratch.execute("COMMIT")
    except BaseException:
        if scratch.in_transaction:
            scratch.execute("ROLLBACK")
        raise
    finally:
        scratch.execute("DETACH DATABASE live")
    scratch.execute("PRAGMA foreign_keys=ON")


# --- the upload's bytes ----------------------------------------------------------------
def save_upload(conn: sqlite3.Connection, job_id: str, raw: bytes) -> None:
    conn.execute("INSERT INTO import_upload (job_id, data) VALUES (?, ?)", (job_id, raw))


def upload(conn: sqlite3.Connection, job_id: str) -> bytes | None:
    row = conn.execute("SELECT data FROM import_upload WHERE job_id = ?", (job_id,)).fetchone()
    return bytes(row["data"]) if row else None


def drop_finished_uploads(conn: sqlite3.Connection) -> None:
    """Forget the bytes of jobs that ended (done or failed): nobody reads them again."""
    conn.execute(
        """DELETE FROM import_upload WHERE job_id IN
           (SELECT id FROM import_job WHERE status != 'running')"""
    )


# --- the scratch copy from PostgreSQL ---------------------------------------------------
#: The PostgreSQL form of ``_BY_CODE``: the rows of the staged codes, asked in IN lists.
_BY_CODE_PG = {
    "dossier": ("code", "codes"),
    "dossier_event": ("dossier_id", "ids"),
    "dossier_ticket": ("code", "codes"),
    "notification": ("dossier_id", "ids"),
}


def _sqlite_schema(scratch: sqlite3.Connection) -> list[str]:
    """The live schema in SQLite's form: every migration run on the scratch file (the two
    engines' schemas are the same, tests/test_pg_schema.py), then emptied of any row a
    migration seeds, so only the live rows copied below are there.  Its triggers are
    dropped meanwhile; returns their statements, to create once the rows are in."""
    from .migrations import all_migrations

    for _name, fn, *_ in all_migrations():
        fn(Utils(scratch))
    triggers = [
        (name, sql)
        for name, sql in scratch.execute(
            "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger'"
        ).fetchall()
    ]
    for name, _sql in triggers:  # the copied rows are the live ones, counts included
        scratch.execute(f'DROP TRIGGER main."{name}"')
    for (name,) in scratch.execute(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall():
        if name != "import_staged":
            scratch.execute(f'DELETE FROM main."{name}"')
    return [sql for _name, sql in triggers]


def _copy_rows(scratch: sqlite3.Connection, table: str, rows: list[Any]) -> None:
    if not rows:
        return
    cols = list(rows[0].keys())
    names = ", ".join(f'"{c}"' for c in cols)
    scratch.executemany(
        f'INSERT INTO main."{table}" ({names}) VALUES ({marks(cols)})',
        [tuple(r[c] for c in cols) for r in rows],
    )


def _build_scratch_pg(live: Any, scratch: sqlite3.Connection) -> None:
    scratch.execute("BEGIN")
    try:
        triggers = _sqlite_schema(scratch)
        tables = [
            r[0]
            for r in scratch.execute(
                """SELECT name FROM main.sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite_%' AND name != 'import_staged'"""
            )
        ]
        codes = [
            r[0]
            for r in scratch.execute(
                "SELECT DISTINCT code FROM main.import_staged WHERE code IS NOT NULL"
            )
        ]
        with live.read() as pg:  # one snapshot for every copy below
            for name in tables:
                if name in _BY_CODE_PG or name in NOT_COPIED:
                    continue
                small = pg.execute(
                    f'SELECT COUNT(*) AS n FROM (SELECT 1 FROM "{name}" LIMIT {SMALL_TABLE + 1}) t'
                ).fetchone()["n"]
                if small <= SMALL_TABLE:
                    _copy_rows(scratch, name, pg.execute(f'SELECT * FROM "{name}"').fetchall())
            ids: list[int] = []
            for name, (column, by) in _BY_CODE_PG.items():
                keys = codes if by == "codes" else ids
                for part in chunks(keys):
                    rows = pg.execute(
                        f'SELECT * FROM "{name}" WHERE {column} IN ({marks(part)})', part
                    ).fetchall()
                    _copy_rows(scratch, name, rows)
                    if name == "dossier":
                        ids.extend(int(r["id"]) for r in rows)
        for sql in triggers:
            scratch.execute(sql)
        scratch.execute("COMMIT")
    except BaseException:
        if scratch.in_transaction:
            scratch.execute("ROLLBACK")
        raise
