"""SMS about numbers taken from home (a one-time code, a lapsed number), queued in the
outbox inside the transaction that causes them, like the dossiers' notices.

The texts are the catalog's `remote.sms.*` (GLOSSARY style), sent as plain ASCII: many
gateways take nothing else, and a code must reach even the cheapest phone."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from server.clock import iso
from server.config import Config
from server.errors import RateLimited
from server.i18n import t
from server.notify import policy
from server.notify.config import sms_settings
from server.notify.notices import to_ascii
from server.store import notifications as store


def text(kind: str, **params: Any) -> str:
    """The SMS `kind` (otp, lapsed) in plain ASCII."""
    return to_ascii(t(f"remote.sms.{kind}", "vi", **params))


def queue(
    conn: sqlite3.Connection,
    cfg: Config,
    *,
    kind: str,
    phone: str,
    key: str,
    params: dict[str, Any],
    now: datetime,
    must: bool = False,
) -> int | None:
    """Queue one SMS to `phone` (None: SMS off, already queued under `key`, or over the
    number's daily SMS limit).  `must`: over the limit is a refusal (a code nobody would
    receive must not be promised), raised as a 429."""
    if not sms_settings(cfg).enabled:
        if must:
            raise RateLimited(t("remote.error.sms_off", "vi"), code="sms_off", retry_after=3600)
        return None
    limited = policy.over_limit(conn, cfg, None, phone, now)
    if limited is not None:
        if must:
            raise RateLimited(
                t("remote.error.sms_limit", "vi"),
                code="sms_limit",
                retry_after=limited.details.get("retry_after", 3600),
            )
        return None
    at = iso(now)
    body = text(kind, **params)
    row = {
        "kind": f"remote_{kind}",
        "phone": phone,
        "text": body,
        "text_ascii": body,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": at,
        "event_key": f"remote:{key}:{kind}",
        "created_at": at,
        "updated_at": at,
    }
    queued = store.insert(conn, row)
    if queued is not None:
        policy.take(conn, cfg, None, phone, now)
    return queued
