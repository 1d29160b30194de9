"""Bulk reads of dossiers: the statistics behind reports (counts only, by range), the
supervisors' watch list and the export.

Each query reads one index range (``dossier_received``, ``dossier_finished``) so a
month over a year of a center's dossiers stays far below the 500 ms report budget.
``group`` is one of the fixed expressions in ``GROUPS`` (never user text).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from .dossiers import _dossier

GROUPS = {None: "''", "department": "department", "procedure": "COALESCE(procedure, '')"}
PAUSED = ("supplement_requested", "fees_due")


def _group(group: str | None) -> str:
    if group not in GROUPS:
        raise ValueError(f"unknown grouping {group!r}")
    return GROUPS[group]


def received(conn: sqlite3.Connection, start: str, end: str, group: str | None) -> list[Any]:
    g = _group(group)
    return conn.execute(
        f"""SELECT {g} AS k, channel, COUNT(*) AS n FROM dossier
            WHERE received_at >= ? AND received_at < ? GROUP BY k, channel""",
        (start, end),
    ).fetchall()


def resolved(conn: sqlite3.Connection, start: str, end: str, group: str | None) -> list[Any]:
    g = _group(group)
    return conn.execute(
        f"""SELECT {g} AS k, COALESCE(timeliness, 'no_due') AS timeliness, COUNT(*) AS n
            FROM dossier WHERE finished_at >= ? AND finished_at < ? GROUP BY k, timeliness""",
        (start, end),
    ).fetchall()


def open_at(conn: sqlite3.Connection, end: str, due_cutoff: str, group: str | None) -> list[Any]:
    """Dossiers received before ``end`` and neither resolved nor closed by then; overdue
    when their legal due date passed before ``due_cutoff`` while the clock ran (a dossier
    waiting for the citizen since before ``end`` is not overdue)."""
    g = _group(group)
    return conn.execute(
        f"""SELECT {g} AS k, COUNT(*) AS n,
                   SUM(CASE WHEN due_at IS NOT NULL AND due_at < ?
                             AND NOT (status IN (?, ?) AND status_at < ?)
                       THEN 1 ELSE 0 END) AS overdue
            FROM dossier
            WHERE received_at < ?
              AND (finished_at IS NULL OR finished_at >= ?)
              AND (ended_at IS NULL OR ended_at >= ?)
            GROUP BY k""",
        (due_cutoff, *PAUSED, end, end, end, end),
    ).fetchall()


def names(conn: sqlite3.Connection, group: str | None) -> dict[str, str]:
    if group == "department":
        return {r["code"]: r["name"] for r in conn.execute("SELECT code, name FROM department")}
    if group == "procedure":
        return {r["code"]: r["name"] for r in conn.execute("SELECT code, name FROM procedure")}
    return {}


ACTIVE_STATUSES = ("registered", "received", "in_progress", "supplement_requested", "fees_due")


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
              FROM dossier d
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
    sql = """SELECT d.*, p.name AS procedure_name FROM dossier d
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
                  AND id = (SELECT MAX(id) FROM dossier_event WHERE dossier_id = e.dossier_id)""",
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
            f"""SELECT dossier_id, reason FROM dossier_event
                WHERE kind = 'delay' AND dossier_id IN ({marks}) ORDER BY id""",
            chunk,
        )
        out.update({r["dossier_id"]: r["reason"] for r in rows})
    return out
