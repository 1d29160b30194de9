"""Touch → printed ticket: from the kiosk page's POST /api/v1/tickets to the ticket's
bytes written by the printer backend, through the real path — the production server
(gunicorn + gevent, `motcua serve`) issues the ticket and emits the print job on /kiosk,
the kiosk agent (kiosk.agent, over Socket.IO) renders it and the file backend writes
the .bin and its PNG preview.  One ticket at a time, as one kiosk issues them."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from kiosk.agent import KioskAgent
from kiosk.journal import PrintedJournal
from kiosk.printers import FilePrinter

from ._server import CONFIG_NOTE, OtherLoad, Server

Row = tuple[str, str, str, str]

TICKETS = 100
WARMUP = 5
SERVICES = ["DD", "HT", "CC", "KD", "XD", "GT", "LD", "TKQ"]
TARGET_P95_S = 1.0


class TimedPrinter(FilePrinter):
    """The file backend, noting when each job's bytes are on disk."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, 80)
        self.done: dict[str, float] = {}
        self.cond = threading.Condition()

    def print_job(self, job_id: str, data: bytes) -> None:
        super().print_job(job_id, data)
        with self.cond:
            self.done[job_id] = time.perf_counter()
            self.cond.notify_all()

    def wait(self, job_id: str, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: job_id in self.done, timeout)
            return self.done.get(job_id)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run() -> list[Row]:
    with Server() as srv, tempfile.TemporaryDirectory(prefix="motcua-kiosk-") as tmp:
        token = srv.device("kiosk-bench", "kiosk")
        srv.start()
        printer = TimedPrinter(Path(tmp) / "tickets")
        agent = KioskAgent(
            f"http://127.0.0.1:{srv.port}",
            token,
            printer,
            heartbeat_s=10,
            journal=PrintedJournal(Path(tmp) / "printed.log"),
        )
        agent.start()
        try:
            if not agent.client.wait_connected(10):  # type: ignore[attr-defined]
                raise RuntimeError("the kiosk agent did not connect")
            other = OtherLoad()
            touch_to_bytes, issue_http, lost = [], [], 0
            for i in range(WARMUP + TICKETS):
                t0 = time.perf_counter()
                status, body = srv.request(
                    "POST", "/api/v1/tickets", {"service": SERVICES[i % len(SERVICES)]}, token
                )
                t1 = time.perf_counter()
                if status != 201 or body["print"]["status"] != "sent":
                    raise RuntimeError(f"ticket {i}: {status} {body}")
                done = printer.wait(body["print"]["job_id"], timeout=10)
                if i < WARMUP:
                    continue
                if done is None:
                    lost += 1
                    continue
                touch_to_bytes.append(done - t0)
                issue_http.append(t1 - t0)
            note = other.note()
        finally:
            agent.stop()
    p50, p95 = _pct(touch_to_bytes, 50), _pct(touch_to_bytes, 95)
    return [
        (
            "kiosk: touch → ticket bytes at the printer",
            f"p50 {p50 * 1e3:.0f} ms, p95 {p95 * 1e3:.0f} ms, max {max(touch_to_bytes) * 1e3:.0f} ms",
            f"p95 < {TARGET_P95_S:.0f} s",
            f"{len(touch_to_bytes)} tickets one by one: API issue → /kiosk job → agent renders "
            f"(80 mm) → file backend .bin + .png; {lost} not printed in 10 s; {note}",
        ),
        (
            "kiosk: of which POST /api/v1/tickets",
            f"p50 {statistics.median(issue_http) * 1e3:.1f} ms, "
            f"p95 {_pct(issue_http, 95) * 1e3:.1f} ms",
            "-",
            f"gunicorn + gevent, 127.0.0.1; {CONFIG_NOTE}",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
