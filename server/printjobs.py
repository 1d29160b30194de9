"""Print jobs of kiosk tickets, and the health of kiosks as their agents report it.

Every ticket issued on a kiosk is one print job.  Its id is derived from the ticket, so
the server and the agent name the same job the same way on every resend, and the
agent's printer backend (idempotent per job id) never prints one number twice.  A job
gets a row when first handed to the agent (``sent``); the agent's acknowledgement makes
it ``printed`` or ``failed``.  A ticket whose job has no row yet is ``queued``: the
agent was away, and it gets the job when it reconnects — unless the citizen left long
ago (``RESEND_MAX_AGE``), because a ticket that prints for nobody confuses the next one.

No Flask here: ``server.realtime.kiosk`` calls these functions and emits after commit.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from . import estimates
from .clock import business_day, iso, parse_iso
from .config import Config
from .errors import BadRequest, NotFound
from .i18n import LANGS, t
from .protocol import CounterState, DeviceKind, PrinterState
from .store import Database, catalog
from .store import accounts as account_store
from .store import printjobs as store


class PrintJobStatus(StrEnum):
    QUEUED = "queued"  # no agent has it yet (no row)
    SENT = "sent"
    PRINTED = "printed"
    FAILED = "failed"


#: A job not printed within this time after its ticket is never printed any more.
RESEND_MAX_AGE = timedelta(minutes=5)
#: An agent heartbeats every ~10 s; this long without one means it is stuck or gone.
HEARTBEAT_STALE = timedelta(seconds=35)
MAX_ERROR = 300
PRINTER_STATES = frozenset(s.value for s in PrinterState)
#: Problems that stop a kiosk from giving citizens a printed ticket (the rest are warnings).
FAULTS = frozenset(
    {
        "agent_disconnected",
        "page_disconnected",
        "heartbeat_stale",
        "printer_paper_out",
        "printer_offline",
    }
)


def job_id_for(ticket: dict[str, Any]) -> str:
    """`YYYYMMDD-<label>-<8 hex>`: readable in the printer folder, unique per ticket, and
    without the ticket's tracking token (the hash only)."""
    label = re.sub(r"[^A-Za-z0-9]", "", ticket["label"]) or f"t{ticket['id']}"
    digest = hashlib.sha256(ticket["token"].encode("utf-8")).hexdigest()[:8]
    return f"{ticket['day'].replace('-', '')}-{label}-{digest}"


def _priority_name(cfg: Config, code: str, lang: str) -> str | None:
    if code == "normal":
        return None
    p = cfg.priority(code)
    if p is None:
        return code
    return p.name_en if lang == "en" else p.name_vi


def serving_counters(conn: Any, service: str) -> list[int]:
    """The counters a ticket of ``service`` may be called to, printed on the ticket so
    the citizen knows where to look (closed ones left out, unless all are closed)."""
    serving = [c for c in catalog.counters(conn) if service in c["services"]]
    working = [c["number"] for c in serving if c["state"] != CounterState.CLOSED]
    return working or [c["number"] for c in serving]


def build_job(
    cfg: Config,
    ticket: dict[str, Any],
    service: dict[str, Any],
    *,
    people_ahead: int,
    estimated_wait_min: int,
    base_url: str,
    counters: list[int],
    lang: str = "vi",
) -> dict[str, Any]:
    """The ``print`` payload: exactly the fields of ``kiosk.ticket.TicketJob``.
    ``base_url`` is where phones open the tracking page (server.public_url)."""
    lang = lang if lang in LANGS else "vi"
    return {
        "job_id": job_id_for(ticket),
        "ticket_id": ticket["id"],
        "center": cfg.center_name_en if lang == "en" else cfg.center_name,
        "service_name": (service.get("name_en") if lang == "en" else None) or service["name_vi"],
        "label": ticket["label"],
        "priority": _priority_name(cfg, ticket["priority"], lang),
        "issued_at": ticket["issued_at"],
        "people_ahead": max(0, int(people_ahead or 0)),
        "estimated_wait_min": max(0, int(estimated_wait_min or 0)),
        "tracking_url": f"{base_url}/t/{ticket['token']}",
        "counters": list(counters),
        "lang": lang,
    }


