"""Read models of the hall: what kiosks, boards, counters and tracking pages are shown.

Plain dicts shaped as server/protocol.py documents; built from one read snapshot."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import estimates, hours
from .clock import business_day, iso
from .config import Config
from .protocol import AT_COUNTER, FINAL, CallState, Channel, TicketStatus
from .store import Database, catalog
from .store import tickets as store

#: (label, counter number) → (announcement text, audio URL or None)
Announcer = Callable[[str, int], tuple[str, str | None]]

RECENT_CALLS = 10


def services_summary(conn: sqlite3.Connection, cfg: Config, now: datetime) -> list[dict[str, Any]]:
    day = business_day(now, cfg.tz).isoformat()
    counts = store.waiting_counts(conn, day)
    counters = catalog.counters(conn)
    out = []
    for s in catalog.services(conn, active_only=True):
        state = hours.issuing_state(cfg, s, now)
        waiting = counts.get(s["code"], 0)
        cap_reached = (
            bool(s["daily_cap"]) and store.issued_count(conn, s["code"], day) >= s["daily_cap"]
        )
        out.append(
            {
                "code": s["code"],
                "name_vi": s["name_vi"],
                "name_en": s["name_en"],
                "open": state.open and not cap_reached,
                "closed_reason": "daily_cap_reached"
                if state.open and cap_reached
                else state.reason,
                "next_open": iso(state.next_open) if state.next_open else None,
                "waiting": waiting,
                "estimated_wait_min": estimates.for_service(
                    conn, cfg, s["code"], waiting, counters, now, s
                ),
                "hours": hours.hours_to_json(hours.service_hours(cfg, s)),
            }
        )
    return out


def counter_view(c: dict[str, Any], serving: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "number": c["number"],
        "name": c["name"],
        "zone": c["zone"],
        "services": c["services"],
        "state": c["state"],
        "pause_reason": c["pause_reason"],
        "state_since": c["state_since"],
        "serving": {
            "id": serving["id"],
            "label": serving["label"],
            "status": serving["status"],
            "service": serving["queue_service"],
            "called_at": serving["called_at"],
            "started_at": serving["started_at"],
            "recall_count": serving["recall_count"],
        }
        if serving
        else None,
    }


def counters_view(conn: sqlite3.Connection, zone: str | None = None) -> list[dict[str, Any]]:
    serving = store.serving_by_counter(conn)
    return [counter_view(c, serving.get(c["number"])) for c in catalog.counters(conn, zone=zone)]


def one_counter(conn: sqlite3.Connection, number: int) -> dict[str, Any] | None:
    c = catalog.counter(conn, number)
    return counter_view(c, store.at_counter(conn, number)) if c else None


def public_ticket(
    conn: sqlite3.Connection, cfg: Config, t: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A ticket as anyone holding its token may see it: no phone, no staff name."""
    svc = catalog.service(conn, t["queue_service"]) or {}
    out: dict[str, Any] = {
        "label": t["label"],
        "status": t["status"],
        "service": t["queue_service"],
        "service_name_vi": svc.get("name_vi"),
        "service_name_en": svc.get("name_en"),
        "priority": t["priority"],
        "issued_at": t["issued_at"],
        "called_at": t["called_at"],
        "day": t["day"],
        "counter": None,
        "counter_name": None,
        "people_ahead": None,
        "estimated_wait_min": None,
        "remote": t["channel"] == Channel.REMOTE,
        "checked_in": not t.get("pending_checkin"),
    }
    if t["status"] == TicketStatus.WAITING and t["day"] == business_day(now, cfg.tz).isoformat():
        out.update(estimates.for_ticket(conn, cfg, t, now, svc or None))
    if t["counter"] is not None and t["status"] not in FINAL:
        c = catalog.counter(conn, t["counter"])
        out["counter"] = t["counter"]
        out["counter_name"] = c["name"] if c else None
    if t["status"] == TicketStatus.DONE:
        out["counter"] = t["counter"]
    return out


def issued_view(t: dict[str, Any], svc: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The 201 body of POST /tickets (and what the kiosk prints); ``base_url`` is where
    phones open the tracking page (server.public_url.public_base)."""
    return {
        "id": t["id"],
        "label": t["label"],
        "number": t["number"],
        "service": t["service"],
        "service_name_vi": svc["name_vi"],
        "service_name_en": svc["name_en"],
        "priority": t["priority"],
        "status": t["status"],
        "issued_at": t["issued_at"],
        "people_ahead": t["people_ahead"],
        "estimated_wait_min": t["estimated_wait_min"],
        "token": t["token"],
        "tracking_url": f"{base_url}/t/{t['token']}",
    }


def call_state(call: dict[str, Any]) -> CallState:
    """How a call stands from its ticket now (``ticket_status``/``ticket_counter``, joined
    by the store; a call just made carries neither and is "called")."""
    status = call.get("ticket_status")
    if status is None:
        return CallState.CALLED
    if status in AT_COUNTER:
        if call.get("ticket_counter") != call["counter"]:
            return CallState.TRANSFERRED  # called again at another counter since
        return CallState(status)
    if status == TicketStatus.WAITING:
        return CallState.TRANSFERRED  # sent back to a queue
    try:
        return CallState(status)
    except ValueError:  # a status boards do not know: the call's own word, "called"
        return CallState.CALLED


def call_payload(
    call: dict[str, Any], service_names: dict[str, str], announcer: Announcer | None
) -> dict[str, Any]:
    text, audio_url = announcer(call["label"], call["counter"]) if announcer else ("", None)
    return {
        "seq": call["seq"],
        "ticket_id": call["ticket_id"],
        "label": call["label"],
        "counter": call["counter"],
        "counter_name": call["counter_name"],
        "zone": call["zone"],
        "service": call["service"],
        "service_name": service_names.get(call["service"], call["service"]),
        "recall": bool(call["recall"]),
        "at": call["at"],
        "state": call_state(call),
        "text": text,
        "audio_url": audio_url,
    }


def service_names(conn: sqlite3.Connection) -> dict[str, str]:
    return {s["code"]: s["name_vi"] for s in catalog.services(conn)}


def snapshot(
    db: Database, cfg: Config, now: datetime, zone: str | None, announcer: Announcer | None
) -> dict[str, Any]:
    with db.read() as conn:
        names = service_names(conn)
        return {
            "seq": store.calls_before_in_zone(conn, 2**62, zone),
            "calls": [
                call_payload(c, names, announcer)
                for c in store.recent_calls(conn, RECENT_CALLS, zone)
            ],
            "counters": counters_view(conn, zone),
            "services": services_summary(conn, cfg, now),
            "zone": zone,
            "center": cfg.center_name,
            "notice": cfg.notice,
        }
