"""Remote tickets in the one queue: a ticket taken from home waits in its service's queue
from the moment it is taken (its `queued_at`, like a walk-in's), but call selection
(`tickets.call_next`) never calls it before its holder checks in.

A call that goes to someone the order puts after a ticket not checked in *passes it
over*; after `remote.grace_calls` passes it lapses (status `lapsed`, an SMS).  Which
tickets a call passes over: had they been checked in, the call would have gone to one
of them — so the normal tickets not checked in before the one called in the counter's
order (service preference, then queue time), or all of them when a priority ticket was
called only because no normal ticket was ready past the priority cap.  Priority classes
are chosen at the kiosk or counter, so a ticket taken from home is always normal.

No Flask here; every function runs inside the caller's write transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .clock import iso
from .config import Config
from .notify import remote as sms
from .protocol import TicketAction, TicketStatus
from .remote_config import settings
from .store import catalog
from .store import remote as store
from .store import tickets as tickets_store


def order_key(services: Sequence[str], t: dict[str, Any]) -> tuple[int, str, int]:
    """Where a counter's order puts a ticket among the normal ones."""
    q = t["queue_service"]
    rank = list(services).index(q) if q in services else len(services)
    return rank, t["queued_at"], t["id"]


def pass_over(
    conn: sqlite3.Connection,
    cfg: Config,
    *,
    day: str,
    services: Sequence[str],
    counter: int,
    before: dict[str, Any] | None,
    now: datetime,
    actor: str | None,
) -> list[dict[str, Any]]:
    """Count a pass for every ticket not checked in that the call just made went past
    (those `before` the normal ticket called; all of them when `before` is None);
    returns the tickets that lapsed now."""
    grace = settings(cfg).grace_calls
    at = iso(now)
    key = None if before is None else order_key(services, before)
    lapsed: list[dict[str, Any]] = []
    for t in store.pending_ahead(conn, day, services, counter, key):
        t.pop("pref", None)
        passes = store.add_pass(conn, t["id"])
        if passes < grace:
            tickets_store.add_event(
                conn,
                t["id"],
                str(TicketAction.PASS),
                t["status"],
                t["status"],
                at,
                actor,
                None,
                {"passes": passes, "counter": counter},
            )
            continue
        tickets_store.update_ticket(
            conn, t["id"], status=str(TicketStatus.LAPSED), finished_at=at, pending_checkin=0
        )
        tickets_store.add_event(
            conn,
            t["id"],
            str(TicketAction.LAPSE),
            t["status"],
            str(TicketStatus.LAPSED),
            at,
            actor,
            None,
            {"passes": passes, "counter": counter},
        )
        t = {**t, "status": str(TicketStatus.LAPSED), "finished_at": at, "pending_checkin": 0}
        if t["phone"]:
            sms.queue(
                conn,
                cfg,
                kind="lapsed",
                phone=t["phone"],
                key=str(t["id"]),
                params={"label": t["label"], "center": cfg.center_name},
                now=now,
            )
        lapsed.append(t)
    return lapsed


def check_in(conn: sqlite3.Connection, t: dict[str, Any], at: str, actor: str) -> dict[str, Any]:
    """Confirm that a remote ticket's holder is here: it keeps its place and may be
    called from now on."""
    tickets_store.update_ticket(conn, t["id"], pending_checkin=0)
    store.check_in(conn, t["id"], at, actor)
    tickets_store.add_event(
        conn,
        t["id"],
        str(TicketAction.CHECK_IN),
        t["status"],
        t["status"],
        at,
        actor,
        None,
        None,
    )
    return {**t, "pending_checkin": 0}


def near_turn(
    conn: sqlite3.Connection, cfg: Config, *, day: str, services: Sequence[str], now: datetime
) -> int:
    """Text "your turn is near" (once per ticket) to the remote tickets of `services`
    with `remote.near_ahead` people or fewer ahead; returns how many were queued.
    Only the front of each queue is read: a remote ticket is normal, so the people
    ahead grow with its queue time."""
    s = settings(cfg)
    at = iso(now)
    sent = 0
    for service in services:
        near = s.near_for(service)
        if near == 0:
            continue
        counters: list[int] | None = None
        for t in store.near_candidates(conn, day, service):
            ahead = tickets_store.ahead_of(conn, t)
            if ahead > near:
                break
            if counters is None:
                counters = [
                    c["number"]
                    for c in catalog.counters(conn)
                    if c["active"] and service in c["services"] and c["state"] == "open"
                ]
            store.mark_near(conn, t["id"], at)
            queued = sms.queue(
                conn,
                cfg,
                kind="near",
                phone=t["phone"],
                key=str(t["id"]),
                params={
                    "label": t["label"],
                    "center": cfg.center_name,
                    "ahead": ahead,
                    "counters": ", ".join(str(n) for n in counters) or "-",
                },
                now=now,
            )
            sent += queued is not None
    return sent