def record_sent(
    db: Database, job: dict[str, Any], device_id: int, day: str, now: datetime
) -> dict[str, Any]:
    """Note that `job` (of a ticket of business day `day`) is being handed to the kiosk's
    agent; call it before emitting, so an acknowledgement always finds its row."""
    with db.write() as conn:
        return store.upsert_sent(conn, job, device_id, day, iso(now))


def jobs_to_resend(
    db: Database, cfg: Config, device_id: int, now: datetime, base_url: str
) -> list[dict[str, Any]]:
    """Every job of this kiosk an agent that just (re)connected must print, oldest first.

    Jobs sent but never confirmed are sent again (the backend's idempotence makes a
    repeat harmless); tickets whose job never left get one now.  Both only for today and
    within ``RESEND_MAX_AGE``; older unconfirmed jobs are marked failed ("expired")."""
    at = iso(now)
    day = business_day(now, cfg.tz).isoformat()
    since = iso(now - RESEND_MAX_AGE)
    with db.write() as conn:
        store.expire_sent(conn, device_id, since, at)
        jobs = [j["payload"] for j in store.sent_since(conn, device_id, day, since)]
        for ticket in store.unsent_tickets(conn, device_id, day, since):
            service = catalog.service(conn, ticket["service"]) or {"name_vi": ticket["service"]}
            ahead = estimates.for_ticket(conn, cfg, ticket, now)
            jobs.append(
                build_job(
                    cfg,
                    ticket,
                    service,
                    people_ahead=ahead["people_ahead"],
                    estimated_wait_min=ahead["estimated_wait_min"],
                    base_url=base_url,
                    counters=serving_counters(conn, ticket["queue_service"]),
                )
            )
        for job in jobs:
            store.upsert_sent(conn, job, device_id, day, at)
    return sorted(jobs, key=lambda j: j["ticket_id"])


def acknowledge(
    db: Database,
    device_id: int,
    data: Any,
    now: datetime,
) -> dict[str, Any]:
    """Apply an agent's ``printed`` event: {"job_id", "ok", "error"?, "printer"?}.

    A job printed stays printed (a repeat acknowledgement changes nothing); a failed job
    that prints after all becomes printed.  Returns the job row after the change."""
    if not isinstance(data, dict):
        raise BadRequest("printed needs an object {job_id, ok}.", code="bad_ack")
    job_id, ok = data.get("job_id"), data.get("ok")
    if not isinstance(job_id, str) or not job_id.isascii() or not isinstance(ok, bool):
        raise BadRequest("printed needs job_id (text) and ok (true/false).", code="bad_ack")
    error = data.get("error")
    error = _storable(str(error)[:MAX_ERROR]) if error not in (None, "") else None
    printer = data.get("printer")
    if printer is not None and (not isinstance(printer, str) or printer not in PRINTER_STATES):
        raise BadRequest(f"Unknown printer state {printer!r}.", code="bad_ack")
    at = iso(now)
    with db.write() as conn:
        job = store.job(conn, job_id)
        if job is None or job["device_id"] != device_id:
            raise NotFound(f"No print job {job_id} for this kiosk.", code="unknown_job")
        if ok:
            if job["status"] != PrintJobStatus.PRINTED:
                store.finish(conn, job_id, PrintJobStatus.PRINTED, at, printer=printer)
        elif job["status"] != PrintJobStatus.PRINTED:
            store.finish(
                conn,
                job_id,
                PrintJobStatus.FAILED,
                at,
                error=error or "print failed",
                printer=printer,
            )
        account_store.update_device(conn, device_id, last_seen=at)
        out = store.job(conn, job_id)
    assert out is not None
    return out


