"""How many tickets one kiosk may issue: a kiosk serves one citizen at a time, so a
burst of `queue.kiosk_limit.burst` tickets, then one every `every_s` seconds.

A kiosk token used by a script (or a stuck touchscreen) once took a service's 999
numbers in 3.3 s.  The allowance lives in the database (`store.floods`), checked inside
the issuing transaction with one statement, so every server process shares it.  The
first refusal — then at most one a minute per kiosk — writes an audit entry and hands
the API an alert for the supervisors' hall page, which can cancel the flood
(`server.floods`).

Staff issuing at a counter get the same allowance, counted per person (a staff token
once issued 300 tickets in 2 s); their bucket shares the kiosks' table under minus the
user's id (`store.floods.user_key`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from .clock import iso
from .config import Config
from .errors import RateLimited
from .i18n import t
from .store import accounts as accounts_store
from .store import floods as store

#: A kiosk still over its limit alerts the supervisors again after this long.
ALERT_EVERY_S = 60.0
AUDIT_ACTION = "kiosk_ticket_limit"
STAFF_AUDIT_ACTION = "staff_ticket_limit"


class KioskLimited(RateLimited):
    """The kiosk is over its allowance (429); `alert` is set when supervisors must be told
    (the audit entry is already in the refusing transaction)."""

    def __init__(
        self,
        wait_s: float,
        alert: dict[str, Any] | None,
        message: str = "Máy lấy số này vừa cấp nhiều số liên tiếp; xin ông/bà đợi giây lát rồi chạm lại.",
        code: str = "kiosk_limited",
    ) -> None:
        super().__init__(message, code=code, retry_after=round(wait_s, 1))
        self.alert = alert


def take(
    conn: sqlite3.Connection, cfg: Config, device_id: int, now: datetime
) -> KioskLimited | None:
    """Count one ticket for the kiosk, inside the issuing transaction; the refusal to
    raise once that transaction has committed, or None when the kiosk may issue."""
    refused = _take(conn, cfg, device_id, now)
    if refused is None:
        return None
    wait_s, alerting = refused
    if not alerting:
        return KioskLimited(wait_s, None)
    name = store.device_name(conn, device_id) or f"#{device_id}"
    alert = _alert(conn, cfg, now, AUDIT_ACTION, f"device:{name}")
    return KioskLimited(wait_s, {**alert, "device": device_id, "device_name": name})


def take_staff(
    conn: sqlite3.Connection, cfg: Config, user_id: int, username: str, now: datetime
) -> KioskLimited | None:
    """`take` for a staff member issuing tickets, counted per person."""
    refused = _take(conn, cfg, store.user_key(user_id), now)
    if refused is None:
        return None
    wait_s, alerting = refused
    message, code = t("staff.error.ticket_limit"), "staff_limited"
    if not alerting:
        return KioskLimited(wait_s, None, message, code)
    alert = _alert(conn, cfg, now, STAFF_AUDIT_ACTION, f"user:{username}")
    alert = {**alert, "device": None, "user": user_id, "user_name": username}
    return KioskLimited(wait_s, alert, message, code)


def _take(
    conn: sqlite3.Connection, cfg: Config, key: int, now: datetime
) -> tuple[float, bool] | None:
    """None when the bucket `key` gives one ticket; else the wait and whether to alert."""
    every = cfg.kiosk_every_s
    if every <= 0:
        return None
    t_s = now.timestamp()
    if store.take_ticket(conn, key, t_s, cfg.kiosk_burst, every):
        return None
    refused = store.refused(conn, key, t_s, cfg.kiosk_burst, every)
    last = refused.alerted_at
    if last is not None and 0 <= t_s - last < ALERT_EVERY_S:
        return refused.wait_s, False
    store.mark_alerted(conn, key, t_s)
    return refused.wait_s, True


def _alert(
    conn: sqlite3.Connection, cfg: Config, now: datetime, action: str, who: str
) -> dict[str, Any]:
    """The audit entry (in the refusing transaction) and the supervisors' alert."""
    detail = {"burst": cfg.kiosk_burst, "every_s": cfg.kiosk_every_s}
    accounts_store.add_audit(conn, iso(now), who, action, who, detail, None)
    return {"kind": action, "at": iso(now), **detail}
