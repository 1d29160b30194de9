"""Peers of the benchmark server on loopback: the SMS provider's API (`SmsSink`) and
the kiosk agent (`Agent`), for benchmarks.crash."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._server import HOST, MOTCUA, Server


class SmsSink:
    """The SMS provider's API: counts deliveries per message ref; `hold()` leaves the next
    request unanswered until `release()` (a send caught in flight by the kill)."""

    def __init__(self, latency_s: float) -> None:
        self.received: Counter[str] = Counter()
        self.times: list[float] = []
        self.holding, self.released = threading.Event(), threading.Event()
        self._hold = False
        self.held: str | None = None  # the ref of the message held
        lock, sink = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                ref = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["ref"]
                with lock:
                    sink.received[ref] += 1
                    sink.times.append(time.perf_counter())
                    hold, sink._hold = sink._hold, False
                if hold:
                    sink.held = ref
                    sink.holding.set()
                    sink.released.wait(60)
                else:
                    time.sleep(latency_s)
                reply = json.dumps({"message_id": ref}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the server that asked was killed meanwhile

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{HOST}:{self.server.server_address[1]}/send"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hold(self) -> None:
        self._hold = True

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class Agent:
    """`motcua kiosk` (the kiosk agent) printing to a folder; what it did is read from its
    log: the agent and the file backend log every job they print or skip."""

    def __init__(self, srv: Server, token: str) -> None:
        self.dir, self.log = srv.tmp / "printed", srv.tmp / "agent.log"
        cmd = [MOTCUA, "kiosk", "--server", f"http://{HOST}:{srv.port}"]
        cmd += ["--printer", f"file:{self.dir}", "--state-dir", str(srv.tmp / "agent")]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=log,
                env={**srv.env, "MOTCUA_KIOSK_TOKEN": token},
                start_new_session=True,
            )

    def grep(self, pattern: str) -> list[str]:
        return re.findall(pattern, self.log.read_text(encoding="utf-8", errors="replace"))

    def connects(self) -> int:
        return len(self.grep(r"kiosk\.client: connected to "))

    def printed(self) -> Counter[str]:
        """How many times each job reached the printer backend.  The file backend skips a
        job whose file exists, but a thermal printer would print it again: more than one
        means the journal let a re-sent job through."""
        return Counter(self.grep(r"kiosk\.printers: job (\S+) (?:already )?printed to "))

    def absorbed(self) -> tuple[int, int]:
        """Re-sent jobs skipped (by the agent's journal, by the file backend)."""
        return (
            len(self.grep(r"kiosk\.agent: job \S+ \(.*?\) was printed already")),
            len(self.grep(r"kiosk\.printers: job \S+ already printed to")),
        )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
