"""Background imports with progress, for the supervisors' upload page.

An upload is saved under DATA/imports with a sanitised name (never where the browser
says), then imported by a background task while the page polls the job for a progress
bar and, at the end, the report of every rejected row.  Jobs live in memory: a restart
forgets them, but the uploaded files and everything committed stay.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from server.clock import iso
from server.config import Config
from server.datadir import DIR_MODE, write_private
from server.dossiers.importer import run_import
from server.dossiers.notices import strip_diacritics
from server.errors import BadRequest, MotcuaError
from server.store import Database

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")
_KEEP = 50
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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


def store_upload(data_dir: Path, name: str | None, raw: bytes, now: datetime) -> Path:
    clean = safe_name(name)
    if not clean.lower().endswith(ALLOWED_SUFFIXES):
        raise BadRequest("Chỉ nhận tệp .csv hoặc .xlsx.", code="bad_file_type")
    folder = (data_dir / "imports").resolve()
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path = (folder / f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}-{clean}").resolve()
    if path.parent != folder:
        raise BadRequest("Tên tệp không hợp lệ.", code="bad_file_name")
    write_private(path, raw)  # citizens' names and phones: 0600
    return path


class ImportJobs:
    """In-memory registry of import jobs; ``spawn`` runs a function in the background."""

    def __init__(
        self, spawn: Callable[..., Any], pause: Callable[[], object] = lambda: None
    ) -> None:
        self._spawn = spawn
        self._pause = pause
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def start(
        self,
        db: Database,
        cfg: Config,
        path: Path,
        *,
        original: str,
        actor: str,
        now: datetime,
        policy: str,
        dry_run: bool,
        scope: str | None,
        notify: bool,
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        job_id = secrets.token_urlsafe(9)
        job: dict[str, Any] = {
            "id": job_id,
            "file": original,
            "stored_as": path.name,
            "actor": actor,
            "scope": scope,
            "policy": policy,
            "dry_run": dry_run,
            "status": "running",
            "processed": 0,
            "total": None,
            "report": None,
            "error": None,
            "started_at": iso(now),
        }
        with self._lock:
            self._jobs[job_id] = job
            for old in list(self._jobs)[:-_KEEP]:
                del self._jobs[old]

        def progress(done: int, total: int) -> None:
            job["processed"], job["total"] = done, total

        def work() -> None:
            try:
                report = run_import(
                    db,
                    cfg,
                    path.name,
                    path.read_bytes(),
                    actor=actor,
                    now=now,
                    policy=policy,
                    dry_run=dry_run,
                    scope=scope,
                    notify=notify,
                    progress=progress,
                    pause=self._pause,
                )
            except MotcuaError as exc:
                job["error"] = {"code": exc.code, "message": exc.message}
                job["status"] = "failed"
            except OSError as exc:
                log.exception("import job %s failed", job_id)
                job["error"] = {"code": "io_error", "message": str(exc)}
                job["status"] = "failed"
            else:
                job["report"] = report.as_dict()
                job["processed"] = job["total"] = report.rows
                job["status"] = "done"
            if on_done is not None:
                on_done(job)

        self._spawn(work)
        return dict(job)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return dict(job) if job is not None else None
