"""Dossier files: upload an import (background job with progress) and export.

Supervisors import and export every department; a department's API key imports and
exports only its own dossiers (``dossiers:write`` to import, ``dossiers:read`` to export).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any, cast

from flask import Response, current_app, jsonify, request

from .. import workers_config
from ..context import ctx
from ..dossiers import jobs, tables
from ..dossiers import settings as dsettings
from ..dossiers.apikeys import READ, WRITE
from ..dossiers.exchange import export_rows
from ..dossiers.importer import POLICIES
from ..dossiers.jobs import safe_name
from ..errors import BadRequest, NotFound, RateLimited
from ..notify import worker as notify_worker
from ..reports.period import MAX_YEAR, MIN_YEAR
from . import api
from .common import SUPERVISOR_ROLES, current_identity, requires

EXTENSION = "motcua.dossier_imports"


def launcher(app: Any) -> jobs.Launcher:
    """The app's import launcher: worker processes under gevent, threads otherwise."""
    found = app.extensions.get(EXTENSION)
    if found is None:
        context = app.extensions["motcua"]
        sio = app.extensions["motcua.socketio"]
        mode = dsettings.settings(context.cfg).import_runner
        if mode == "auto":
            mode = "process" if sio.async_mode == "gevent" else "thread"

        def done(job: dict[str, Any]) -> None:
            report = job.get("report") or {}
            if report.get("committed") and report.get("notifications"):
                notify_worker.poke(app)

        found = app.extensions[EXTENSION] = jobs.Launcher(
            context.db,
            lambda: app.extensions["motcua"].cfg,
            mode=mode,
            spawn=sio.start_background_task,
            sleep=sio.sleep,
            on_done=done,
            workdir=context.data_dir / "imports",
            lease_seconds=workers_config.settings(context.cfg).lease_seconds,
        )
    return found


def _scope() -> str | None:
    who = current_identity()
    return who.department if who is not None and who.kind == "apikey" else None


def _flag(name: str, default: bool) -> bool:
    raw = request.form.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@api.post("/dossiers/imports")
@requires(roles=SUPERVISOR_ROLES, scopes=(WRITE,))
def start_import():
    c = ctx()
    # The file's own cap (dossiers.imports.max_file_mb), not the JSON bodies' one.
    request.max_content_length = jobs.limits(c.cfg).max_bytes + 64 * 1024
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Chưa chọn tệp để nhập.", code="missing_file", field="file")
    policy = request.form.get("policy", "all-or-nothing")
    if policy not in POLICIES:
        raise BadRequest(f"policy: {' | '.join(POLICIES)}.", code="bad_policy", field="policy")
    raw = upload.read()
    if not raw:
        raise BadRequest("Tệp trống.", code="empty_file", field="file")
    who = current_identity()
    assert who is not None
    job = jobs.create(
        c.db,
        c.cfg,
        c.data_dir,
        upload.filename,
        raw,
        actor=who.actor,
        now=c.now(),
        policy=policy,
        dry_run=_flag("dry_run", False),
        scope=_scope(),
        notify=_flag("notify", True),
    )
    if workers_config.embedded(c.cfg):  # else a `motcua worker` takes the job
        launcher(current_app._get_current_object()).start(job["id"])  # type: ignore[attr-defined]
    resp = jsonify({"job": jobs.public(job)})
    resp.headers["Location"] = f"/api/v1/dossiers/imports/{job['id']}"
    return resp, 202


@api.get("/dossiers/imports/<job_id>")
@requires(roles=SUPERVISOR_ROLES, scopes=(WRITE,))
def import_status(job_id: str):
    job = jobs.get(ctx().db, job_id)
    who = current_identity()
    if job is None or (who is not None and who.kind == "apikey" and job["actor"] != who.actor):
        raise NotFound("Không có lượt nhập này.", code="unknown_import")
    return jsonify({"job": jobs.public(job)})


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}: ngày dạng YYYY-MM-DD.", code="bad_query", field=name) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:  # year 1 or 9999 overflow once moved to UTC
        raise BadRequest(
            f"{name}: ngày trong các năm {MIN_YEAR}–{MAX_YEAR}.", code="bad_query", field=name
        )
    return day


#: One export is built at a time.  A year's dossiers are seconds of CPU (30,000 as XLSX:
#: 5.5 s), so the file is built in the server's thread pool (``db.offload``), not on the
#: event loop that every kiosk and board shares; a second export meanwhile is a 429.
_EXPORTING = threading.Lock()


def _off_loop(build: Callable[[], Any]) -> bytes:
    if not _EXPORTING.acquire(blocking=False):
        raise RateLimited(
            "Đang có một lượt xuất hồ sơ khác; xin thử lại sau ít giây.",
            code="export_busy",
            retry_after=5,
        )
    try:
        offload = ctx().db.offload
        return cast(bytes, build() if offload is None else offload(build))
    finally:
        _EXPORTING.release()


@api.get("/dossiers/export")
@requires(roles=SUPERVISOR_ROLES, scopes=(READ,))
def export():
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise BadRequest("format: csv hoặc xlsx.", code="bad_format", field="format")
    c = ctx()
    department = _scope() or (request.args.get("department") or None)
    date_from, date_to = _date_arg("from"), _date_arg("to")

    def build() -> bytes:
        rows = export_rows(c.db, c.cfg, department=department, date_from=date_from, date_to=date_to)
        return tables.write_xlsx(rows) if fmt == "xlsx" else tables.write_csv(rows)

    body = _off_loop(build)
    stamp = c.now().astimezone(c.cfg.tz).strftime("%Y%m%d-%H%M")
    name = safe_name(f"ho-so-{department or 'tat-ca'}-{stamp}".lower())
    if fmt == "xlsx":
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        mime = "text/csv; charset=utf-8"
    return Response(
        body,
        mimetype=mime,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )
