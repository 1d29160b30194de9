"""Importing departments' dossier files, and exporting the same format.

Each row runs in its own SAVEPOINT, so:
- ``all-or-nothing``: the file is one transaction; one bad row rolls everything back
  (nothing half-imported);
- ``skip-bad``: bad rows are rolled back alone and reported; the rest is committed, in
  chunks of CHUNK rows so the kiosks' writes never wait long behind a big file;
- a dry run does all the work in one transaction — same checks, same report — then
  rolls back.
Every rejected row is reported with its line and the reason, in the same words the API
uses.  Rows go through the same use case as ``PUT /dossiers/{code}`` (a sync: implied
steps are recorded, repeated rows change nothing), plus a delay when the row carries a
new return date the dossier does not have yet.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from server.clock import iso, parse_iso
from server.config import Config
from server.dossiers import tables
from server.dossiers.inputs import EventInput, dossier_fields, event_input, parse_when
from server.dossiers.service import apply_event, apply_put, day_end
from server.dossiers.state import Tx
from server.errors import BadRequest, MotcuaError
from server.store import Database
from server.store import dossier_stats as bulk
from server.store import dossiers as store

log = logging.getLogger(__name__)

POLICIES = ("all-or-nothing", "skip-bad")
#: Rows per transaction with the skip-bad policy (about a tenth of a second of work).
CHUNK = 500
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
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["rejected"] = [r.__dict__ for r in self.rejected]
        return out


class _Rollback(Exception):
    """Raised inside the write transaction to roll it back on purpose."""


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


def _one_row(
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
        report.rejected.append(Rejected(line, values.get("code"), message, code))
    else:
        report.accepted += 1
    tx.conn.execute("RELEASE import_row")


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
    pause: Callable[[], object] = lambda: None,
) -> ImportReport:
    """Import one file (CSV or XLSX); ``scope`` limits it to one department.

    ``pause`` is called between chunks and every 200 rows: under gevent the background
    job passes a zero sleep so the server keeps answering while a big file imports.
    """
    if policy not in POLICIES:
        raise BadRequest(f"policy: {' | '.join(POLICIES)}.", code="bad_policy")
    started = _time.perf_counter()
    table = tables.read_table(name, raw)
    report = ImportReport(name, table.format, table.encoding, policy, dry_run)
    report.ignored_columns = table.ignored
    missing = [c for c in ("code", "status") if c not in table.columns]
    if missing:
        raise BadRequest(
            f"Tệp thiếu cột bắt buộc: {', '.join(missing)}.",
            code="missing_columns",
            columns=missing,
        )
    report.rows = len(table.rows)
    # skip-bad commits every CHUNK rows, so the write lock (and ticket issuing at the
    # kiosks) waits at most one chunk; the other modes need one transaction to roll back.
    single = dry_run or policy == "all-or-nothing"
    chunk = max(1, report.rows) if single else CHUNK
    texts: dict[str, str] | None = None
    done = 0
    try:
        for first in range(0, report.rows, chunk):
            with db.write() as conn:
                tx = Tx(conn, cfg, now, actor, "import", notify=notify, texts=texts)
                for line, values in table.rows[first : first + chunk]:
                    _one_row(tx, line, values, scope, report)
                    done += 1
                    if progress is not None and (done % 200 == 0 or done == report.rows):
                        progress(done, report.rows)
                        pause()
                texts = tx.texts
                report.notifications += len(tx.queued)
                if single and (dry_run or report.rejected):
                    raise _Rollback
            pause()
    except _Rollback:
        report.committed = False
        report.notifications = 0
    else:
        report.committed = True
    report.seconds = round(_time.perf_counter() - started, 3)
    log.info(
        "import %s: %d rows, %d accepted, %d rejected, committed=%s (%.2f s)",
        name,
        report.rows,
        report.accepted,
        len(report.rejected),
        report.committed,
        report.seconds,
    )
    return report


# --- procedures catalog ---------------------------------------------------------------
def import_procedures(db: Database, name: str, raw: bytes, now: datetime) -> dict[str, int]:
    """Upsert departments and procedures (with time limits) from a CSV/XLSX catalog."""
    table = tables.read_table(name, raw)
    for column in ("department", "procedure", "procedure_name"):
        if column not in table.columns:
            raise BadRequest(f"Tệp thiếu cột bắt buộc: {column}.", code="missing_columns")
    deps: set[str] = set()
    count = 0
    from server.dossiers.inputs import clean_cutoff, clean_number, clean_text

    with db.write() as conn:
        for line, v in table.rows:
            dep = clean_text(v.get("department"), "department", 32)
            code = clean_text(v.get("procedure"), "procedure", 64)
            pname = clean_text(v.get("procedure_name"), "procedure_name", 500)
            if not dep or not code or not pname:
                raise BadRequest(
                    f"Dòng {line}: thiếu mã đơn vị, mã hoặc tên thủ tục.", code="bad_row"
                )
            dep, code = dep.upper(), code.upper()
            if dep not in deps:
                store.upsert_department(
                    conn,
                    {
                        "code": dep,
                        "name": clean_text(v.get("department_name"), "department_name", 300) or dep,
                        "place": clean_text(v.get("place"), "place", 300),
                        "contact": clean_text(v.get("contact"), "contact", 300),
                        "created_at": iso(now),
                    },
                )
                deps.add(dep)
            store.upsert_procedure(
                conn,
                {
                    "code": code,
                    "name": pname,
                    "department": dep,
                    "limit_days": clean_number(v.get("limit_days"), "limit_days"),
                    "limit_hours": clean_number(v.get("limit_hours"), "limit_hours"),
                    "cutoff": clean_cutoff(v.get("cutoff")),
                    "created_at": iso(now),
                },
            )
            count += 1
    return {"departments": len(deps), "procedures": count}


# --- export ---------------------------------------------------------------------------
def _local(cfg: Config, text: str | None) -> str | None:
    return parse_iso(text).astimezone(cfg.tz).isoformat(timespec="seconds") if text else None


def export_rows(
    db: Database,
    cfg: Config,
    *,
    department: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows in the import format (re-importing an export changes nothing)."""
    start = iso(datetime.combine(date_from, time(0), tzinfo=cfg.tz)) if date_from else None
    end = (
        iso(datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=cfg.tz))
        if date_to
        else None
    )
    with db.read() as conn:
        batch: list[dict[str, Any]] = []
        rows = bulk.export_rows(
            conn, department=department, received_from=start, received_before=end
        )
        for d in rows:
            batch.append(d)
            if len(batch) == 500:
                yield from _export_batch(conn, cfg, batch)
                batch = []
        yield from _export_batch(conn, cfg, batch)


def _export_batch(conn, cfg: Config, batch: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    ids = [d["id"] for d in batch]
    notes = bulk.last_notes(conn, ids)
    delays = bulk.last_delay_reasons(conn, [d["id"] for d in batch if d["promised_at"]])
    for d in batch:
        yield {
            "code": d["code"],
            "procedure": d["procedure"],
            "procedure_name": d["procedure_name"],
            "department": d["department"],
            "applicant": d["applicant"],
            "phone": d["phone"],
            "channel": d["channel"],
            "received_at": _local(cfg, d["received_at"]),
            "due_at": _local(cfg, d["due_at"]),
            "status": d["status"],
            "status_at": _local(cfg, d["status_at"]),
            "note": notes.get(d["id"]),
            "missing": d["missing"],
            "reason": d["reason"] or delays.get(d["id"]),
            "new_due_at": _local(cfg, d["promised_at"]),
        }
