"""Import jobs: the stored upload, the job row, and who runs it.

An upload is checked for what it may cost (size; an XLSX's ZIP directory) while the
request is answered, saved under DATA/imports with a sanitised name (never where the
browser says; the folder 0700, the file 0600) and recorded as a job row; the client
then polls the job.  The job runs in a **worker process** under gevent (parsing is CPU
work that would hold the one event loop, and a native thread would still hold the
GIL), niced so the hall's requests go first; in a **thread** otherwise (the threaded
test and dev servers).  At most ``MAX_RUNNING`` jobs run at once per server and at most
``MAX_OPEN`` wait.  A server that starts finds unfinished jobs and resumes them
(``Launcher.resume``): a job whose runner died mid-apply continues after its last
committed batch (see ``pipeline``).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import secrets
import subprocess
import sys
import threading
import time as _time
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from server.clock import iso
from server.config import Config
from server.datadir import DIR_MODE, write_private
from server.dossiers import settings as dsettings
from server.dossiers import sheets
from server.dossiers.importer import POLICIES, ImportReport, Progress
from server.dossiers.pipeline import LEASE_SECONDS, Runner, undo
from server.errors import BadRequest, MotcuaError, RateLimited
from server.notify.notices import strip_diacritics
from server.store import Database, import_publish
from server.store import imports as store
from server.store.db import DatabaseClosed
from server.store.dialect import is_pg

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Jobs not finished yet (waiting or running), over the whole database.
MAX_OPEN = 4
#: Jobs one server runs at once (a worker process each: the machine has 2 cores).
MAX_RUNNING = 1
#: Times a job is started before a runner that keeps dying fails it.
MAX_ATTEMPTS = 3
#: The columns of a job row a client sees.
PUBLIC = (
    "id",
    "file",
    "actor",
    "policy",
    "dry_run",
    "status",
    "phase",
    "processed",
    "total",
    "report",
    "error",
)


def safe_name(name: str | None) -> str:
    """A file name that is only [A-Za-z0-9._-], no leading dots, at most 80 characters:
    "../../Hồ sơ tháng 11.csv" → "Ho_so_thang_11.csv"."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    plain = strip_diacritics(unicodedata.normalize("NFC", base))
    cleaned = _UNSAFE.sub("_", plain).strip("._-")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot:
        stem, suffix = cleaned, ""
    stem = stem[:60] or "tep"
    return f"{stem}.{suffix.lower()[:8]}" if suffix else stem


def limits(cfg: Config) -> sheets.Limits:
    return dsettings.settings(cfg).import_limits


def store_upload(data_dir: Path, name: str | None, raw: bytes, now: datetime) -> Path:
    clean = safe_name(name)
    if not clean.lower().endswith(ALLOWED_SUFFIXES):
        raise BadRequest("Chỉ nhận tệp .csv hoặc .xlsx.", code="bad_file_type")
    folder = (data_dir / "imports").resolve()
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    folder.chmod(DIR_MODE)
    path = (folder / f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}-{clean}").resolve()
    if path.parent != folder:
        raise BadRequest("Tên tệp không hợp lệ.", code="bad_file_name")
    write_private(path, raw)  # citizens' names and phones: 0600
    return path


def create(
    db: Database,
    cfg: Config,
    data_dir: Path,
    name: str | None,
    raw: bytes,
    *,
    actor: str,
    now: datetime,
    policy: str,
    dry_run: bool,
    scope: str | None,
    notify: bool,
) -> dict[str, Any]:
    """Check what the file may cost, store it, record its job (phase "queued")."""
    if policy not in POLICIES:
        raise BadRequest(f"policy: {' | '.join(POLICIES)}.", code="bad_policy", field="policy")
    lim = limits(cfg)
    sheets.check_size(len(raw), lim)
    if raw[:4] == b"PK\x03\x04":
        import io

        sheets.check_zip(io.BytesIO(raw), lim)
    with db.read() as conn:
        if store.count_open(conn) >= MAX_OPEN:
            raise RateLimited(
                "Đang có nhiều lượt nhập tệp chưa xong; xin thử lại sau ít phút.",
                code="imports_busy",
                retry_after=30,
            )
    path = store_upload(data_dir, name, raw, now)
    job_id = secrets.token_urlsafe(9)
    job: dict[str, Any] = {
        "id": job_id,
        "file": (name or path.name)[:200],
        "path": str(path),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "actor": actor,
        "scope": scope,
        "policy": policy,
        "dry_run": int(dry_run),
        "notify": int(notify),
        "status": "running",
        "phase": "queued",
        "now": iso(now),
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    with db.write() as conn:
        store.drop_finished_uploads(conn)  # the bytes of jobs that ended meanwhile
        store.insert_job(conn, job)
        store.save_upload(conn, job_id, raw)  # for a worker on another host
    return get(db, job_id) or job


def get(db: Database, job_id: str) -> dict[str, Any] | None:
    if len(job_id) > 64:
        return None
    with db.read() as conn:
        return store.job(conn, job_id)


def public(job: dict[str, Any]) -> dict[str, Any]:
    """What the status endpoint shows: never the stored path or the department scope."""
    out = {k: job.get(k) for k in PUBLIC}
    out["stored_as"] = Path(job["path"]).name
    out["started_at"] = job["created_at"]
    out["finished_at"] = job.get("finished_at")
    if out["error"] is not None:
        out["error"] = {k: v for k, v in out["error"].items() if k in ("code", "message")}
    return out


def failure(job: dict[str, Any]) -> MotcuaError:
    err = job.get("error") or {}
    exc = MotcuaError(err.get("message", "Nhập tệp không thành công."), code=err.get("code"))
    exc.status = int(err.get("status", 400))
    return exc


def run_here(
    db: Database, cfg: Config, job_id: str, *, progress: Progress | None = None
) -> ImportReport:
    """Run a job in this thread (CLI, ``run_import``); its report, or its refusal."""
    own = store.runner_database(db)
    try:
        runner = Runner(own, cfg, job_id, limits=limits(cfg), progress=progress)
        if not runner.claim():
            raise BadRequest("Lượt nhập này đang được chạy ở nơi khác.", code="import_running")
        job = runner.run()
    finally:
        own.close()
    if job["status"] == "failed":
        raise failure(job)
    return ImportReport.from_dict(job["report"])


# --- the server's launcher -------------------------------------------------------------
def worker_command(db: Any, job_id: str, workdir: Path | None) -> list[str]:
    """The import worker's command line: the SQLite file, or "postgresql" (the child
    finds the URL where this process did: the config or MOTCUA_DATABASE_URL)."""
    target = "postgresql" if is_pg(db) else str(db.path)
    where = [str(workdir)] if workdir is not None else []
    return [sys.executable, "-m", "server.dossiers.import_worker", target, job_id, *where]


class Launcher:
    """Starts and watches a server's import jobs (one app, one launcher)."""

    def __init__(
        self,
        db: Database,
        cfg: Callable[[], Config],
        *,
        mode: str,
        spawn: Callable[..., Any],
        sleep: Callable[[float], object],
        on_done: Callable[[dict[str, Any]], None] = lambda job: None,
        workdir: Path | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        """``workdir``: where a runner keeps its copy of a file uploaded on another host;
        ``lease_seconds``: how long a dead runner's job waits before it is taken over."""
        self.db, self.cfg, self.mode = db, cfg, mode
        self.workdir, self.lease_seconds = workdir, lease_seconds
        self._spawn, self._sleep, self._on_done = spawn, sleep, on_done
        self._slots = threading.BoundedSemaphore(MAX_RUNNING)

    def start(self, job_id: str) -> None:
        self._spawn(self._watch, job_id)

    def resume(self) -> int:
        """Start every unfinished job (after a restart); returns how many."""
        with self.db.read() as conn:
            jobs = store.open_jobs(conn)
        for job in jobs:
            log.info("import %s: resuming (%s)", job["id"], job["phase"])
            self.start(job["id"])
        return len(jobs)

    def _watch(self, job_id: str) -> None:
        try:
            job = self._drive(job_id)
        except DatabaseClosed:  # the app shut down meanwhile; a restart resumes the job
            return
        except Exception:
            log.exception("import %s: watcher failed", job_id)
            return
        if job is not None and job["status"] != "running":
            self._on_done(job)

    def _drive(self, job_id: str) -> dict[str, Any] | None:
        """Run the job until it ends, waiting while another runner holds it and starting
        it again (at most MAX_ATTEMPTS times) when its runner dies."""
        for _ in range(MAX_ATTEMPTS + 1):
            job = get(self.db, job_id)
            if job is None or job["status"] != "running":
                return job
            if job["attempts"] >= MAX_ATTEMPTS and lease_free(job):
                break
            while not lease_free(job):  # another runner holds it: wait for its end
                self._sleep(min(5.0, max(0.5, (job["lease_until"] or 0) - _time.time())))
                job = get(self.db, job_id)
                if job is None or job["status"] != "running":
                    return job
            with self._slots:
                self._run(job_id)
        job = get(self.db, job_id)
        if job is not None and job["status"] == "running":
            self._give_up(job)
        return get(self.db, job_id)

    def _run(self, job_id: str) -> None:
        if self.mode == "process":
            command = worker_command(self.db, job_id, self.workdir)
            child = subprocess.Popen(command, stdin=subprocess.PIPE)
            assert child.stdin is not None
            try:
                child.stdin.write(pickle.dumps(self.cfg()))
                child.stdin.close()
            except OSError:
                log.exception("import %s: worker did not start", job_id)
            code = child.wait()
            if code != 0:
                log.error("import %s: worker exited with %s", job_id, code)
                _release(self.db, job_id)
            return
        runner = Runner(
            store.runner_database(self.db),
            self.cfg(),
            job_id,
            limits=limits(self.cfg()),
            workdir=self.workdir,
            lease_seconds=self.lease_seconds,
        )
        try:
            if runner.claim():
                runner.run()
        except Exception:
            log.exception("import %s: runner failed", job_id)
            _release(self.db, job_id)
        finally:
            runner.drop_copy()
            runner.db.close()

    def _give_up(self, job: dict[str, Any]) -> None:
        """Fail a job whose runners kept dying: what they applied is undone first (a
        restart meanwhile gives up again and goes on undoing), so none of it shows."""
        log.error("import %s: failed %d times, given up", job["id"], job["attempts"])
        undo(self.db, job["id"], self._sleep)
        with self.db.write() as conn:
            import_publish.publish(conn, job["id"])  # nothing of it is left to show
            store.update_job(
                conn,
                job["id"],
                {
                    "status": "failed",
                    "phase": "failed",
                    "error": {
                        "code": "import_crashed",
                        "message": "Lượt nhập bị gián đoạn nhiều lần; "
                        "không dòng nào của tệp được lưu. Xin báo quản trị.",
                        "status": 500,
                    },
                    "finished_at": iso(datetime.now().astimezone()),
                },
            )


def lease_free(job: dict[str, Any]) -> bool:
    return job["lease_owner"] is None or (job["lease_until"] or 0) < _time.time()


def _release(db: Database, job_id: str) -> None:
    """A runner died: let the next attempt take the job at once."""
    with db.write() as conn:
        store.update_job(conn, job_id, {"lease_owner": None, "lease_until": None})


__all__ = ["LEASE_SECONDS", "Launcher", "create", "get", "public", "run_here", "safe_name"]
