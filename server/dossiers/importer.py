"""Importing departments' dossier files: the rows, the report, and ``run_import``.

How a file is read, validated and applied lives in ``pipeline`` (one job, in a worker
process or thread, in short transactions); how a job is stored, started and resumed in
``jobs``.  The API upload, ``motcua import-dossiers`` and ``run_import`` all go through
a job, so they check and apply a file the same way:
- ``all-or-nothing``: every row is tried first; one bad row saves nothing;
- ``skip-bad``: bad rows are reported and left out; the rest is saved;
- a dry run tries every row, reports, and saves nothing.
Every rejected row is reported with its line and the reason, in the same words the API
uses.  Rows go through the same use case as ``PUT /dossiers/{code}`` (a sync: implied
steps are recorded, repeated rows change nothing), plus a delay when the row carries a
new return date the dossier does not have yet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from server.clock import iso
from server.config import Config
from server.dossiers.exchange import export_rows, import_procedures
from server.dossiers.inputs import EventInput, dossier_fields, event_input, parse_when
from server.dossiers.service import apply_event, apply_put, day_end
from server.dossiers.state import Tx
from server.errors import BadRequest, MotcuaError
from server.store import Database

__all__ = [
    "POLICIES",
    "ImportReport",
    "Rejected",
    "export_rows",
    "import_procedures",
    "one_row",
    "run_import",
]

POLICIES = ("all-or-nothing", "skip-bad")
Progress = Callable[[int, int], None]


@dataclass
class Rejected:
    line: int
    code: str | None
    reason: str
    error: str


@dataclass
class ImportReport:
    file: str
    format: str
    encoding: str | None
    policy: str
    dry_run: bool
    rows: int = 0
    accepted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events: int = 0
    notifications: int = 0
    committed: bool = False
    seconds: float = 0.0
    ignored_columns: list[str] = field(default_factory=list)
    #: The first rejected rows (a stored report keeps at most a thousand) …
    rejected: list[Rejected] = field(default_factory=list)
    #: … and how many there are in all.
    rejected_total: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["rejected"] = [r.__dict__ for r in self.rejected]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["rejected"] = [Rejected(**r) for r in data.get("rejected", [])]
        return cls(**values)


def _row(tx: Tx, values: dict[str, Any], scope: str | None, report: ImportReport) -> None:
    tz, end = tx.cfg.tz, day_end(tx.cfg)
    if not values.get("code"):
        raise BadRequest("Thiếu mã hồ sơ (code).", code="missing_field", field="code")
    if not values.get("status"):
        raise BadRequest("Thiếu trạng thái (status).", code="missing_field", field="status")
    fields = dossier_fields(values, tz, end)
    ev = event_input({k: v for k, v in values.items() if k != "new_due_at"}, tz, end)
    out = apply_put(tx, str(values["code"]), fields, ev, scope)
    new_due = parse_when(values.get("new_due_at"), tz, "new_due_at", day_end=end)
    if new_due is not None and iso(new_due) != out.dossier.get("promised_at"):
        delay = EventInput(
            kind="delay",
            at=ev.at if ev else None,
            reason=values.get("reason"),
            new_due_at=new_due,
        )
        later = apply_event(tx, out.dossier["code"], delay, scope)
        out.events += later.events
    report.created += out.created
    report.updated += (not out.created) and bool(out.events)
    report.unchanged += (not out.created) and not out.events
    report.events += len(out.events)


def one_row(
    tx: Tx, line: int, values: dict[str, Any], scope: str | None, report: ImportReport
) -> None:
    """One row in its own SAVEPOINT: a bad row is undone alone and reported."""
    tx.conn.execute("SAVEPOINT import_row")
    try:
        _row(tx, values, scope, report)
    except (MotcuaError, ValueError) as exc:
        tx.conn.execute("ROLLBACK TO import_row")
        message = exc.message if isinstance(exc, MotcuaError) else str(exc)
        code = exc.code if isinstance(exc, MotcuaError) else "bad_value"
        report.rejected_total += 1
        if len(report.rejected) < 1000:
            report.rejected.append(Rejected(line, _shown(values.get("code")), message, code))
    else:
        report.accepted += 1
    tx.conn.execute("RELEASE import_row")


def _shown(code: Any) -> str | None:
    return None if code is None else str(code)[:100]


def _private_folder() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="motcua-import-"))  # 0700


def run_import(
    db: Database,
    cfg: Config,
    name: str,
    raw: bytes,
    *,
    actor: str,
    now: datetime,
    policy: str = "all-or-nothing",
    dry_run: bool = False,
    scope: str | None = None,
    notify: bool = True,
    progress: Progress | None = None,
    data_dir: Path | None = None,
) -> ImportReport:
    """Import one file (CSV or XLSX) now, in this thread, as a job like any other (the
    file is kept in DATA/imports, the job resumable); ``scope`` limits it to one
    department.  Raises the file's refusal (missing columns, too many rows …).
    ``data_dir``: the data folder (by default the SQLite file's; on PostgreSQL without
    one, a private temporary folder — the job keeps the file's bytes in the database)."""
    from server.dossiers import jobs
    from server.store.dialect import is_pg

    if data_dir is None:
        data_dir = _private_folder() if is_pg(db) else db.path.parent
    job = jobs.create(
        db,
        cfg,
        data_dir,
        name,
        raw,
        actor=actor,
        now=now,
        policy=policy,
        dry_run=dry_run,
        scope=scope,
        notify=notify,
    )
    return jobs.run_here(db, cfg, job["id"], progress=progress)
