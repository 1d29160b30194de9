"""SQL for dossiers (hồ sơ): departments, procedures, dossiers, their timeline, links to
queue tickets and departments' API keys.

Lookup by code is the hot path (a citizen at the touchscreen, p99 ≤ 10 ms with a million
rows): ``dossier.code`` is UNIQUE, so it is one index probe, and the timeline is read
through the ``(dossier_id, event_key)`` unique index.  Everything else here is written
for clarity first; the statistics live in ``store.dossier_stats``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlite_utils import Database as Utils

from .import_publish import DOSSIERS, shown


def m0003_dossiers(db: Utils) -> None:
    db.execute(
        """CREATE TABLE department (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            place TEXT,
            contact TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE procedure (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            department TEXT NOT NULL REFERENCES department(code),
            limit_days REAL,
            limit_hours REAL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX procedure_department ON procedure (department)")
    db.execute(
        """CREATE TABLE dossier (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            procedure TEXT REFERENCES procedure(code),
            department TEXT NOT NULL REFERENCES department(code),
            applicant TEXT NOT NULL DEFAULT '',
            phone TEXT,
            channel TEXT NOT NULL,
            status TEXT NOT NULL,
            status_at TEXT NOT NULL,
            received_at TEXT,
            limit_days REAL,
            limit_hours REAL,
            due_at TEXT,
            promised_at TEXT,
            pauses TEXT NOT NULL DEFAULT '[]',
            missing TEXT,
            reason TEXT,
            finished_at TEXT,
            timeliness TEXT,
            returned_at TEXT,
            ended_at TEXT,
            ticket_id INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX dossier_received ON dossier (received_at)")
    db.execute("CREATE INDEX dossier_finished ON dossier (finished_at)")
    db.execute("CREATE INDEX dossier_watch ON dossier (department, status, status_at)")
    db.execute("CREATE INDEX dossier_status_due ON dossier (status, due_at)")
    db.execute("CREATE INDEX dossier_by_ticket ON dossier (ticket_id)")
    db.execute(
        """CREATE TABLE dossier_event (
            id INTEGER PRIMARY KEY,
            dossier_id INTEGER NOT NULL REFERENCES dossier(id),
            kind TEXT NOT NULL,
            from_status TEXT,
            status TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT,
            actor TEXT NOT NULL,
            source TEXT NOT NULL,
            new_due_at TEXT,
            missing TEXT,
            reason TEXT,
            event_key TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (dossier_id, event_key)
        )"""
    )
    db.execute(
        """CREATE TABLE dossier_ticket (
            code TEXT NOT NULL,
            ticket_id INTEGER NOT NULL,
            actor TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (code, ticket_id)
        )"""
    )
    db.execute("CREATE INDEX dossier_ticket_ticket ON dossier_ticket (ticket_id)")
    db.execute(
        """CREATE TABLE notification (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            dossier_id INTEGER REFERENCES dossier(id),
            event_id INTEGER REFERENCES dossier_event(id),
            phone TEXT NOT NULL,
            text TEXT NOT NULL,
            text_ascii TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            error TEXT,
            event_key TEXT NOT NULL UNIQUE,
            claimed_by TEXT,
            claimed_at TEXT,
            provider_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT
        )"""
    )
    db.execute("CREATE INDEX notification_due ON notification (status, next_attempt_at)")
    db.execute("CREATE INDEX notification_dossier ON notification (dossier_id)")
    db.execute(
        """CREATE TABLE api_key (
            id INTEGER PRIMARY KEY,
            department TEXT NOT NULL REFERENCES department(code),
            scopes TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            note TEXT,
            created_at TEXT NOT NULL,
            last_used TEXT,
            revoked_at TEXT
        )"""
    )


def m0013_calendar_cutoff(db: Utils) -> None:
    """A procedure's same-day cut-off ("HH:MM", e.g. chứng thực: received before 15:00,
    returned the same day), copied on each dossier like its limit."""
    db.execute("ALTER TABLE procedure ADD COLUMN cutoff TEXT")
    db.execute("ALTER TABLE dossier ADD COLUMN limit_cutoff TEXT")


MIGRATIONS = [
    ("0003_dossiers", m0003_dossiers),
    ("0013_calendar_cutoff", m0013_calendar_cutoff),
]

#: Columns a caller may set on a dossier row (everything but id and code).
DOSSIER_FIELDS = (
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
    "limit_cutoff",
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
    "import_job",
)


def _dossier(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    d = dict(row)
    d["pauses"] = json.loads(d["pauses"])
    return d


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "pauses" in out:
        out["pauses"] = json.dumps(out["pauses"])
    unknown = set(out) - set(DOSSIER_FIELDS)
    if unknown:
        raise ValueError(f"unknown dossier columns: {sorted(unknown)}")
    return out


# --- departments and procedures --------------------------------------------------------
def department(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM department WHERE code = ?", (code,)).fetchone()
    return dict(row) if row else None


def departments(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("SELECT * FROM department ORDER BY name")]


def upsert_department(conn: sqlite3.Connection, d: dict[str, Any]) -> None:
    """Insert or update; a field given as None keeps its stored value."""
    conn.execute(
        """INSERT INTO department (code, name, place, contact, created_at)
           VALUES (:code, :name, :place, :contact, :created_at)
           ON CONFLICT (code) DO UPDATE SET
             name = COALESCE(excluded.name, department.name),
             place = COALESCE(excluded.place, department.place),
             contact = COALESCE(excluded.contact, department.contact)""",
        {"place": None, "contact": None, **d},
    )


def procedure(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM procedure WHERE code = ?", (code,)).fetchone()
    return dict(row) if row else None


def procedures(conn: sqlite3.Connection, department: str | None = None) -> list[dict[str, Any]]:
    if department is None:
        rows = conn.execute("SELECT * FROM procedure ORDER BY code")
    else:
        rows = conn.execute(
            "SELECT * FROM procedure WHERE department = ? ORDER BY code", (department,)
        )
    return [dict(r) for r in rows]


def upsert_procedure(conn: sqlite3.Connection, p: dict[str, Any]) -> None:
    conn.execute(
        """INSERT INTO procedure
             (code, name, department, limit_days, limit_hours, cutoff, created_at)
           VALUES (:code, :name, :department, :limit_days, :limit_hours, :cutoff, :created_at)
           ON CONFLICT (code) DO UPDATE SET
             name = excluded.name,
             department = excluded.department,
             limit_days = COALESCE(excluded.limit_days, procedure.limit_days),
             limit_hours = COALESCE(excluded.limit_hours, procedure.limit_hours),
             cutoff = COALESCE(excluded.cutoff, procedure.cutoff)""",
        {"limit_days": None, "limit_hours": None, "cutoff": None, **p},
    )


# --- dossiers ---------------------------------------------------------------------------
def dossier_by_code(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    """The dossier's row as stored, for a writer (a pending import's change included:
    the writer checks ``import_job``); readers use ``dossier_for_lookup``."""
    return _dossier(conn.execute("SELECT * FROM dossier WHERE code = ?", (code,)).fetchone())


def dossier_for_lookup(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    """One dossier with its procedure's and department's names (the lookup screen), as
    readers see it (a pending import's change not yet: ``import_publish``)."""
    row = conn.execute(
        f"""SELECT d.*, p.name AS procedure_name, dep.name AS department_name,
                  dep.place AS department_place, dep.contact AS department_contact
           FROM {DOSSIERS} d
           LEFT JOIN procedure p ON p.code = d.procedure
           LEFT JOIN department dep ON dep.code = d.department
           WHERE d.code = ?""",
        (code,),
    ).fetchone()
    return _dossier(row)


def insert_dossier(conn: sqlite3.Connection, code: str, fields: dict[str, Any]) -> int:
    values = _encode(fields)
    cols = ["code", *values]
    cur = conn.execute(
        f"INSERT INTO dossier ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) RETURNING id",
        [code, *values.values()],
    )
    return int(cur.fetchone()[0])


def update_dossier(conn: sqlite3.Connection, dossier_id: int, fields: dict[str, Any]) -> None:
    if not fields:
        return
    values = _encode(fields)
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.execute(f"UPDATE dossier SET {sets} WHERE id = ?", [*values.values(), dossier_id])


def count_dossiers(conn: sqlite3.Connection) -> int:
    return int(conn.execute(f"SELECT COUNT(*) AS n FROM {DOSSIERS} d").fetchone()["n"])


def first_code_with_status(
    conn: sqlite3.Connection, status: str, not_departments: tuple[str, ...] = ()
) -> tuple[str, str] | None:
    """(code, department) of the first dossier in ``status``, preferring one of a
    department not among ``not_departments`` (demo samples that show different things)."""
    marks = ", ".join("?" for _ in not_departments) or "NULL"
    row = conn.execute(
        f"""SELECT code, department FROM {DOSSIERS} d WHERE status = ?
            ORDER BY CASE WHEN department IN ({marks}) THEN 1 ELSE 0 END, code LIMIT 1""",
        (status, *not_departments),
    ).fetchone()
    return (str(row["code"]), str(row["department"])) if row else None


def dossiers_for_ticket(conn: sqlite3.Connection, ticket_id: int) -> list[str]:
    """Codes linked to a queue ticket (known dossiers and codes still waiting for one)."""
    rows = conn.execute(
        "SELECT code FROM dossier_ticket WHERE ticket_id = ? ORDER BY code", (ticket_id,)
    )
    return [r["code"] for r in rows]


def add_ticket_link(
    conn: sqlite3.Connection, code: str, ticket_id: int, actor: str | None, at: str
) -> None:
    conn.execute(
        """INSERT INTO dossier_ticket (code, ticket_id, actor, at) VALUES (?, ?, ?, ?)
           ON CONFLICT (code, ticket_id) DO NOTHING""",
        (code, ticket_id, actor, at),
    )


def tickets_for_code(conn: sqlite3.Connection, code: str) -> list[int]:
    rows = conn.execute(
        "SELECT ticket_id FROM dossier_ticket WHERE code = ? ORDER BY at, ticket_id", (code,)
    )
    return [int(r["ticket_id"]) for r in rows]


def latest_ticket_link(conn: sqlite3.Connection, code: str) -> int | None:
    row = conn.execute(
        "SELECT ticket_id FROM dossier_ticket WHERE code = ? ORDER BY at DESC, ticket_id DESC",
        (code,),
    ).fetchone()
    return int(row["ticket_id"]) if row else None


def ticket_exists(conn: sqlite3.Connection, ticket_id: int) -> bool:
    return conn.execute("SELECT 1 FROM ticket WHERE id = ?", (ticket_id,)).fetchone() is not None


# --- timeline ---------------------------------------------------------------------------
def event_by_key(conn: sqlite3.Connection, dossier_id: int, key: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM dossier_event WHERE dossier_id = ? AND event_key = ?", (dossier_id, key)
    ).fetchone()
    return dict(row) if row else None


def insert_event(conn: sqlite3.Connection, e: dict[str, Any]) -> int:
    cols = list(e)
    cur = conn.execute(
        f"INSERT INTO dossier_event ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) RETURNING id",
        list(e.values()),
    )
    return int(cur.fetchone()[0])


def events(conn: sqlite3.Connection, dossier_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT * FROM dossier_event e WHERE dossier_id = ? AND {shown('e')} ORDER BY at, id",
        (dossier_id,),
    )
    return [dict(r) for r in rows]
