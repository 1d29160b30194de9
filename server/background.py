"""`motcua worker`: the slow work of the scale-out shape, off the request path.

One process, three loops (threads), every one working from the shared database, so any
number of workers on any hosts may run at once and any may die:

- **SMS** (``notify.worker.Worker``): a batch is claimed in one write (``claimed``,
  with this worker's id); each message is marked ``sending`` in a committed write
  *before* it is handed to the gateway, and only a worker still holding the claim may
  mark it.  A claim older than ``sms.lease_seconds`` (its worker died) goes back to the
  queue; a message left ``sending`` is never resent automatically — it may have left —
  it ends ``failed`` ("interrupted"), for a supervisor to retry.  So a message is handed
  to the gateway at most once by the workers, whatever dies when; the gateway gets the
  outbox event key as ``{id}``, stable across retries, for a provider that drops
  duplicates.
- **Imports** (``dossiers.jobs.Launcher`` in thread mode): a job whose lease is free
  (new, or its runner died ``workers.lease_seconds`` ago) is claimed and run here; its
  runner renews the lease with every journaled batch, and each batch commits with the
  job's ``applied`` count, so the next runner goes on after the last committed row: a
  file is applied exactly once.  The upload's bytes come from the database
  (``import_upload``), so the worker needs no access to the receiving host's disk.
- **Report day cache**: the queue report's past days (``reports.queue_days``) are
  grouped ahead, every ``workers.warm_every_s``, so a supervisor's year report reads
  them cached instead of grouping them inside the request.

With ``workers.mode: embedded`` (the default) ``motcua serve`` sends SMS and runs imports
itself and no worker is needed; ``external`` turns that off (``server.app``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from .clock import Clock, business_day
from .config import Config
from .dossiers import jobs
from .notify.config import sms_settings
from .notify.worker import Worker, make_worker
from .reports.period import Period
from .reports.queue_days import day_groups
from .store import Database
from .store import imports as import_store
from .store.db import DatabaseClosed
from .store.dialect import DATABASE_ERRORS
from .workers_config import WorkerSettings, settings

log = logging.getLogger(__name__)


class Background:
    """The loops of one `motcua worker` process."""

    def __init__(self, db: Database, cfg: Config, data_dir: Path, clock: Clock | None = None):
        self.db, self.cfg, self.data_dir = db, cfg, data_dir
        self.clock = clock or Clock()
        self.settings: WorkerSettings = settings(cfg)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.stopped = threading.Event()
        self.sms: Worker | None = None
        if sms_settings(cfg).enabled:
            self.sms = make_worker(db, cfg, data_dir, self.clock)
        self.launcher = jobs.Launcher(
            db,
            lambda: cfg,
            mode="thread",
            spawn=lambda fn, *args: fn(*args),  # this loop's own thread runs the job
            sleep=self._sleep,
            on_done=self._imported,
            workdir=data_dir / "imports",
            lease_seconds=self.settings.lease_seconds,
        )
        self._threads: list[threading.Thread] = []

    # --- one pass of each kind ------------------------------------------------------------
    def imports_once(self) -> int:
        """Run every import job no live runner holds; returns how many were started."""
        with self.db.read() as conn:
            waiting = import_store.open_jobs(conn)
        started = 0
        for job in waiting:
            if self.stopped.is_set():
                break
            if jobs.lease_free(job):
                self.launcher.start(job["id"])
                started += 1
        return started

    def warm_reports(self) -> int:
        """Group the queue report's past days not cached yet; returns the days looked at."""
        days = self.settings.warm_report_days
        if days == 0:
            return 0
        now = self.clock.now()
        today = business_day(now, self.cfg.tz)
        period = Period(today - timedelta(days=days), today - timedelta(days=1), self.cfg.tz)
        day_groups(self.db, period, now)
        return period.days

    def sms_once(self) -> int:
        if self.sms is None:
            return 0
        self.sms.recover()
        total = 0
        while (n := self.sms.run_once()) > 0:
            total += n
        return total

    def _imported(self, job: dict[str, Any]) -> None:
        report = job.get("report") or {}
        if self.sms is not None and report.get("committed") and report.get("notifications"):
            self.sms.poke()

    # --- the loops --------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        self.stopped.wait(seconds)

    def _loop(self, what: str, once: Callable[[], int], every: float) -> None:
        while not self.stopped.is_set():
            try:
                once()
            except DatabaseClosed:
                break
            except (*DATABASE_ERRORS, OSError) as exc:
                log.warning("worker %s: %s failed (%s); trying again", self.name, what, exc)
            except Exception:
                log.exception("worker %s: %s failed", self.name, what)
            self.stopped.wait(every)

    def start(self) -> None:
        loops: list[tuple[str, Callable[[], Any]]] = [
            (
                "imports",
                lambda: self._loop("imports", self.imports_once, self.settings.poll_seconds),
            )
        ]
        if self.sms is not None:
            sms = self.sms
            loops.append(("sms", lambda: sms.run_forever(time.sleep)))
        if self.settings.warm_every_s > 0 and self.settings.warm_report_days > 0:
            loops.append(
                (
                    "reports",
                    lambda: self._loop("reports", self.warm_reports, self.settings.warm_every_s),
                )
            )
        for name, target in loops:
            thread = threading.Thread(target=target, name=f"worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker %s started: %s", self.name, ", ".join(n for n, _ in loops))

    def stop(self, wait: float = 5.0) -> None:
        """Stop the loops; a job still running is left to its lease (another worker, or
        this one restarted, goes on after its last committed batch)."""
        self.stopped.set()
        if self.sms is not None:
            self.sms.stop()
        deadline = time.monotonic() + wait
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
