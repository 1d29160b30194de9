"""Read models of the staff console and the supervisor's hall view.

Staff see ticket labels, services and priority classes — never phone numbers or
tracking tokens; the supervisor additionally sees who works where and which devices
are alive.  Each view is built from one read snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import hall
from .clock import business_day, iso, parse_iso
from .config import Config
from .dossiers.codes import normalize_code
from .errors import BadRequest
from .protocol import CounterState, DeviceKind
from .store import Database, catalog
from .store import accounts as account_store
from .store import staff as staff_store
from .store import tickets as ticket_store

#: A device counts as online when it has an open Socket.IO connection, or reported in
#: (heartbeat, API call) within this window.
ONLINE_WINDOW = timedelta(minutes=2)
WAITING_LIST_LIMIT = 50
#: Dossiers one citizen hands in at once; more is a scanning accident, not a visit.
MAX_DOSSIERS = 20


def dossier_codes(raw: Any) -> list[str]:
    """The `dossiers` of a finish request: codes normalised the one-stop way, each once."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("dossiers phải là danh sách mã hồ sơ.", code="bad_field", field="dossiers")
    if len(raw) > MAX_DOSSIERS:
        raise BadRequest(
            f"Tối đa {MAX_DOSSIERS} mã hồ sơ cho một lượt phục vụ.",
            code="too_many_dossiers",
            field="dossiers",
        )
    return list(dict.fromkeys(normalize_code(c) for c in raw))


def _minutes(since: str | None, now: datetime) -> int | None:
    if not since:
        return None
    return max(0, int((now - parse_iso(since)).total_seconds() // 60))


def _priority_name(cfg: Config, code: str) -> str | None:
    if code == "normal":
        return None
    p = cfg.priority(code)
    return p.name_vi if p else code


def counter_queue(db: Database, cfg: Config, number: int, now: datetime) -> dict[str, Any] | None:
    """What the console of one counter shows besides the ticket at the counter."""
    day = business_day(now, cfg.tz).isoformat()
    with db.read() as conn:
        view = hall.one_counter(conn, number)
        if view is None:
            return None
        names = hall.service_names(conn)
        counts = ticket_store.waiting_counts(conn, day)
        oldest = staff_store.oldest_waiting(conn, day)
        rows = staff_store.waiting_for_counter(
            conn, day, view["services"], number, WAITING_LIST_LIMIT + 1
        )
    services = [
        {
            "code": code,
            "name_vi": names.get(code, code),
            "waiting": counts.get(code, 0),
            "longest_wait_min": _minutes(oldest.get(code), now),
        }
        for code in view["services"]
    ]
    waiting = [
        {
            "id": t["id"],
            "label": t["label"],
            "service": t["queue_service"],
            "service_name": names.get(t["queue_service"], t["queue_service"]),
            "priority": t["priority"],
            "priority_name": _priority_name(cfg, t["priority"]),
            "queued_at": t["queued_at"],
            "waited_min": _minutes(t["queued_at"], now),
            "transferred_from": t["transferred_from"],
            "for_this_counter": t["target_counter"] == number,
            "remote_pending": bool(t.get("pending_checkin")),
        }
        for t in rows[:WAITING_LIST_LIMIT]
    ]
    serving = view["serving"]
    return {
        "counter": view,
        "services": services,
        "waiting": waiting,
        "waiting_total": sum(s["waiting"] for s in services),
        "more": len(rows) > WAITING_LIST_LIMIT,
        "recall_limit": cfg.recall_limit,
        "recalls_left": max(0, cfg.recall_limit - serving["recall_count"]) if serving else None,
        "now": iso(now),
    }


def counter_history(db: Database, cfg: Config, number: int, now: datetime) -> dict[str, Any]:
    """Today's finished, no-show and transferred tickets of a counter (newest first, the
    last 30) and the day's totals."""
    day = business_day(now, cfg.tz).isoformat()
    with db.read() as conn:
        rows = staff_store.counter_day(conn, number, day)
        names = hall.service_names(conn)
        today = staff_store.counter_day_summary(conn, number, day)
    out = []
    for r in rows:
        detail = r["detail"]
        began = r["started_at"] or r["called_at"]
        out.append(
            {
                "ticket_id": r["ticket_id"],
                "label": r["label"],
                "service": r["service"],
                "service_name": names.get(r["service"], r["service"]),
                "action": r["action"],
                "at": r["at"],
                "actor": r["actor"],
                "dossiers": list(detail.get("dossiers") or []),
                "to_service": detail.get("to_service"),
                "to_counter": detail.get("to_counter"),
                "minutes": _minutes(began, parse_iso(r["at"])) if began else None,
            }
        )
    return {"history": out, "today": today}


def hall_overview(
    db: Database, cfg: Config, now: datetime, connected: set[int] | None = None
) -> dict[str, Any]:
    """The supervisor's whole hall: counters, queues, devices."""
    day = business_day(now, cfg.tz)
    local_midnight = datetime.combine(day, datetime.min.time(), cfg.tz)
    connected = connected or set()
    with db.read() as conn:
        counters = hall.counters_view(conn)
        summary = hall.services_summary(conn, cfg, now)
        oldest = staff_store.oldest_waiting(conn, day.isoformat())
        actors = staff_store.last_actors(conn, iso(local_midnight))
        users = {u["username"]: u for u in account_store.users(conn)}
        devices = account_store.devices(conn)
        closed = {s["code"]: s["closed_on"] for s in catalog.services(conn, active_only=True)}
    for c in counters:
        who = actors.get(c["number"])
        u = users.get(who[0]) if who else None
        c["staff"] = who[0] if who else None
        c["staff_name"] = (u["full_name"] or u["username"]) if u else (who[0] if who else None)
        c["state_minutes"] = (
            _minutes(c["state_since"], now) if c["state"] != CounterState.OPEN else None
        )
    for s in summary:
        s["longest_wait_min"] = _minutes(oldest.get(s["code"]), now)
        s["closed_today"] = closed.get(s["code"]) == day.isoformat()
    return {
        "now": iso(now),
        "counters": counters,
        "services": summary,
        "devices": [_device(d, now, d["id"] in connected) for d in devices],
    }


def _device(d: dict[str, Any], now: datetime, connected: bool) -> dict[str, Any]:
    seen = parse_iso(d["last_seen"]) if d.get("last_seen") else None
    revoked = bool(d.get("revoked_at"))
    return {
        "id": d["id"],
        "name": d["name"],
        "kind": d["kind"],
        "zone": d["zone"],
        "counter": d["counter"],
        "last_seen": d.get("last_seen"),
        "status": d.get("status"),
        "connected": connected,
        "online": not revoked and (connected or (seen is not None and now - seen <= ONLINE_WINDOW)),
        "revoked": revoked,
        # a board's last chime/voice: played, failed, or blocked by the TV's autoplay policy
        "sound": {
            "status": d.get("sound_status"),
            "detail": d.get("sound_detail"),
            "at": d.get("sound_at"),
        }
        if d["kind"] == DeviceKind.DISPLAY
        else None,
    }
