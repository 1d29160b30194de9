"""Files that are not dossier rows: the procedures catalog (import) and the dossier
export, in the import's format (re-importing an export changes nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from server.clock import iso, parse_iso
from server.config import Config
from server.dossiers import tables
from server.dossiers.inputs import clean_cutoff, clean_number, clean_text
from server.errors import BadRequest
from server.store import Database
from server.store import dossier_stats as bulk
from server.store import dossiers as store


# --- procedures catalog ---------------------------------------------------------------
def import_procedures(db: Database, name: str, raw: bytes, now: datetime) -> dict[str, int]:
    """Upsert departments and procedures (with time limits) from a CSV/XLSX catalog."""
    table = tables.read_table(name, raw)
    for column in ("department", "procedure", "procedure_name"):
        if column not in table.columns:
            raise BadRequest(f"Tệp thiếu cột bắt buộc: {column}.", code="missing_columns")
    deps: set[str] = set()
    count = 0
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
            "result_at": _local(cfg, d["finished_at"]),
            "returned_at": _local(cfg, d["returned_at"]),
        }
