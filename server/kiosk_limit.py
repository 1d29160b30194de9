"""How many tickets one kiosk may issue: a kiosk serves one citizen at a time, so a
burst of `queue.kiosk_limit.burst` tickets, then one every `every_s` seconds.

A kiosk token used by a script (or a stuck touchscreen) once took a service's 999
numbers in 3.3 s.  The allowance lives in the database (`store.floods`), checked inside
the issuing transaction with one statement, so every server process shares it.  The
first refusal — then at most one a minute per kiosk — writes an audit entry and hands
the API an alert for the supervisors' hall page, which can cancel the flood
(`server.floods`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from .clock import iso
from .config import Config
from .errors import RateLimited
from .store import accounts as accounts_store
from .store import floods as store

#: A kiosk still over its limit alerts the supervisors again after this long.
ALERT_EVERY_S = 60.0
AUDIT_ACTION = "kiosk_ticket_limit"


class KioskLimited(RateLimited):
    """The kiosk is over its allowance (429); `alert` is set when supervisors must be told
    (the audit entry is already in the refusing transaction)."""

    def __init__(self, wait_s: float, alert: dict[str, Any] | None) -> None:
        super().__init__(
            "Máy lấy số này vừa cấp nhiều số liên tiếp; xin ông/bà đợi giây lát rồi chạm lại.",
            code="kiosk_limited",
            retry_after=round(wait_s, 1),
        )
        self.alert = alert


def take(
    conn: sqlite3.Connection, cfg: Config, device_id: int, now: datetime
) -> KioskLimited | None:
    """Count one ticket for the kiosk, inside the issuing transaction; the refusal to
    raise once that transaction has committed, or None when the kiosk may issue."""
    every = cfg.kiosk_every_s
    if every <= 0:
        return None
    t = now.timestamp()
    if store.take_ticket(conn, device_id, t, cfg.kiosk_burst, every):
        return None
    refused = store.refused(conn, device_id, t, cfg.kiosk_burst, every)
    last = refused.alerted_at
    if last is not None and 0 <= t - last < ALERT_EVERY_S:
        return KioskLimited(refused.wait_s, None)
    store.mark_alerted(conn, device_id, t)
    name = store.device_name(conn, device_id) or f"#{device_id}"
    detail = {"burst": cfg.kiosk_burst, "every_s": every}
    accounts_store.add_audit(
        conn, iso(now), f"device:{name}", AUDIT_ACTION, f"device:{name}", detail, None
    )
    alert = {
        "kind": AUDIT_ACTION,
        "device": device_id,
        "device_name": name,
        "at": iso(now),
        **detail,
    }
    return KioskLimited(refused.wait_s, alert)
