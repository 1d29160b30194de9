"""Soak: a simulated day at 10× speed against the production server, watching for leaks.

`motcua serve` (gunicorn, one gevent worker, started by `benchmarks._server`) serves a
province-sized day (`_soakday`: 3,000 visitors at 3 kiosks, 100 counters calling,
starting, finishing, recalling, marking no-shows and transferring, phones tracking and
rating, a lookup screen, kiosk pages refreshing) while three boards, the kiosks' print
agents and a rotation of tracking phones stay on Socket.IO.  Every 10 s the worker's
RSS and open file descriptors are read (psutil).  Afterwards: start/end/max of both, a
least-squares slope of each after the warm-up, and the queue's invariants from the
database (no duplicate number, no ticket called twice, every state accounted for, the
boards saw every call in order).  Every client talks to 127.0.0.1 only and stops at its
deadline; a hard deadline stops the day even if the server stalls.

Why these leak thresholds.  At 10× one real hour is ten simulated hours — about one
whole working day of a province server.  A server should run a month of working days
(22) between planned restarts within the 200 MB budget of DESIGN.md, from a working
size of about 70 MB: that leaves ~130 MB / 22 days ≈ 6 MB per day, so the RSS slope
must stay under 6 MB per real hour.  A descriptor is never "used up" by a day's work
(connections close, files are reopened): one lost per connection would show as
hundreds per hour, so more than 10 per hour is a leak.

Warm-up.  RSS rises while the day's database grows to ~4 MB: each of the worker's two
SQLite connections caches up to 2 MB of pages, and the allocator's arenas fill with
them.  Measured on this machine (`--minutes 40`): 67 MB at start, 78 MB after the first
minute, 80–81 MB from minute 9 to minute 40 while the database grew from 2 to 5 MB and
~32,000 requests were served (slope after 20 minutes: −0.2 MB/h); traced Python memory
does not grow at all in-process.  So the fit starts after half the run and never before
15 minutes, and a fit over less than 10 minutes is reported but not judged: run
`--minutes 30` or more for a verdict (`make bench` runs the 10-minute default for its
figures)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psutil
import socketio

from ._server import CONFIG_NOTE, HOST, OtherLoad, Server, boost, sample_dossier
from ._soakday import Day, Plan, check, problems
from .socket_fanout import _RealClient

Row = tuple[str, str, str, str]

SPEED = 10.0
SAMPLE_S = 10.0
KIOSKS = 3
BOARDS = 3
PHONES = 3  # tracking phones connected at any moment (each follows one ticket ~30 s)
RSS_LIMIT_MB_H = 6.0
FD_LIMIT_H = 10.0
MIN_FIT_S = 600.0
WARMUP_MIN_S = 900.0
WARMUP_SHARE = 0.5
DOSSIERS = 40


# --- HTTP -----------------------------------------------------------------------------------
class HttpTransport:
    """Devices keep one keep-alive connection each (re-opened when the server closed it
    while idle); phones open a new connection for every request, as phones do."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: dict[str, http.client.HTTPConnection] = {}

    def __call__(
        self, actor: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        keep = actor != "phone"
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if not keep:
            headers["Connection"] = "close"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            conn = self.conns.pop(actor, None) if keep else None
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                conn.request(method, path, data, headers)
                resp = conn.getresponse()
                raw = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection: reconnect
                raise
            if keep and not resp.will_close:
                self.conns[actor] = conn
            else:
                conn.close()
            is_json = (resp.getheader("Content-Type") or "").startswith("application/json")
            return resp.status, (json.loads(raw) if raw and is_json else None)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


def seed_dossiers(http: HttpTransport, key: str, n: int) -> list[str]:
    """Dossiers for the lookup screen, pushed by a department's key like its software."""
    codes = []
    for i in range(1, n + 1):
        code, body = sample_dossier(i)
        status, answer = http("department", "PUT", f"/api/v1/dossiers/{code}", body, key)
        if status not in (200, 201):
            raise RuntimeError(f"PUT dossier {code}: {status} {answer}")
        codes.append(code)
    return codes


# --- Socket.IO clients ----------------------------------------------------------------------
class Agent:
    """A kiosk's print agent: acknowledges every print job as printed."""

    def __init__(self, port: int, token: str) -> None:
        self.jobs = 0
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("print", self._on_print, namespace="/kiosk")
        self.sio.connect(
            f"http://{HOST}:{port}",
            namespaces=["/kiosk"],
            auth={"token": token, "agent": True},
            transports=["websocket"],
            wait_timeout=30,
        )

    def _on_print(self, data: dict[str, Any]) -> None:
        self.jobs += 1
        self.sio.emit("printed", {"job_id": data["job"]["job_id"], "ok": True}, namespace="/kiosk")


class Phones(threading.Thread):
    """Citizens' phones on the tracking page: each connects, follows a recent ticket for
    about 30 s and goes away; `PHONES` of them at any moment."""

    def __init__(self, port: int, tokens: list[str], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.tokens, self.stop_event = port, tokens, stop
        self.sessions = 0
        self.events = 0
        self.failures: list[str] = []

    def _session(self) -> socketio.Client | None:
        if not self.tokens:
            return None
        sio = socketio.Client(reconnection=False)
        sio.on("ticket", self._on_ticket, namespace="/track")
        try:
            sio.connect(
                f"http://{HOST}:{self.port}",
                namespaces=["/track"],
                transports=["websocket"],
                wait_timeout=30,
            )
            ack = sio.call("follow", {"token": self.tokens[-1]}, namespace="/track", timeout=30)
        except (socketio.exceptions.SocketIOError, OSError) as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
            sio.disconnect()
            return None
        if not ack or not ack.get("ok"):
            self.failures.append(f"follow refused: {ack}")
        self.sessions += 1
        return sio

    def _on_ticket(self, data: Any) -> None:
        self.events += 1

    def run(self) -> None:
        open_: list[tuple[float, socketio.Client]] = []
        while not self.stop_event.wait(1.0):
            now = time.monotonic()
            for started, sio in [x for x in open_ if now - x[0] > 30]:
                sio.disconnect()
                open_.remove((started, sio))
            if len(open_) < PHONES:
                sio = self._session()
                if sio is not None:
                    open_.append((now, sio))
        for _, sio in open_:
            sio.disconnect()


# --- sampling and the verdict ---------------------------------------------------------------
@dataclass
class Sample:
    t: float  # seconds since the day started
    rss_mb: float
    fds: int
    db_conns: int  # SQLite connections the worker holds (each caches up to 2 MB of pages)
    threads: int  # native threads (gevent's pool runs the fsyncs; each may get a malloc arena)
    db_mb: float  # the database file: its pages fill the connections' page caches


class Sampler(threading.Thread):
    def __init__(self, pid: int, t0: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.t0, self.stop_event = t0, stop
        self.samples: list[Sample] = []

    def take(self) -> None:
        with self.proc.oneshot():
            rss, fds = self.proc.memory_info().rss / 2**20, self.proc.num_fds()
            threads = self.proc.num_threads()
        dbs = [f.path for f in self.proc.open_files() if f.path.endswith(".sqlite3")]
        db_mb = sum(os.path.getsize(p) for p in set(dbs) if os.path.exists(p)) / 2**20
        self.samples.append(Sample(time.monotonic() - self.t0, rss, fds, len(dbs), threads, db_mb))

    def run(self) -> None:
        self.take()
        while not self.stop_event.wait(SAMPLE_S):
            self.take()


def slope_per_hour(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (seconds), per hour."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return (
        3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    )


def verdict(samples: list[Sample], run_s: float) -> dict[str, Any]:
    warmup = max(WARMUP_MIN_S, WARMUP_SHARE * run_s)
    fit = [s for s in samples if s.t >= warmup] or samples[-2:]
    ts = [s.t for s in fit]
    rss = slope_per_hour(ts, [s.rss_mb for s in fit])
    fds = slope_per_hour(ts, [float(s.fds) for s in fit])
    span = ts[-1] - ts[0] if len(ts) > 1 else 0.0
    if span < MIN_FIT_S:
        word = f"inconclusive: {span / 60:.1f} min after warm-up (judged from {MIN_FIT_S / 60:.0f})"
    elif rss > RSS_LIMIT_MB_H or fds > FD_LIMIT_H:
        word = "LEAK SUSPECTED"
    else:
        word = "no leak"
    return {
        "rss_slope": rss,
        "fd_slope": fds,
        "span": span,
        "n": len(fit),
        "warmup": warmup,
        "verdict": word,
    }


# --- the run ------------------------------------------------------------------------------
def _board_check(seen: list[list[tuple[float, int, int]]], seqs: list[int]) -> tuple[int, int]:
    lost = out_of_order = 0
    for board in seen:
        got = [s for _, s, _ in board]
        lost += len(set(seqs) - set(got))
        out_of_order += int(got != sorted(got) or len(got) != len(set(got)))
    return lost, out_of_order


def run(minutes: float | None = None, visitors: int = 3000) -> list[Row]:
    minutes = minutes if minutes is not None else float(os.environ.get("BENCH_SOAK_MINUTES", "10"))
    boost()
    run_s = minutes * 60
    counters = max(10, visitors // 30)
    with Server(counters=counters) as srv:
        kiosk_tokens = [srv.device(f"kiosk-{i}", "kiosk") for i in range(KIOSKS)]
        board = srv.device("board-soak", "display")
        boss = srv.user_token("boss", "supervisor")
        key = srv.cli("apikey", "add", "STP", "--name", "Sở Tư pháp")
        srv.start()
        http = HttpTransport(srv.port)
        dossiers = seed_dossiers(http, key, DOSSIERS)
        _, services = http("setup", "GET", "/api/v1/services")
        _, hall = http("setup", "GET", "/api/v1/counters")
        day = Day(
            http,
            kiosks=kiosk_tokens,
            staff=boss,
            counters={c["number"]: c["services"] for c in hall["counters"]},
            services=[s["code"] for s in services["services"]],
            dossiers=dossiers,
            plan=Plan(visitors=visitors),
        )
        stop = threading.Event()
        boards = [_RealClient(srv.port, board) for _ in range(BOARDS)]
        agents = [Agent(srv.port, t) for t in kiosk_tokens]
        phones = Phones(srv.port, day.followed, stop)
        worker = srv.worker_pids()[-1]
        t0 = time.monotonic()
        sampler = Sampler(worker, t0, stop)
        other = OtherLoad()
        sampler.start()
        phones.start()

        def pace(at: float) -> None:
            wait = t0 + at / SPEED - time.monotonic()
            if wait > 0:
                stop.wait(wait)

        hard_stop = t0 + run_s + 120
        try:
            day.run(pace, until_s=run_s * SPEED, stop=lambda: time.monotonic() > hard_stop)
            pace(run_s * SPEED)  # the last stretch of the day may have no event
            time.sleep(1.0)  # the last calls reach the boards
            sampler.take()
        finally:
            stop.set()
            sampler.join(timeout=5)
            phones.join(timeout=40)
            seen = [rc.take() for rc in boards]
            for client in [*(rc.sio for rc in boards), *(a.sio for a in agents)]:
                client.disconnect()
            http.close()
        load_note = other.note()
        elapsed = time.monotonic() - t0
        srv.stop()
        conn = sqlite3.connect(f"file:{srv.data / 'motcua.sqlite3'}?mode=ro", uri=True)
        try:
            found = check(conn)
        finally:
            conn.close()
    stats = day.stats
    faults = problems(found, stats)
    lost, disorder = _board_check(seen, found["seqs"])
    v = verdict(sampler.samples, run_s)
    s = sampler.samples
    rss = [x.rss_mb for x in s]
    fds = [x.fds for x in s]
    top = Counter({k: n for k, n in stats.ops.items()}).most_common(8)
    per_minute = [min(s, key=lambda x: abs(x.t - 60 * m)) for m in range(int(minutes) + 1)]
    return [
        (
            f"soak: simulated day at {SPEED:.0f}× for {minutes:g} min",
            f"{stats.total:,} requests ({stats.total / elapsed:.1f}/s), {len(stats.issued):,} "
            f"tickets, {len(found['seqs']):,} calls",
            "-",
            f"{visitors:,} visitors/day, {counters} counters, {KIOSKS} kiosks, {BOARDS} boards, "
            f"{phones.sessions} phone sessions; {', '.join(f'{k} {n}' for k, n in top)}; "
            f"{load_note}",
        ),
        (
            "soak: server RSS start / end / max",
            f"{rss[0]:.0f} / {rss[-1]:.0f} / {max(rss):.0f} MB",
            "≤ 200 MB",
            f"gunicorn worker, {len(s)} samples every {SAMPLE_S:.0f} s",
        ),
        (
            "soak: server open FDs start / end / max",
            f"{fds[0]} / {fds[-1]} / {max(fds)}",
            "-",
            "sockets, database, logs of the worker",
        ),
        (
            "soak: RSS / FD slope after warm-up",
            f"{v['rss_slope']:+.1f} MB/h, {v['fd_slope']:+.1f} FDs/h",
            f"≤ {RSS_LIMIT_MB_H:g} MB/h, ≤ {FD_LIMIT_H:g} /h",
            f"least squares over {v['n']} samples ({v['span'] / 60:.1f} min) after "
            f"{v['warmup']:.0f} s warm-up; at {SPEED:.0f}× one hour ≈ one working day",
        ),
        ("soak: leak verdict", v["verdict"], "no leak", "thresholds: see benchmarks/soak.py"),
        (
            "soak: RSS / FDs each minute",
            " ".join(f"{x.rss_mb:.0f}" for x in per_minute) + " MB",
            "flat after warm-up",
            "FDs "
            + " ".join(str(x.fds) for x in per_minute)
            + "; SQLite connections "
            + " ".join(str(x.db_conns) for x in per_minute)
            + "; threads "
            + " ".join(str(x.threads) for x in per_minute)
            + "; database MB "
            + " ".join(f"{x.db_mb:.1f}" for x in per_minute),
        ),
        (
            "soak: invariants after the day",
            f"{len(faults)} problems",
            "0",
            "; ".join(faults)[:300]
            or f"no duplicate number, no ticket called twice, states balance; {CONFIG_NOTE}",
        ),
        (
            "soak: 5xx / transport errors",
            f"{len(stats.errors)} / {len(stats.failures)}",
            "0 / 0",
            "; ".join([*stats.errors, *stats.failures][:3])[:300]
            + (f" kept under rate limits: {dict(stats.skipped)}" if stats.skipped else ""),
        ),
        (
            "soak: lost / out-of-order calls on boards",
            f"{lost} / {disorder}",
            "0 / 0",
            f"{BOARDS} python-socketio boards; {sum(a.jobs for a in agents)} print jobs "
            f"acknowledged; {phones.events} tracking events"
            + (f"; phone failures: {phones.failures[:2]}" if phones.failures else ""),
        ),
    ]


def _print(rows: list[Row]) -> None:
    header = ("measure", "value", "target", "note")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="real minutes (default 10)")
    parser.add_argument("--visitors", type=int, default=3000, help="visitors in the whole day")
    args = parser.parse_args()
    _print(run(args.minutes, args.visitors))
