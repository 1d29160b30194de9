"""SQL behind the dossier flags a supervisor must see (issue 16): late without a timely
apology, and repeated supplement requests.

Both read only the timeline rows that matter — delays and supplement requests — through
partial indexes (migration 0012_dossier_flag_indexes), so a year of a center's events
is never scanned.  A query must keep the literal term that implies the index's
condition (``kind = 'delay'``, ``status = 'supplement_requested'``): with a bound
parameter in its place SQLite cannot use a partial index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database as Utils

from .dossiers import _dossier
from .import_publish import DOSSIERS, shown

#: A supplement request on the timeline: the move into the status, or a new list of
#: what is missing while the dossier waits in it.
REQUEST = (
    "e.status = 'supplement_requested' "
    "AND (e.kind = 'status' OR (e.kind = 'note' AND e.missing IS NOT NULL))"
)


def m0012_dossier_flag_indexes(db: Utils) -> None:
    db.execute(
        """CREATE INDEX dossier_event_delay ON dossier_event (dossier_id, id)
           WHERE kind = 'delay'"""
    )
    db.execute(
        """CREATE INDEX dossier_event_supplement ON dossier_event (dossier_id, id)
           WHERE status = 'supplement_requested'"""
    )
    db.execute(
        """CREATE INDEX dossier_event_supplement_at ON dossier_event (at, dossier_id)
           WHERE status = 'supplement_requested'"""
    )


MIGRATIONS = [("0012_dossier_flag_indexes", m0012_dossier_flag_indexes)]


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def delays(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each dossier's delays (apologies with a new date), oldest first."""
    out: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"""SELECT dossier_id, at, created_at, source, new_due_at FROM dossier_event e
                WHERE kind = 'delay' AND dossier_id IN ({marks}) AND {shown("e")}
                ORDER BY dossier_id, id""",
            list(chunk),
        )
        for r in rows:
            out.setdefault(r["dossier_id"], []).append(dict(r))
    return out


def supplement_requests(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, int]:
    """How many supplement requests each dossier had (dossiers with none left out)."""
    out: dict[int, int] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"""SELECT e.dossier_id, COUNT(*) FROM dossier_event e
                WHERE {REQUEST} AND e.dossier_id IN ({marks}) AND {shown("e")}
                GROUP BY e.dossier_id""",
            list(chunk),
        )
        out.update({int(i): int(n) for i, n in rows})
    return out


def late_with_delays(conn: sqlite3.Connection, start: str, end: str) -> list[dict[str, Any]]:
    """Dossiers resolved late in [start, end) that have a delay (an apology) on their
    timeline: id, department, procedure, due, finish.  Late ones without any delay need
    no reading — none of them had an apology."""
    rows = conn.execute(
        f"""SELECT id, department, COALESCE(procedure, '') AS procedure, due_at, finished_at
           FROM {DOSSIERS} d
           WHERE id IN (SELECT dossier_id FROM dossier_event e
                        WHERE kind = 'delay' AND {shown("e")})
             AND finished_at >= ? AND finished_at < ? AND timeliness = 'late'""",
        (start, end),
    )
    return [dict(r) for r in rows]


def repeated_supplements(
    conn: sqlite3.Connection, start: str, end: str
) -> list[tuple[str, str, int]]:
    """(department, procedure or '', dossiers): dossiers asked for a supplement again
    in [start, end) — a request in the range with an earlier one before it."""
    return conn.execute(
        f"""SELECT d.department, COALESCE(d.procedure, ''), COUNT(DISTINCT e.dossier_id)
            FROM dossier_event e JOIN {DOSSIERS} d ON d.id = e.dossier_id
            WHERE {REQUEST} AND e.at >= ? AND e.at < ? AND {shown("e")}
              AND EXISTS (SELECT 1 FROM dossier_event p
                          WHERE p.status = 'supplement_requested' AND p.dossier_id = e.dossier_id
                            AND p.id < e.id AND {shown("p")}
                            AND (p.kind = 'status' OR (p.kind = 'note' AND p.missing IS NOT NULL)))
            GROUP BY d.department, d.procedure""",
        (start, end),
    ).fetchall()


def flag_candidates(
    conn: sqlite3.Connection,
    *,
    active: Sequence[str],
    department: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Dossiers a flag may apply to whatever their dates: active ones with a delay or
    two supplement requests, and results ready after their due date (not yet returned)."""
    marks = ", ".join("?" for _ in active)
    sql = f"""SELECT d.*, p.name AS procedure_name, dep.name AS department_name
              FROM {DOSSIERS} d
              LEFT JOIN procedure p ON p.code = d.procedure
              LEFT JOIN department dep ON dep.code = d.department
              WHERE d.id IN (
                  SELECT dossier_id FROM dossier_event x WHERE kind = 'delay' AND {shown("x")}
                  UNION
                  SELECT e.dossier_id FROM dossier_event e WHERE {REQUEST} AND {shown("e")}
                  GROUP BY e.dossier_id HAVING COUNT(*) >= 2)
                AND d.status IN ({marks})
              UNION
              SELECT d.*, p.name, dep.name FROM {DOSSIERS} d
              LEFT JOIN procedure p ON p.code = d.procedure
              LEFT JOIN department dep ON dep.code = d.department
              WHERE d.status = 'resolved' AND d.timeliness = 'late'"""
    args: list[Any] = list(active)
    outer = f"SELECT * FROM ({sql}) AS flagged"
    if department is not None:
        outer += " WHERE department = ?"
        args.append(department)
    outer += " ORDER BY COALESCE(promised_at, due_at), status_at LIMIT ?"
    args.append(limit)
    return [_d for r in conn.execute(outer, args) if (_d := _dossier(r)) is not None]
