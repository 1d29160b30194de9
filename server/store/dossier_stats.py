"""Bulk reads of dossiers: the statistics behind reports (counts only, by range), the
supervisors' watch list and the export.

The statistics read covering indexes only (``dossier_received_report``,
``dossier_finished_report``, ``dossier_open_until``), never the wide dossier rows, and
count per (department, procedure); the domain adds those up into whatever grouping the
report asks for — so a year of a center's dossiers (~90,000) stays far within the
500 ms report budget.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database as Utils

from .dialect import indexed_by
from .dossiers import _dossier
from .import_publish import DOSSIERS, PENDING, shown

GROUPS = ("department", "procedure")
PAUSED = ("supplement_requested", "fees_due")
#: The instant a dossier stopped being open: resolved or closed, whichever came first
#: ('9999' while open).  Written the same in the index and in open_at, so SQLite uses it.
OPEN_UNTIL = "min(coalesce(finished_at, '9999'), coalesce(ended_at, '9999'))"

#: (department, procedure or '', {value: count}) — counts of one column's values.
Split = list[tuple[str, str, dict[str, int]]]


def m0003_dossiers_report_indexes(db: Utils) -> None:
    """Covering indexes for the dossier report, in (department, procedure) order: a
    year is ~90,000 dossiers, and reading their rows one by one through a one-column
    index, then sorting them into groups, took most of a second; one pass over these
    indexes comes out already grouped."""
    db.execute(
        """CREATE INDEX dossier_received_report
           ON dossier (department, procedure, received_at, channel)"""
    )
    db.execute(
        """CREATE INDEX dossier_finished_report
           ON dossier (department, procedure, finished_at, timeliness)"""
    )
    db.execute(
        f"""CREATE INDEX dossier_open_until ON dossier ({OPEN_UNTIL}, received_at, department,
            procedure, due_at, status, status_at)"""
    )


def m0014_import_publish_reports(db: Utils) -> None:
    """The same indexes, with the import tag last (``store.import_publish``): counting
    only what readers may see still reads the indexes alone."""
    for name in ("dossier_received_report", "dossier_finished_report", "dossier_open_until"):
        db.execute(f"DROP INDEX {name}")
    db.execute(
        """CREATE INDEX dossier_received_report
           ON dossier (department, procedure, received_at, channel, import_job)"""
    )
    db.execute(
        """CREATE INDEX dossier_finished_report
           ON dossier (department, procedure, finished_at, timeliness, import_job)"""
    )
    db.execute(
        f"""CREATE INDEX dossier_open_until ON dossier ({OPEN_UNTIL}, received_at, department,
            procedure, due_at, status, status_at, import_job)"""
    )


_PG_0014 = """
DROP INDEX dossier_received_report;
DROP INDEX dossier_finished_report;
DROP INDEX dossier_open_until;
CREATE INDEX dossier_received_report
    ON dossier (department, procedure, received_at, channel, import_job);
CREATE INDEX dossier_finished_report
    ON dossier (department, procedure, finished_at, timeliness, import_job);
CREATE INDEX dossier_open_until ON dossier (LEAST(coalesce(finished_at, '9999'),
    coalesce(ended_at, '9999')), received_at, department, procedure, due_at, status,
    status_at, import_job);
