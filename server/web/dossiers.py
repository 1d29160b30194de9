"""Supervisors' dossier pages: the watch list (idle or soon-due dossiers), one dossier's
full timeline with its SMS delivery status and the correction form, and the file import
with a progress bar.  Built on the staff area's page kit (login, role, CSRF, layout).

Forms post to these pages and redirect back (no script needed); only the import page
uses a script, for the upload and progress bar, through the JSON API.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app, flash, redirect, request

from ..accounts import Identity
from ..auth import SUPERVISOR_ROLES
from ..clock import iso
from ..context import ctx
from ..dossiers import service
from ..dossiers.codes import InvalidDossierCode, normalize_code
from ..dossiers.importer import POLICIES
from ..dossiers.inputs import clean_text, parse_when
from ..dossiers.stats import watch
from ..dossiers.status import DossierChannel, DossierStatus, parse_status
from ..dossiers.views import staff_view
from ..errors import MotcuaError
from ..notify import worker as notify_worker
from ..store import dossiers as dossier_store
from ..store import notifications as notification_store
from .staffkit import blueprint, error_page, page, render

bp = blueprint("dossier_pages")

REASONS = {
    "overdue": "Quá hạn",
    "due_soon": "Sắp đến hạn",
    "stale": "Lâu không cập nhật",
    "no_apology": "Trễ hạn, chưa xin lỗi đúng hạn",
    "late_apology": "Xin lỗi sau ngày hẹn",
    "repeat_supplement": "Yêu cầu bổ sung nhiều lần",
}
SMS_STATES = {
    "queued": "Chờ gửi",
    "claimed": "Đang gửi",
    "sending": "Đang gửi",
    "sent": "Đã gửi",
    "failed": "Thất bại",
}
SMS_KINDS = {
    "received": "Tiếp nhận",
    "ready": "Có kết quả",
    "supplement": "Yêu cầu bổ sung",
    "rejected": "Từ chối",
    "late": "Xin lỗi, hẹn lại",
}


def _detail_url(code: str) -> str:
    return "/dossiers/d/" + quote(code, safe="")


@bp.get("/dossiers")
@page(*SUPERVISOR_ROLES)
def watch_page(who: Identity):
    c = ctx()
    wanted = (request.args.get("ma") or "").strip()
    if wanted:
        try:
            return redirect(_detail_url(normalize_code(wanted)), code=303)
        except InvalidDossierCode as exc:
            flash(exc.message)
    department = request.args.get("department") or None
    try:
        stale = int(request.args.get("stale_days") or 0) or None
        due = request.args.get("due_days")
        result = watch(
            c.db,
            c.cfg,
            c.now(),
            department=department,
            stale_days=stale,
            due_days=int(due) if due not in (None, "") else None,
        )
    except (ValueError, MotcuaError):
        flash("Số ngày không hợp lệ; dùng giá trị mặc định.")
        result = watch(c.db, c.cfg, c.now(), department=department)
    with c.db.read() as conn:
        departments = dossier_store.departments(conn)
    return render(
        "dossiers_watch.html",
        nav="dossiers",
        result=result,
        departments=departments,
        department=department or "",
        reasons=REASONS,
        status_label=lambda s: DossierStatus(s).label("vi"),
        detail_url=_detail_url,
    )


@bp.get("/dossiers/d/<code>")
@page(*SUPERVISOR_ROLES)
def detail_page(who: Identity, code: str):
    c = ctx()
    try:
        normal = normalize_code(code)
    except InvalidDossierCode as exc:
        return error_page(400, exc.message)
    with c.db.read() as conn:
        view = staff_view(conn, c.cfg, normal, c.now())
    if view is None:
        return error_page(404, f"Không tìm thấy hồ sơ {normal}.")
    return render(
        "dossiers_detail.html",
        nav="dossiers",
        d=view,
        statuses=[(s.value, s.label("vi")) for s in DossierStatus],
        sms_states=SMS_STATES,
        sms_kinds=SMS_KINDS,
        detail_url=_detail_url,
        status_label=lambda s: DossierStatus(s).label("vi"),
        channel_label=lambda c: DossierChannel(c).label("vi"),
    )


@bp.post("/dossiers/d/<code>/correction")
@page(*SUPERVISOR_ROLES)
def correct(who: Identity, code: str):
    c = ctx()
    try:
        out = service.correct_status(
            c.db,
            c.cfg,
            code,
            parse_status(request.form.get("status", "")),
            reason=clean_text(request.form.get("reason"), "reason"),
            at=parse_when(request.form.get("at"), c.cfg.tz, "at"),
            actor=who.actor,
            now=c.now(),
            ip=request.remote_addr,
        )
    except MotcuaError as exc:
        flash(exc.message)
        return redirect(_detail_url(code), code=303)
    d = out.dossier
    flash(f"Đã điều chỉnh trạng thái thành “{DossierStatus(d['status']).label('vi')}”.")
    return redirect(_detail_url(d["code"]), code=303)


@bp.post("/dossiers/d/<code>/sms/<int:notification_id>/retry")
@page(*SUPERVISOR_ROLES)
def retry_sms(who: Identity, code: str, notification_id: int):
    c = ctx()
    with c.db.write() as conn:
        ok = notification_store.requeue(conn, notification_id, iso(c.now()))
    if ok:
        notify_worker.poke(current_app)
    flash("Đã xếp tin nhắn vào hàng chờ gửi lại." if ok else "Tin nhắn này không gửi lại được.")
    return redirect(_detail_url(code), code=303)


@bp.get("/dossiers/import")
@page(*SUPERVISOR_ROLES)
def import_page(who: Identity):
    return render("dossiers_import.html", nav="dossiers", policies=POLICIES)
