"""SQL that keeps an import invisible until it is whole: every row an applying import
job writes is tagged with the job, and readers do not see it until one short
transaction publishes the whole job at once.

- ``import_pending`` lists the jobs that are applying (or being undone): their rows are
  hidden.  Publishing a job is deleting its line (``publish``) — one tiny statement,
  whatever the file's size.
- ``dossier.import_job``, ``dossier_event.import_job`` and ``notification.import_job``
  name the job that last wrote the row (NULL: none).  A reader keeps a row when that
  job is not pending (``shown``); the tag stays after publishing (who wrote it last).
- A dossier that existed before the job touched it keeps its former row in
  ``dossier_before`` (same columns; ``import_job`` there is the touching job) until the
  job is published: the visible dossiers (``DOSSIERS``) are the live rows of no pending
  job plus the former rows of the pending ones — the same ids, so their timeline and
  SMS rows still join — and a reader sees each dossier either as it was or as the
  whole file left it.
- Notifications of a pending job are not sent (``notifications.claim`` reads ``shown``).
- A job that fails or is given up is undone (``undo``): its new rows deleted, its
  touched dossiers restored from their former rows, in short batches while it is still
  pending; then its line goes.

Every reader puts ``shown`` or ``DOSSIERS`` in the same statement as its data, so even
a reader outside a transaction never mixes the states before and after a publish.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlite_utils import Database as Utils

#: The dossier table's columns, in its order (tests/test_import_publish checks them).
COLUMNS = (
    "id",
    "code",
    "procedure",
    "department",
    "applicant",
    "phone",
    "channel",
    "status",
    "status_at",
    "received_at",
    "limit_days",
    "limit_hours",
    "due_at",
    "promised_at",
    "pauses",
    "missing",
    "reason",
    "finished_at",
    "timeliness",
    "returned_at",
    "ended_at",
    "ticket_id",
    "created_at",
    "updated_at",
    "limit_cutoff",
    "import_job",
)
_COLS = ", ".join(COLUMNS)
PENDING = "(SELECT job FROM import_pending)"


def shown(alias: str) -> str:
    """The condition that keeps a row of `alias` (a dossier, event or notification)
    whose job, if any, is published."""
    return f"({alias}.import_job IS NULL OR {alias}.import_job NOT IN {PENDING})"


#: The dossiers readers see, as a subquery to use in place of the ``dossier`` table.
DOSSIERS = f"""(SELECT {_COLS} FROM dossier WHERE {shown("dossier")}
    UNION ALL
    SELECT {_COLS} FROM dossier_before WHERE import_job IN {PENDING})"""


def m0014_import_publish(db: Utils) -> None:
    for table in ("dossier", "dossier_event", "notification"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN import_job TEXT")
    db.execute("CREATE TABLE import_pending (job TEXT PRIMARY KEY)")
    db.execute(
        """CREATE TABLE dossier_before (
            id INTEGER NOT NULL,
            code TEXT NOT NULL,
            procedure TEXT,
            department TEXT NOT NULL,
            applicant TEXT NOT NULL,
            phone TEXT,
            channel TEXT NOT NULL,
            status TEXT NOT NULL,
            status_at TEXT NOT NULL,
            received_at TEXT,
            limit_days REAL,
            limit_hours REAL,
            due_at TEXT,
            promised_at TEXT,
            pauses TEXT NOT NULL,
            missing TEXT,
            reason TEXT,
            finished_at TEXT,
            timeliness TEXT,
            returned_at TEXT,
            ended_at TEXT,
            ticket_id INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            limit_cutoff TEXT,
            import_job TEXT NOT NULL,
            PRIMARY KEY (import_job, id)
        )"""
    )
    db.execute("CREATE INDEX dossier_before_code ON dossier_before (code)")
    # An unfinished job's rows are found by their tag (to undo them).
    db.execute(
        "CREATE INDEX dossier_import_job ON dossier (import_job) WHERE import_job IS NOT NULL"
    )
    # (the report's covering indexes get the tag too: dossier_stats, 0014_import_publish_reports)


#: The same on PostgreSQL (after its baseline, see ``migrations``).
_PG_0014 = """
ALTER TABLE dossier ADD COLUMN import_job TEXT;
ALTER TABLE dossier_event ADD COLUMN import_job TEXT;
ALTER TABLE notification ADD COLUMN import_job TEXT;
CREATE TABLE import_pending (job TEXT PRIMARY KEY);
CREATE TABLE dossier_before (
    id BIGINT NOT NULL,
    code TEXT NOT NULL,
    procedure TEXT,
    department TEXT NOT NULL,
    applicant TEXT NOT NULL,
    phone TEXT,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    status_at TEXT NOT NULL,
    received_at TEXT,
    limit_days DOUBLE PRECISION,
    limit_hours DOUBLE PRECISION,
    due_at TEXT,
    promised_at TEXT,
    pauses TEXT NOT NULL,
    missing TEXT,
    reason TEXT,
    finished_at TEXT,
    timeliness TEXT,
    returned_at TEXT,
    ended_at TEXT,
    ticket_id BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    limit_cutoff TEXT,
    import_job TEXT NOT NULL,
    PRIMARY KEY (import_job, id));
CREATE INDEX dossier_before_code ON dossier_before (code);
CREATE INDEX dossier_import_job ON dossier (import_job) WHERE import_job IS NOT NULL;
"""

MIGRATIONS: list[tuple[Any, ...]] = [("0014_import_publish", m0014_import_publish, _PG_0014)]


# --- a job's life ---------------------------------------------------------------------
def hold(conn: sqlite3.Connection, job: str) -> None:
    """From now on, the rows `job` writes stay hidden until it is published."""
    conn.execute("INSERT INTO import_pending (job) VALUES (?) ON CONFLICT (job) DO NOTHING", (job,))


def is_pending(conn: sqlite3.Connection, job: str | None) -> bool:
    if job is None:
        return False
    return conn.execute("SELECT 1 FROM import_pending WHERE job = ?", (job,)).fetchone() is not None


def touch(conn: sqlite3.Connection, job: str, dossier_id: int) -> None:
    """Before `job` changes a dossier, or adds to its timeline: keep the dossier's row
    as readers see it now (unless the job created it or kept it already), and tag it."""
    conn.execute(
        f"""INSERT INTO dossier_before ({_COLS})
            SELECT {", ".join(c if c != "import_job" else "?" for c in COLUMNS)}
            FROM dossier WHERE id = ? AND (import_job IS NULL OR import_job <> ?)
            ON CONFLICT (import_job, id) DO NOTHING""",
        (job, dossier_id, job),
    )
    conn.execute("UPDATE dossier SET import_job = ? WHERE id = ?", (job, dossier_id))


def publish(conn: sqlite3.Connection, job: str) -> None:
    """Make every row of `job` visible at once (in the caller's transaction)."""
    conn.execute("DELETE FROM import_pending WHERE job = ?", (job,))


def drop_former(conn: sqlite3.Connection, limit: int) -> int:
    """Delete up to `limit` former rows no reader needs any more (their job published
    or undone); returns how many."""
    cur = conn.execute(
        f"""DELETE FROM dossier_before WHERE (import_job, id) IN (
                SELECT import_job, id FROM dossier_before
                WHERE import_job NOT IN {PENDING} LIMIT ?)""",
        (limit,),
    )
    return int(cur.rowcount)


def undo(conn: sqlite3.Connection, job: str, limit: int) -> int:
    """Undo up to `limit` dossiers of a pending `job`: a touched dossier gets its former
    row back, a dossier the job created goes; either way with the timeline and SMS rows
    the job added.  Returns how many dossiers were undone (0: nothing left)."""
    former = conn.execute(
        f"SELECT {_COLS} FROM dossier_before WHERE import_job = ? LIMIT ?", (job, limit)
    ).fetchall()
    for row in former:
        values: dict[str, Any] = dict(row)
        values["import_job"] = None  # the former tag was no pending job's: shown alike
        _drop_added(conn, job, values["id"])
        sets = ", ".join(f"{c} = ?" for c in COLUMNS if c != "id")
        conn.execute(
            f"UPDATE dossier SET {sets} WHERE id = ?",
            [*(values[c] for c in COLUMNS if c != "id"), values["id"]],
        )
        conn.execute(
            "DELETE FROM dossier_before WHERE import_job = ? AND id = ?", (job, values["id"])
        )
    left = limit - len(former)
    created = (
        conn.execute("SELECT id FROM dossier WHERE import_job = ? LIMIT ?", (job, left)).fetchall()
        if left > 0
        else []
    )
    for (dossier_id,) in created:
        _drop_added(conn, job, dossier_id)
        conn.execute("DELETE FROM dossier WHERE id = ?", (dossier_id,))
    return len(former) + len(created)


def _drop_added(conn: sqlite3.Connection, job: str, dossier_id: int) -> None:
    conn.execute(
        "DELETE FROM notification WHERE dossier_id = ? AND import_job = ?", (dossier_id, job)
    )
    conn.execute(
        "DELETE FROM dossier_event WHERE dossier_id = ? AND import_job = ?", (dossier_id, job)
    )


def link_former(conn: sqlite3.Connection, dossier_id: int, ticket_id: int, at: str) -> None:
    """A ticket linked to a dossier a pending job holds: its former row gets the link
    too, so it shows now and survives the job's undoing."""
    conn.execute(
        "UPDATE dossier_before SET ticket_id = ?, updated_at = ? WHERE id = ?",
        (ticket_id, at, dossier_id),
    )


def pending_jobs(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT job FROM import_pending ORDER BY job")]
