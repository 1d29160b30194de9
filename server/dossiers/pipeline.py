"""One dossier import job, from the stored file to the last committed row.  The API
upload, the CLI and ``run_import`` all run this, in a worker process or thread.

1. **reading**: the file is streamed (header first: a file without the required
   columns is refused before its body is read; rows and sizes capped, see ``sheets``)
   into the job's private staging file;
2. **validating**: the live tables those rows touch are copied into the staging file
   from one snapshot, and every row is applied there, in one transaction nobody else
   waits for — the same use case as ``PUT /dossiers/{code}``, so the report names every
   bad row with the API's words.  A dry run stops here; so does ``all-or-nothing`` when
   any row is bad (nothing saved).  ``skip-bad`` needs no trial: it goes on to apply;
3. **applying**: the rows go to the live database in short transactions (at most
   ``BATCH_ROWS`` rows and about ``BATCH_SECONDS`` each, then a pause as long as the
   batch), so a kiosk's ticket or a department's PUT waits a few milliseconds at most.
   Each batch commits with the job's journal (``applied``), so a runner that dies
   mid-apply is replaced (``jobs.resume``) and continues after the last committed row.
   A row that passed validation but fails now (the dossier changed meanwhile) is
   reported and skipped.  ``skip-bad`` is not tried aside first: applying refuses and
   reports its bad rows;
4. **publishing**: every row a job writes is tagged with it, and readers do not see it
   (``store.import_publish``): a dossier the job changes shows as it was, one it creates
   not at all, its timeline entries and SMS neither (SMS are not sent).  After the last
   batch, one short transaction publishes the whole job with its end: readers go from
   none of the file to all of it at once — under both policies, ``skip-bad`` too.  A
   job that fails, or is given up, while applying is undone (``undoing``: its rows
   removed, the dossiers it changed restored, in short batches, resumable) before it
   ends ``failed``: nothing of it is ever seen.  Meanwhile another sender's change to a
   dossier the job holds is refused with a 503 ``import_pending`` (retry): applied
   under the job, it would be lost or half-seen when the job lands.
While a file applies, readers see none of it; once it is published, all of it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time as _time
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from server.clock import iso, parse_iso
from server.config import Config
from server.datadir import DIR_MODE, write_private
from server.dossiers import importer, tables
from server.dossiers.codes import InvalidDossierCode, normalize_code
from server.dossiers.sheets import Limits
from server.dossiers.state import Tx
from server.errors import MotcuaError
from server.store import Database, import_publish
from server.store import imports as store

log = logging.getLogger(__name__)

#: Most rows, and about the most time, one live transaction takes (its commit skips
#: the fsync: the runner's connection is ``synchronous=NORMAL``, see ``Database``) …
BATCH_ROWS = 200
BATCH_SECONDS = 0.004
#: … and the least pause after it, for the writers waiting (they retry every ≤ 2 ms).
BATCH_GAP = 0.003
#: A runner's lease on its job, renewed by every batch (and every few seconds before).
LEASE_SECONDS = 60.0
STAGE_CHUNK = 2000
#: Dossiers one undoing transaction restores or removes, and former rows one clean-up
#: transaction deletes (each about as short as an applying batch).
UNDO_BATCH = 50
DROP_BATCH = 500
#: Rejected rows kept in the report (the count is always exact).
KEEP_REJECTED = 1000


class LeaseLost(Exception):
    """Another runner took the job over (this one was too slow to renew its lease)."""


# --- values in the staging file -------------------------------------------------------
def _encode(values: dict[str, Any]) -> str:
    def default(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"$dt": v.isoformat()}
        if isinstance(v, date):
            return {"$d": v.isoformat()}
        if isinstance(v, time):
            return str(v)
        return str(v)

    return json.dumps(values, default=default, ensure_ascii=False)


def _decode(text: str) -> dict[str, Any]:
    def hook(obj: dict[str, Any]) -> Any:
        if "$dt" in obj:
            return datetime.fromisoformat(obj["$dt"])
        if "$d" in obj:
            return date.fromisoformat(obj["$d"])
        return obj

    return json.loads(text, object_hook=hook)


def _code(values: dict[str, Any]) -> str | None:
    raw = values.get("code")
    try:
        return normalize_code(str(raw)) if raw not in (None, "") else None
    except (InvalidDossierCode, MotcuaError, ValueError):
        return None


class Runner:
    """Runs one job on its own connection to the live database."""

    def __init__(
        self,
        db: Database,
        cfg: Config,
        job_id: str,
        *,
        limits: Limits,
        sleep: Callable[[float], object] = _time.sleep,
        progress: Callable[[int, int], None] | None = None,
        workdir: Path | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        """``workdir``: where a runner on another host than the upload's keeps its copy
        of the file (from the database) and its staging file."""
        self.db, self.cfg, self.job_id, self.limits, self.sleep = db, cfg, job_id, limits, sleep
        self.progress = progress
        self.workdir, self.lease_seconds = workdir, lease_seconds
        self.file: Path | None = None
        self.copy: Path | None = None
        self._total = 0
        self.owner = f"{os.getpid()}:{secrets.token_hex(4)}"
        self._renewed = 0.0

    # --- the job row ------------------------------------------------------------------
    def _job(self) -> dict[str, Any]:
        with self.db.read() as conn:
            job = store.job(conn, self.job_id)
        if job is None:
            raise LeaseLost(self.job_id)
        return job

    def _save(self, conn, fields: dict[str, Any]) -> None:
        until = _time.time() + self.lease_seconds
        if not store.renew(conn, self.job_id, self.owner, until):
            raise LeaseLost(self.job_id)
        fields["updated_at"] = iso(datetime.now().astimezone())
        store.update_job(conn, self.job_id, fields)
        self._renewed = _time.monotonic()
        self._total = fields.get("total") or self._total
        if self.progress is not None and "processed" in fields and self._total:
            self.progress(fields["processed"], self._total)

    def _progress(self, fields: dict[str, Any], *, force: bool = False) -> None:
        if force or _time.monotonic() - self._renewed > 1.0:
            with self.db.write() as conn:
                self._save(conn, fields)

    def claim(self) -> bool:
        now = _time.time()
        with self.db.write() as conn:
            return store.claim(conn, self.job_id, self.owner, now, now + self.lease_seconds)

    # --- the file on this host ----------------------------------------------------------
    def _source(self, job: dict[str, Any]) -> Path:
        """The uploaded file: where the upload was stored, or — on another host (a
        ``motcua worker``) — a private copy, in ``workdir``, of the bytes the database
        keeps with the job (written whole, then renamed: never read half-written)."""
        path = Path(job["path"])
        if path.exists() or self.workdir is None:
            return path
        with self.db.read() as conn:
            raw = store.upload(conn, self.job_id)
        if raw is None:
            return path  # reading it fails as a lost file does
        self.workdir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        copy = self.workdir / path.name
        part = copy.with_name(copy.name + ".part")
        write_private(part, raw)
        os.replace(part, copy)
        self.copy = copy
        return copy

    def drop_copy(self) -> None:
        """Remove this host's copy of the file (the database keeps the bytes)."""
        if self.copy is not None:
            self.copy.unlink(missing_ok=True)

    def _restage(self, job: dict[str, Any], stage_path: Path) -> None:
        """A runner on another host died mid-apply and its staging file is there: read the
        file again here (the same rows, numbered the same), keeping the phase and the
        journal, so applying goes on after the last committed row."""
        fd = os.open(stage_path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        os.close(fd)
        conn = store.open_stage(stage_path)
        try:
            self._stage(job, conn, phase="applying")
        finally:
            conn.close()

    # --- the whole job ----------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run (or resume) the job to its end; returns the job row as it ends."""
        job = self._job()
        self.file = self._source(job)
        stage_path = Path(f"{self.file}.stage")
        try:
            if job["phase"] == "undoing":  # a runner died while undoing a failed job
                self._fail(job["error"])
                return self._job()
            if job["phase"] == "applying" and not stage_path.exists():
                self._restage(job, stage_path)
            if job["phase"] != "applying":
                report = self._validate(job, stage_path)
                job = self._job()
                if report is None:
                    return job
            self._apply(job, stage_path)
        except LeaseLost:
            log.warning("import %s: another runner took the job over", self.job_id)
            return self._job()
        except MotcuaError as exc:
            self._fail({"code": exc.code, "message": exc.message, "status": exc.status})
        except OSError as exc:
            log.exception("import %s failed", self.job_id)
            self._fail({"code": "io_error", "message": str(exc), "status": 500})
        stage_path.unlink(missing_ok=True)
        job = self._job()
        if job["status"] == "done":
            drop_former(self.db, self.sleep)  # now no reader needs them
        return job

    def _fail(self, error: dict[str, Any]) -> None:
        """End the job failed; what it applied is undone first, never seen."""
        with self.db.write() as conn:
            held = import_publish.is_pending(conn, self.job_id)
            if held:
                self._save(conn, {"phase": "undoing", "error": error})
        if held:
            undo(self.db, self.job_id, self.sleep, renew=self._renew)
        self._finish(error=error)

    def _renew(self, conn) -> None:
        self._save(conn, {})

    def _finish(self, *, report: dict[str, Any] | None = None, error: Any = None) -> None:
        fields: dict[str, Any] = {
            "status": "failed" if error else "done",
            "phase": "failed" if error else "done",
            "finished_at": iso(datetime.now().astimezone()),
            "lease_owner": None,
        }
        if report is not None:
            fields["report"] = report
        if error is not None:
            fields["error"] = error
        with self.db.write() as conn:
            self._save(conn, fields)
            # A finished job hides nothing: after applying, this publishes all of it at
            # once; after undoing, nothing of it is left to show.
            import_publish.publish(conn, self.job_id)

    # --- 1 and 2: read into the staging file, try every row there ---------------------
    def _stage(self, job: dict[str, Any], conn, *, phase: str = "reading") -> importer.ImportReport:
        path = self.file or Path(job["path"])
        with tables.open_table(path, self.limits) as table:
            table.require("code", "status")
            report = importer.ImportReport(
                job["file"], table.format, table.encoding, job["policy"], job["dry_run"]
            )
            report.ignored_columns = table.ignored
            batch: list[tuple[int, int, str | None, str]] = []
            seq = 0
            for line, values in table.rows:
                seq += 1
                batch.append((seq, line, _code(values), _encode(values)))
                if len(batch) >= STAGE_CHUNK:
                    store.stage_rows(conn, batch)
                    batch = []
                    self._progress({"phase": phase, "processed": seq})
            store.stage_rows(conn, batch)
        report.rows = seq
        return report

    def _validate(self, job: dict[str, Any], stage_path: Path) -> importer.ImportReport | None:
        started = _time.perf_counter()
        stage_path.unlink(missing_ok=True)
        fd = os.open(stage_path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.close(fd)
        conn = store.open_stage(stage_path)
        try:
            self._progress({"phase": "reading", "processed": 0}, force=True)
            report = self._stage(job, conn)
            skip: set[int] = set()
            if job["dry_run"] or job["policy"] == "all-or-nothing":
                self._progress(
                    {"phase": "validating", "processed": 0, "total": report.rows}, force=True
                )
                store.build_scratch(self.db, conn)
                skip = self._try_all(job, conn, report)
            # skip-bad saves whatever is good: applying finds the bad rows itself
        finally:
            conn.close()
        report.seconds = round(_time.perf_counter() - started, 3)
        stop = job["dry_run"] or (job["policy"] == "all-or-nothing" and report.rejected)
        if stop:
            report.committed = False
            report.notifications = 0
            self._finish(report=_stored(report))
            log.info("import %s: %s", self.job_id, _summary(report))
            stage_path.unlink(missing_ok=True)
            return None
        # The count of what applying will do is counted again while it applies.
        applied_report = importer.ImportReport(
            job["file"], report.format, report.encoding, job["policy"], False
        )
        applied_report.rows = report.rows
        applied_report.ignored_columns = report.ignored_columns
        applied_report.rejected = list(report.rejected)
        applied_report.rejected_total = report.rejected_total
        applied_report.seconds = report.seconds
        with self.db.write() as live:
            import_publish.hold(live, self.job_id)  # what it writes stays hidden till the end
            self._save(
                live,
                {
                    "phase": "applying",
                    "processed": 0,
                    "total": report.rows,
                    "applied": 0,
                    "skip": sorted(skip),
                    "report": _stored(applied_report),
                },
            )
        return report

    def _try_all(self, job: dict[str, Any], conn, report: importer.ImportReport) -> set[int]:
        """Every staged row applied in the scratch copy (rolled back); the refused seqs."""
        skip: set[int] = set()
        now = parse_iso(job["now"])
        with store.rolled_back(conn):
            tx = Tx(conn, self.cfg, now, job["actor"], "import", notify=job["notify"])
            after = 0
            while rows := store.staged(conn, after, STAGE_CHUNK):
                for seq, line, data in rows:
                    before = report.rejected_total
                    importer.one_row(tx, line, _decode(data), job["scope"], report)
                    if report.rejected_total != before:
                        skip.add(seq)
                    after = seq
                self._progress({"processed": after})
            report.notifications = len(tx.queued)
        return skip

    # --- 3: apply to the live database in short, journaled batches --------------------
    def _apply(self, job: dict[str, Any], stage_path: Path) -> None:
        if not stage_path.exists():
            raise MotcuaError("Tệp tạm của lượt nhập đã mất; xin nhập lại tệp.", code="stage_lost")
        report = importer.ImportReport.from_dict(job["report"])
        self._total = job["total"] or 0
        skip = set(job["skip"])
        now = parse_iso(job["now"])
        started = _time.perf_counter()
        conn = store.open_stage(stage_path)
        texts: dict[str, str] | None = None
        queued = 0
        try:
            after = job["applied"]
            pending = store.staged(conn, after, BATCH_ROWS)
            while pending:
                begun = _time.perf_counter()
                with self.db.write() as live:
                    tx = Tx(
                        live,
                        self.cfg,
                        now,
                        job["actor"],
                        "import",
                        notify=job["notify"],
                        texts=texts,
                        job=self.job_id,
                    )
                    done = 0
                    for seq, line, data in pending:
                        if seq not in skip:
                            importer.one_row(tx, line, _decode(data), job["scope"], report)
                        after, done = seq, done + 1
                        if _time.perf_counter() - begun > BATCH_SECONDS:
                            break
                    texts = tx.texts
                    report.notifications += len(tx.queued)
                    queued += len(tx.queued)
                    self._save(
                        live, {"applied": after, "processed": after, "report": _stored(report)}
                    )
                spent = _time.perf_counter() - begun
                pending = pending[done:] or store.staged(conn, after, BATCH_ROWS)
                self.sleep(max(spent / 2, BATCH_GAP))  # others' writes go in between
        finally:
            conn.close()
        report.committed = True
        report.seconds = round(report.seconds + _time.perf_counter() - started, 3)
        self._finish(report=_stored(report))  # publishes the whole file at once
        log.info("import %s: %s", self.job_id, _summary(report))


def undo(
    db: Database,
    job_id: str,
    sleep: Callable[[float], object],
    *,
    renew: Callable[[Any], None] | None = None,
) -> int:
    """Undo what a pending job applied, in short transactions (``renew`` keeps a
    runner's lease in each); the job stays pending, so readers never see any of it.
    Returns how many dossiers were restored or removed."""
    undone = 0
    while True:
        begun = _time.perf_counter()
        with db.write() as conn:
            if renew is not None:
                renew(conn)
            n = import_publish.undo(conn, job_id, UNDO_BATCH)
        undone += n
        if n == 0:
            return undone
        sleep(max((_time.perf_counter() - begun) / 2, BATCH_GAP))


def drop_former(db: Database, sleep: Callable[[float], object]) -> None:
    """Delete the former rows of dossiers no pending job holds any more (published or
    undone jobs'), in short transactions; a runner that dies first leaves them to the
    next job's end, and readers never read them meanwhile."""
    while True:
        begun = _time.perf_counter()
        with db.write() as conn:
            n = import_publish.drop_former(conn, DROP_BATCH)
        if n < DROP_BATCH:
            return
        sleep(max((_time.perf_counter() - begun) / 2, BATCH_GAP))


def _stored(report: importer.ImportReport) -> dict[str, Any]:
    out = report.as_dict()
    out["rejected"] = out["rejected"][:KEEP_REJECTED]
    return out


def _summary(report: importer.ImportReport) -> str:
    return (
        f"{report.rows} rows, {report.accepted} accepted, {report.rejected_total} rejected, "
        f"committed={report.committed} ({report.seconds:.2f} s)"
    )