"""

MIGRATIONS: list[tuple[Any, ...]] = [
    ("0003_dossiers_report_indexes", m0003_dossiers_report_indexes),
    ("0014_import_publish_reports", m0014_import_publish_reports, _PG_0014),
]


def _split(
    conn: sqlite3.Connection,
    column: str,
    values: Sequence[str],
    index: str,
    where: str,
    args: list[Any],
) -> Split:
    """Per (department, procedure): how many rows have each of ``values`` in ``column``
    (NULL or any other value counts under '') — sums, not a GROUP BY on the column, so
    the groups come straight out of the index's order with no sort.  Dossiers a pending
    import touched count as they were before it (``import_publish``)."""
    sums = ", ".join(
        f"sum(CASE WHEN {column} = ? THEN 1 ELSE 0 END) AS s{i}" for i in range(len(values))
    )
    outer = ", ".join(f"sum(s{i})" for i in range(len(values)))
    rows = conn.execute(
        f"""SELECT department, COALESCE(procedure, ''), sum(n), {outer} FROM (
              SELECT department, procedure, count(*) AS n, {sums}
              FROM {indexed_by(conn, "dossier", index)} WHERE {where} AND {shown("dossier")}
              GROUP BY department, procedure
              UNION ALL
              SELECT department, procedure, count(*), {sums}
              FROM dossier_before WHERE {where} AND import_job IN {PENDING}
              GROUP BY department, procedure) AS t
            GROUP BY department, procedure""",
        [*values, *args, *values, *args],
    )
    out: Split = []
    for department, procedure, n, *counts in rows:
        split = {v: c for v, c in zip(values, counts, strict=True) if c}
        if rest := n - sum(counts):
            split[""] = rest
        out.append((department, procedure, split))
    return out


def received(conn: sqlite3.Connection, start: str, end: str, channels: Sequence[str]) -> Split:
    """Dossiers received in [start, end), by channel."""
    return _split(
        conn,
        "channel",
        channels,
        "dossier_received_report",
        "received_at >= ? AND received_at < ?",
        [start, end],
    )


def resolved(conn: sqlite3.Connection, start: str, end: str, kinds: Sequence[str]) -> Split:
    """Dossiers resolved in [start, end), by timeliness (NULL: no due date)."""
    return _split(
        conn,
        "timeliness",
        kinds,
        "dossier_finished_report",
        "finished_at >= ? AND finished_at < ?",
        [start, end],
    )


def open_at(conn: sqlite3.Connection, end: str, due_cutoff: str) -> list[tuple[str, str, int, int]]:
    """(department, procedure or '', open, overdue): dossiers received before ``end`` and
    neither resolved nor closed by then; overdue when their legal due date passed before
    ``due_cutoff`` while the clock ran (a dossier waiting for the citizen since before
    ``end`` is not overdue)."""
    overdue = """SUM(CASE WHEN due_at IS NOT NULL AND due_at < ?
                          AND NOT (status IN (?, ?) AND status_at < ?) THEN 1 ELSE 0 END)"""
    args = (due_cutoff, *PAUSED, end, end, end)
    return conn.execute(
        f"""SELECT department, COALESCE(procedure, ''), SUM(n), SUM(late) FROM (
              SELECT department, procedure, COUNT(*) AS n, {overdue} AS late
              FROM {indexed_by(conn, "dossier", "dossier_open_until")}
              WHERE {OPEN_UNTIL} >= ? AND received_at < ? AND {shown("dossier")}
              GROUP BY department, procedure
              UNION ALL
              SELECT department, procedure, COUNT(*), {overdue} FROM dossier_before
              WHERE {OPEN_UNTIL} >= ? AND received_at < ? AND import_job IN {PENDING}
              GROUP BY department, procedure) AS t
            GROUP BY department, procedure""",
        (*args, *args),
    ).fetchall()


def names(conn: sqlite3.Connection, group: str | None) -> dict[str, str]:
    if group == "department":
        return {r["code"]: r["name"] for r in conn.execute("SELECT code, name FROM department")}
    if group == "procedure":
        return {r["code"]: r["name"] for r in conn.execute("SELECT code, name FROM procedure")}
    return {}


ACTIVE_STATUSES = (
    "registered",
    "received",
    "in_progress",
    "supplement_requested",
    "fees_due",
    "transferred",
)


def watch_candidates(
    conn: sqlite3.Connection,
    *,
    stale_before: str,
    due_before: str,
    running: Iterable[str],
    department: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Active dossiers idle since before ``stale_before`` or, while their clock runs, due
    before ``due_before`` (both UTC ISO); the domain decides which reason applies."""
    statuses = ", ".join("?" for _ in ACTIVE_STATUSES)
    run = list(running)
    run_marks = ", ".join("?" for _ in run)
    sql = f"""SELECT d.*, p.name AS procedure_name, dep.name AS department_name
              FROM {DOSSIERS} d
              LEFT JOIN procedure p ON p.code = d.procedure
              LEFT JOIN department dep ON dep.code = d.department
              WHERE d.status IN ({statuses})
                AND (d.status_at < ?
                     OR (d.status IN ({run_marks}) AND COALESCE(d.promised_at, d.due_at) < ?))"""
    args: list[Any] = [*ACTIVE_STATUSES, stale_before, *run, due_before]
    if department is not None:
        sql += " AND d.department = ?"
        args.append(department)
    sql += " ORDER BY COALESCE(d.promised_at, d.due_at), d.status_at LIMIT ?"
    args.append(limit)
    return [_d for r in conn.execute(sql, args) if (_d := _dossier(r)) is not None]


def export_rows(
    conn: sqlite3.Connection,
    *,
    department: str | None = None,
    received_from: str | None = None,
    received_before: str | None = None,
) -> Iterable[dict[str, Any]]:
    """Dossiers in code order, streamed (an export may hold a year of a center's work)."""
    sql = f"""SELECT d.*, p.name AS procedure_name FROM {DOSSIERS} d
              LEFT JOIN procedure p ON p.code = d.procedure WHERE 1 = 1"""
    args: list[Any] = []
    if department is not None:
        sql += " AND d.department = ?"
        args.append(department)
    if received_from is not None:
        sql += " AND d.received_at >= ?"
        args.append(received_from)
    if received_before is not None:
        sql += " AND d.received_at < ?"
        args.append(received_before)
    for row in conn.execute(sql + " ORDER BY d.code", args):
        d = _dossier(row)
        if d is not None:
            yield d


def last_notes(conn: sqlite3.Connection, dossier_ids: list[int]) -> dict[int, str | None]:
    """The note of each dossier's latest event (export keeps the department's last word)."""
    out: dict[int, str | None] = {}
    for start in range(0, len(dossier_ids), 500):
        chunk = dossier_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"""SELECT dossier_id, note FROM dossier_event e
                WHERE dossier_id IN ({marks})
                  AND id = (SELECT MAX(id) FROM dossier_event x
                            WHERE x.dossier_id = e.dossier_id AND {shown("x")})""",
            chunk,
        )
        out.update({r["dossier_id"]: r["note"] for r in rows})
    return out


def last_delay_reasons(conn: sqlite3.Connection, dossier_ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(dossier_ids), 500):
        chunk = dossier_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"""SELECT dossier_id, reason FROM dossier_event e
                WHERE kind = 'delay' AND dossier_id IN ({marks}) AND {shown("e")} ORDER BY id""",
            chunk,
        )
        out.update({r["dossier_id"]: r["reason"] for r in rows})
    return out