def parse_heartbeat(data: Any) -> tuple[str, str]:
    """(printer state, detail) from an agent's heartbeat, or a BadRequest naming the problem."""
    if not isinstance(data, dict):
        raise BadRequest("heartbeat needs an object {printer, detail}.", code="bad_heartbeat")
    printer = data.get("printer")
    if not isinstance(printer, str) or printer not in PRINTER_STATES:
        states = ", ".join(PrinterState)
        raise BadRequest(f"heartbeat printer must be one of {states}.", code="bad_heartbeat")
    detail = data.get("detail") or ""
    if not isinstance(detail, str):
        raise BadRequest("heartbeat detail must be text.", code="bad_heartbeat")
    return str(printer), _storable(detail[:MAX_ERROR])


def _storable(text: str) -> str:
    """An agent's free text without lone surrogates (JSON can carry them; SQLite and
    pages cannot), so a broken agent cannot make the write or the status page fail."""
    return text.encode("utf-8", "replace").decode("utf-8")


def device_still_valid(db: Database, device_id: int, token_hash: str | None) -> bool:
    """False once the device is revoked or its token rotated (the agent must go)."""
    with db.connection() as conn:
        d = account_store.device(conn, device_id)
    if d is None or d["revoked_at"]:
        return False
    return token_hash is None or d["token_hash"] == token_hash


def record_seen(db: Database, device_id: int, now: datetime, status: str | None = None) -> None:
    """Update the device's last_seen (and its printer status when an agent reported one)."""
    fields: dict[str, Any] = {"last_seen": iso(now)}
    if status is not None:
        fields["status"] = status
    with db.write() as conn:
        account_store.update_device(conn, device_id, **fields)


def _problems(
    d: dict[str, Any], live: dict[str, Any], jobs: dict[str, int], now: datetime
) -> list[str]:
    out = []
    if not live.get("agent"):
        out.append("agent_disconnected")
    else:
        seen = parse_iso(d["last_seen"]) if d["last_seen"] else None
        if seen is None or now - seen > HEARTBEAT_STALE:
            out.append("heartbeat_stale")
        if d["status"] in (PrinterState.PAPER_OUT, PrinterState.OFFLINE, PrinterState.PAPER_LOW):
            out.append(f"printer_{d['status']}")
    if not live.get("pages"):
        out.append("page_disconnected")
    if jobs.get(PrintJobStatus.FAILED):
        out.append("print_failures")
    return out


def device_report(
    db: Database, cfg: Config, now: datetime, live: dict[int, dict[str, Any]], lang: str = "vi"
) -> list[dict[str, Any]]:
    """Every active device with what supervisors need to spot a broken one.

    `live` is the realtime layer's view per device id: {"agent": bool, "pages": int,
    "connections": int, "printer_detail": str}.  Kiosks get a health verdict; other
    kinds report their connection and last_seen (their own areas judge them)."""
    day = business_day(now, cfg.tz).isoformat()
    with db.read() as conn:
        devices = [d for d in account_store.devices(conn) if not d["revoked_at"]]
        counts = store.counts(conn, day)
    out = []
    for d in devices:
        info = live.get(d["id"], {})
        row: dict[str, Any] = {
            "id": d["id"],
            "name": d["name"],
            "kind": d["kind"],
            "zone": d["zone"],
            "counter": d["counter"],
            "last_seen": d["last_seen"],
            "status": d["status"],
            "connected": bool(info.get("connections")),
        }
        if d["kind"] == DeviceKind.KIOSK:
            jobs = {s.value: counts.get(d["id"], {}).get(s.value, 0) for s in PrintJobStatus}
            problems = _problems(d, info, jobs, now)
            row.update(
                agent_connected=bool(info.get("agent")),
                pages_connected=int(info.get("pages", 0)),
                printer=d["status"] if info.get("agent") else None,
                printer_detail=info.get("printer_detail") or None,
                jobs_today=jobs,
                health="fault"
                if FAULTS.intersection(problems)
                else ("warning" if problems else "ok"),
                problems=[{"code": p, "message": t(f"kiosk.problem.{p}", lang)} for p in problems],
            )
        out.append(row)
    return out
