"""Writing SMS notices into the outbox, inside the transaction of the event that causes
them: if the event rolls back, so does its message, and if it commits, the message is
certain to be sent later by the worker — never lost between two systems.

One row per (dossier, event, kind): the event key is UNIQUE, so an event delivered twice
by a department, or replayed by an import, never queues a second message.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from server.clock import iso
from server.config import Config
from server.notify import policy
from server.notify.config import sms_settings
from server.notify.notices import (
    NoticeError,
    NoticeKind,
    check_templates,
    render_notice,
    to_ascii,
)
from server.store import dossier_keys as key_store
from server.store import notifications as store

log = logging.getLogger(__name__)

#: Where admins' template overrides are saved, as a JSON object {kind: text}: the admin
#: page (server.settings) writes "sms_templates"; "sms.templates" is the older name.
SETTING_KEYS = ("sms.templates", "sms_templates")


def _saved(conn: sqlite3.Connection, key: str) -> dict[str, str]:
    raw = key_store.setting(conn, key)
    if not raw:
        return {}
    try:
        saved = json.loads(raw)
    except ValueError:
        log.warning("setting %s is not JSON; using the configured SMS templates", key)
        return {}
    if not isinstance(saved, dict):
        log.warning("setting %s is not a JSON object; ignored", key)
        return {}
    chosen = {k: v for k, v in saved.items() if isinstance(v, str) and v.strip()}
    try:
        check_templates(chosen)
    except NoticeError as exc:
        log.warning("setting %s ignored: %s", key, exc.message)
        return {}
    return chosen


def templates(conn: sqlite3.Connection, cfg: Config) -> dict[str, str]:
    """Config templates (`sms.templates`), overridden per kind by the admin's saved ones.

    Read from the database, not from the app's effective config, so the stand-alone
    importer and `motcua notify-worker` use the same texts as the server.  An override
    that fails ``check_templates`` is ignored with a warning: a broken template must
    never block recording an event.
    """
    merged = dict(sms_settings(cfg).templates)
    for key in SETTING_KEYS:
        merged.update(_saved(conn, key))
    return merged


def enqueue(
    conn: sqlite3.Connection,
    cfg: Config,
    *,
    kind: NoticeKind,
    dossier: Mapping[str, Any],
    event_id: int,
    event_at: datetime,
    params: Mapping[str, Any],
    now: datetime,
    texts: Mapping[str, str] | None = None,
    sender: str | None = None,
    held: list[str] | None = None,
    job: str | None = None,
) -> int | None:
    """Queue one notice for the dossier's phone; returns the row id (None: nothing queued).

    Nothing is queued without a phone, when SMS is disabled, or for an event older than
    ``sms.max_age_hours`` (a backfill import must not text citizens about last year).
    A notice that cannot be rendered is stored as ``failed`` with the reason, so the
    supervisor sees it on the dossier instead of the event being refused.

    Every queued notice counts against ``sender`` (an API key or staff account; None for
    the server's own operators) and the phone number (``sms.limits``).  Past a limit
    the event is still recorded — a status is worth more than its SMS — and the notice
    is stored ``failed`` with the reason, which ``held`` collects for the answer.

    A notice queued by an import ``job`` is tagged with it: it is not sent before the
    job is published (``store.import_publish``).
    """
    settings = sms_settings(cfg)
    phone = dossier.get("phone")
    if not settings.enabled or not phone:
        return None
    if now - event_at > timedelta(hours=settings.max_age_hours):
        log.info(
            "no %s SMS for %s: the event is older than sms.max_age_hours", kind, dossier["code"]
        )
        return None
    limited = policy.over_limit(conn, cfg, sender, phone, now)
    chosen = texts if texts is not None else templates(conn, cfg)
    at = iso(now)
    row: dict[str, Any] = {
        "kind": str(kind),
        "dossier_id": dossier["id"],
        "event_id": event_id,
        "phone": phone,
        "attempts": 0,
        "next_attempt_at": at,
        "event_key": f"{dossier['id']}:{event_id}:{kind}",
        "created_at": at,
        "updated_at": at,
    }
    if job is not None:
        row["import_job"] = job
    try:
        row["text"] = render_notice(
            kind, params, ascii_only=False, templates=chosen, tz=cfg.timezone
        )
        # render_notice(ascii_only=True) is exactly this: the plain text is derived
        # from the Vietnamese one, so render once.
        row["text_ascii"] = to_ascii(row["text"])
        row["status"] = "queued"
    except NoticeError as exc:
        log.warning("%s SMS for %s cannot be written: %s", kind, dossier["code"], exc.message)
        row.update(text="", text_ascii="", status="failed", error=exc.message)
    if limited is not None and row["status"] == "queued":
        log.warning("%s SMS for %s not sent: %s", kind, dossier["code"], limited.message)
        row.update(status="failed", error=limited.message)
        if held is not None:
            held.append(limited.message)
    queued = store.insert(conn, row)
    if queued is not None and row["status"] == "queued":
        policy.take(conn, cfg, sender, phone, now)
    return queued
