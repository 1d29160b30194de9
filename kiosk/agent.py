"""The kiosk agent: the program next to the thermal printer.

It receives print jobs over Socket.IO (``kiosk.client``), renders each ticket
(``kiosk.ticket.render_ticket``), prints it with a backend (``kiosk.printers``),
acknowledges the outcome, and reports the printer's state every few seconds so the
page and the supervisors know when it is out of paper.  Jobs are printed one at a time
by a worker thread, so a slow printer never stalls the connection; a job already printed
(journal or backend) is acknowledged again without printing."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.client import KioskClient
from kiosk.journal import PrintedJournal
from kiosk.printers import OFFLINE, Printer, PrinterError
from kiosk.ticket import TicketJob, TicketJobError, render_ticket

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
_WARMUP = TicketJob(
    job_id="warmup",
    ticket_id=0,
    center="Trung tâm Phục vụ hành chính công",
    service_name="Đất đai",
    label="1000",
    priority=None,
    issued_at="2026-01-01T00:00:00+00:00",
    people_ahead=0,
    estimated_wait_min=0,
    tracking_url="http://localhost/t/warmup",
)


class Client(Protocol):
    """What the agent needs from the network layer (``KioskClient`` or a test double)."""

    refused: str | None

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait_stopped(self, timeout: float | None = None) -> bool: ...

    def printed(
        self, job_id: str, ok: bool, error: str | None = None, printer: str | None = None
    ) -> bool: ...

    def heartbeat(self, printer: str, detail: str = "") -> bool: ...


@dataclass(frozen=True)
class Outcome:
    job_id: str | None
    ok: bool
    error: str | None = None
    reprint: bool = False  # already printed before; acknowledged again only


class KioskAgent:
    def __init__(
        self,
        server_url: str,
        token: str,
        printer: Printer,
        *,
        paper_mm: int = 80,
        heartbeat_s: float = HEARTBEAT_S,
        journal: PrintedJournal | None = None,
        client: Client | None = None,
    ) -> None:
        self.printer = printer
        self.paper_mm = paper_mm
        self.heartbeat_s = heartbeat_s
        self.journal = journal
        self.client: Client = client or KioskClient(
            server_url, token, self.enqueue, on_connect=self.beat_soon
        )
        self.outcomes: list[Outcome] = []  # what this run printed (for logs and tests)
        self._jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stop = threading.Event()
        self._beat = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        for name, target in (("kiosk-printer", self._work), ("kiosk-heartbeat", self._beats)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.client.start()

    def stop(self) -> None:
        self._stop.set()
        self._beat.set()
        self._jobs.put(None)
        self.client.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self.printer.close()

    def run_forever(self) -> int:
        """Run until stopped (Ctrl-C) or refused; 0 on a normal stop, 2 when refused."""
        self.start()
        try:
            while not self.client.wait_stopped(1.0):
                pass
        except KeyboardInterrupt:
            log.info("stopping")
        refused = self.client.refused
        self.stop()
        return 2 if refused else 0

    # --- jobs -----------------------------------------------------------------------------
    def enqueue(self, payload: dict[str, Any]) -> None:
        self._jobs.put(payload)

    def handle(self, payload: dict[str, Any]) -> Outcome:
        """Print one job payload; never raises for a bad job or a printer fault."""
        job_id = payload.get("job_id") if isinstance(payload, dict) else None
        job_id = job_id if isinstance(job_id, str) else None
        try:
            job = TicketJob.from_payload(payload)
        except TicketJobError as exc:
            log.error("job %s cannot be printed: %s", job_id, exc)
            return Outcome(job_id, False, f"bad job: {exc}")
        if self.journal is not None and job.job_id in self.journal:
            log.info("job %s (%s) was printed already; not printing again", job.job_id, job.label)
            return Outcome(job.job_id, True, reprint=True)
        data = render_ticket(job, self.paper_mm)
        try:
            self.printer.print_job(job.job_id, data)
        except (PrinterError, ValueError) as exc:
            log.warning("job %s (%s) not printed: %s", job.job_id, job.label, exc)
            return Outcome(job.job_id, False, str(exc))
        if self.journal is not None:
            self.journal.add(job.job_id)
        log.info("job %s printed: number %s", job.job_id, job.label)
        return Outcome(job.job_id, True)

    def _work(self) -> None:
        render_ticket(_WARMUP, self.paper_mm)  # loads fonts and QR tables before the first citizen
        while not self._stop.is_set():
            payload = self._jobs.get()
            if payload is None:
                break
            outcome = self.handle(payload)
            self.outcomes.append(outcome)
            if outcome.job_id is None:
                continue
            printer = None if outcome.ok else self._printer_state()[0]
            if not self.client.printed(outcome.job_id, outcome.ok, outcome.error, printer):
                log.info("job %s: acknowledgement deferred until reconnection", outcome.job_id)
            if not outcome.ok:
                self.beat_soon()

    # --- heartbeats -----------------------------------------------------------------------
    def beat_soon(self) -> None:
        self._beat.set()

    def _printer_state(self) -> tuple[str, str]:
        try:
            state = self.printer.status()
        except (PrinterError, OSError) as exc:  # a backend must not kill the heartbeat
            return OFFLINE, str(exc)
        return state, str(getattr(self.printer, "detail", "") or "")

    def _beats(self) -> None:
        while not self._stop.is_set():
            self._beat.wait(self.heartbeat_s)
            self._beat.clear()
            if self._stop.is_set():
                break
            started = time.monotonic()
            state, detail = self._printer_state()
            if self.client.heartbeat(state, detail):
                log.debug(
                    "heartbeat: printer %s (%.0f ms)", state, (time.monotonic() - started) * 1e3
                )
