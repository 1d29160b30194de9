"""The outbox sender: claims queued messages, sends them, retries with backoff.

Runs as a background task of the server (started by ``create_app``) or alone with
``motcua notify-worker``.  Every state change is committed before the next step:
claim (write transaction) → mark ``sending`` (write transaction) → network call →
record the outcome.  That is what makes a restart safe: see ``store.notifications``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from server.clock import Clock, iso
from server.config import Config
from server.errors import Busy
from server.notify.config import SmsSettings, sms_settings
from server.notify.gateways import Gateway, Message, make_gateway
from server.store import Database
from server.store import notifications as store
from server.store.db import DatabaseClosed
from server.store.dialect import DATABASE_ERRORS

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted while sending; not resent automatically to avoid a duplicate SMS"
RESENT = "interrupted while sending; sent again with the same id (sms.http.idempotent)"


class Worker:
    def __init__(
        self,
        db: Database,
        cfg: Config,
        gateway: Gateway,
        clock: Clock,
        *,
        batch: int = 20,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.cfg = cfg
        self.settings: SmsSettings = sms_settings(cfg)
        self.gateway = gateway
        self.clock = clock
        self.batch = batch
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.wake = threading.Event()
        self.stopped = threading.Event()
        #: The app that started this worker: when it is gone, the worker stops.
        self.owner: weakref.ref[Any] | None = None

    # --- one pass -----------------------------------------------------------------------
    def recover(self) -> tuple[int, int]:
        """Undo what a stopped worker left behind (older than the lease): claimed rows go
        back to the queue, rows handed to the gateway become failed (outcome unknown) —
        or, with ``sms.http.idempotent``, go back to the queue too, to be sent again
        under the same ``{id}`` the provider drops a duplicate of."""
        now = self.clock.now()
        cutoff = iso(now - timedelta(seconds=self.settings.lease_seconds))
        http = self.settings.http
        resend = self.gateway.name == "http" and http is not None and http.idempotent
        with self.db.write() as conn:
            released = store.release_stale_claims(conn, cutoff, iso(now))
            if resend:  # the provider drops what it already took under the same id
                failed = 0
                released += store.resend_interrupted(conn, cutoff, RESENT, iso(now))
            else:
                failed = store.fail_interrupted(conn, cutoff, INTERRUPTED, iso(now))
        if released or failed:
            log.warning("outbox recovery: %d requeued, %d marked failed", released, failed)
        return released, failed

    def backoff(self, attempts: int) -> timedelta:
        seconds = self.settings.backoff_seconds * (2 ** max(0, attempts - 1))
        return timedelta(seconds=min(seconds, self.settings.max_backoff_seconds))

    def run_once(self, *, on_sent: Callable[[dict[str, Any]], None] | None = None) -> int:
        """Claim one batch and send it; returns how many messages were attempted."""
        now = self.clock.now()
        with self.db.write() as conn:
            rows = store.claim(conn, self.id, iso(now), self.batch)
        attempted = 0
        for row in rows:
            if self.stopped.is_set():
                break
            with self.db.write() as conn:
                if not store.mark_sending(conn, row["id"], self.id, iso(self.clock.now())):
                    continue
            attempted += 1
            self._deliver(row)
            if on_sent is not None:
                on_sent(row)
        return attempted

    def _deliver(self, row: dict[str, Any]) -> None:
        text = row["text_ascii"] if self.gateway.ascii_only else row["text"]
        message = Message(id=row["event_key"], kind=row["kind"], phone=row["phone"], text=text)
        result = self.gateway.send(message)
        now = self.clock.now()
        attempts = int(row["attempts"]) + 1
        with self.db.write() as conn:
            if result.ok:
                store.mark_sent(conn, row["id"], result.provider_id, iso(now))
                log.info("SMS %s sent to %s", row["event_key"], _masked(row["phone"]))
            elif result.retry and attempts < self.settings.max_attempts:
                next_at = now + self.backoff(attempts)
                store.mark_retry(conn, row["id"], result.error or "error", iso(next_at), iso(now))
                log.warning(
                    "SMS %s attempt %d failed (%s); retry at %s",
                    row["event_key"],
                    attempts,
                    result.error,
                    iso(next_at),
                )
            else:
                store.mark_failed(conn, row["id"], result.error or "error", iso(now))
                log.error("SMS %s failed for good: %s", row["event_key"], result.error)

    # --- the loop -----------------------------------------------------------------------
    def _pause(self, sleep: Callable[[float], Any]) -> None:
        """Sleep until woken by a new message or until the next retry is due."""
        with self.db.connection() as conn:
            nxt = store.next_due(conn)
        wait = min(self.settings.poll_seconds, self.settings.lease_seconds / 2)
        if nxt is not None:
            due_in = (datetime.fromisoformat(nxt) - self.clock.now()).total_seconds()
            wait = max(0.0, min(wait, due_in))
        step = min(wait, 0.25)
        waited = 0.0
        while waited < wait and not self.wake.is_set() and not self.stopped.is_set():
            sleep(step)
            waited += step
        self.wake.clear()

    def run_forever(self, sleep: Callable[[float], Any]) -> None:
        log.info("SMS worker %s started (gateway %s)", self.id, self.gateway.name)
        next_recovery = 0.0
        while not self.stopped.is_set():
            if self.owner is not None and self.owner() is None:
                break
            try:
                if time.monotonic() >= next_recovery:
                    # Not only at start: a server killed and restarted within the lease
                    # left rows too young to recover then.  Between batches this worker
                    # holds no claim of its own, so whatever is stale is someone else's.
                    self.recover()
                    next_recovery = time.monotonic() + self.settings.lease_seconds / 2
                if self.run_once() == 0:
                    self._pause(sleep)
            except (sqlite3.ProgrammingError, DatabaseClosed) as exc:
                # "Cannot operate on a closed database": the app shut its database down.
                log.info("SMS worker %s: database closed (%s)", self.id, exc)
                break
            except (*DATABASE_ERRORS, Busy) as exc:
                log.warning("SMS worker: database error (%s); retrying shortly", exc)
                sleep(min(5.0, self.settings.poll_seconds))
        log.info("SMS worker %s stopped", self.id)

    def stop(self) -> None:
        self.stopped.set()
        self.wake.set()

    def poke(self) -> None:
        """Wake the loop at once (called after a commit that queued messages)."""
        self.wake.set()


def _masked(phone: str) -> str:
    return "*" * max(0, len(phone) - 3) + phone[-3:]


def make_worker(db: Database, cfg: Config, data_dir: Path, clock: Clock) -> Worker:
    settings = sms_settings(cfg)
    return Worker(db, cfg, make_gateway(settings, data_dir), clock)


EXTENSION = "motcua.notify"


def start_in_app(app: Any) -> Worker | None:
    """Start the sender as a Socket.IO background task (a greenlet under gevent, a thread
    in threading mode).  Tests (``testing=True``) drive a Worker themselves instead."""
    context = app.extensions["motcua"]
    settings = sms_settings(context.cfg)
    if app.testing or not settings.enabled or not settings.worker:
        app.extensions[EXTENSION] = None
        return None
    worker = make_worker(context.db, context.cfg, context.data_dir, context.clock)
    worker.owner = weakref.ref(app)
    sio = app.extensions["motcua.socketio"]
    app.extensions[EXTENSION] = worker
    sio.start_background_task(worker.run_forever, _sleeper(sio.async_mode))
    return worker


def _sleeper(async_mode: str) -> Callable[[float], Any]:
    """The mode's sleep, without a reference to the app (see ``Worker.owner``): a
    greenlet under gevent must yield to the hub, a thread simply sleeps."""
    if async_mode == "gevent":
        import gevent

        return gevent.sleep
    return time.sleep


def poke(app: Any) -> None:
    worker = app.extensions.get(EXTENSION)
    if worker is not None:
        worker.poke()
