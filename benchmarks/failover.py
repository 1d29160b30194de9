"""Fail-over (issue 17): a province's shape on loopback — `Plan.servers` `motcua serve`
processes behind HAProxy (`deploy/haproxy.cfg`, benchmarks/_cluster.py) and one
`motcua worker` (`workers.mode: external`: the servers send no SMS, the worker does),
on one PostgreSQL schema and one Redis channel — under a hall's load through the balancer:
kiosks issue, counters call and finish, a department pushes dossiers (one SMS each to
a sink here that counts deliveries per message), raw boards (`_sio.Follower`:
reconnect, `resync` from their last seq), the pygame board's own network and state code
(`display.client.BoardClient`, headless: long-polling, then the upgrade, so it needs
the balancer's stickiness) and tracking pages follow.

The timeline, `Plan.phase_s` apart: `kill -9` of one server process, then of the
worker; both restarted; then a rolling restart (each server stopped with SIGTERM and
started again in turn, then the worker).  Then the load stops, everybody catches up
(within `settle_s`) and:

- every ticket whose 201 arrived is in the database with its number; per (service,
  day) numbers have no duplicate and no gap;
- every board shows every call made after its first snapshot exactly once, in seq order;
- every client that lost its connection is back within 5 s (boards: a new snapshot;
  tracking pages: their ticket again; kiosks and counters: their next answer);
- kiosks retry once on a connection error (or the balancer's 502/503/504): errors left
  after that retry are counted, during the kills and during the rolling restart;
- no SMS reached the sink twice, and every SMS queued was sent (the killed worker's
  claims are taken back after `sms.lease_seconds`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import multiprocessing as mp
import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from display.client import BoardClient
from display.state import BoardState

from . import _cluster, _sio
from ._load import AsyncConn
from ._peers import SmsSink
from ._server import HOST, OtherLoad, boost, sample_dossier
from .crash import Heard
from .http_issue import SERVICES

log = logging.getLogger(__name__)
Row = tuple[str, str, str, str]
BACK_S = 5.0  # every client back within this
RETRYABLE = {502, 503, 504}


@dataclass
class Plan:
    servers: int = 3
    kiosks: int = 20
    counters: int = 30
    boards: int = 50
    trackers: int = 200
    phase_s: float = 8.0  # between two events of the timeline
    kiosk_pause_s: float = 0.25  # each kiosk: a ticket, then this pause
    counter_pause_s: float = 0.5  # each counter: next, finish, then this pause
    burst: int = 5  # dossiers the department pushes at once …
    burst_every_s: float = 1.0  # … this often (one SMS each)
    lease_s: float = 10.0  # sms.lease_seconds: a killed worker's claims come back after it
    settle_s: float = 30.0


#: The test suite's size (tests/test_failover.py).
SMALL = Plan(kiosks=4, counters=4, boards=5, trackers=10, phase_s=3.0, burst=2)


# --- clients (one load process, asyncio) ---------------------------------------------------
@dataclass
class Client:
    """What one HTTP client saw: answers, failures after a retry, and its outages (from
    its first failed request to its next answer)."""

    answered: int = 0
    retried: int = 0
    errors: list[float] = field(default_factory=list)  # when a retry failed too
    outages: list[float] = field(default_factory=list)
    outage_starts: list[float] = field(default_factory=list)
    down_since: float | None = None

    def up(self) -> None:
        self.answered += 1
        if self.down_since is not None:
            self.outages.append(time.perf_counter() - self.down_since)
            self.outage_starts.append(self.down_since)
            self.down_since = None

    def down(self) -> None:
        if self.down_since is None:
            self.down_since = time.perf_counter()


async def _ask(
    conn: AsyncConn, method: str, path: str, body: bytes, token: str
) -> tuple[int, bytes] | None:
    """One request; None when the connection failed or the balancer found no server."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        got = await asyncio.wait_for(conn.request(method, path, body, headers), 10.0)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        conn.close()
        return None
    if got[0] in RETRYABLE:
        conn.close()
        return None
    return got


async def _once_more(
    me: Client, conn: AsyncConn, method: str, path: str, body: bytes, token: str
) -> tuple[int, bytes] | None:
    """A request, retried once (as a kiosk does) on a connection error."""
    got = await _ask(conn, method, path, body, token)
    if got is None:
        me.down()
        me.retried += 1
        await asyncio.sleep(0.2)
        got = await _ask(conn, method, path, body, token)
        if got is None:
            me.errors.append(time.perf_counter())
    if got is not None:
        me.up()
    return got


async def _kiosk(i: int, port: int, token: str, plan: Plan, stop: asyncio.Event, out: Any):
    me, conn, rng = out.kiosks[i], AsyncConn(port), random.Random(i)
    while not stop.is_set():
        body = json.dumps({"service": rng.choice(SERVICES)}).encode()
        got = await _once_more(me, conn, "POST", "/api/v1/tickets", body, token)
        if got is not None and got[0] == 201:
            t = json.loads(got[1])
            out.tickets.append((t["token"], t["service"], t["number"]))
        elif got is not None:
            out.refused[f"issue {got[0]}"] += 1
        await asyncio.sleep(plan.kiosk_pause_s)
    conn.close()


async def _counter(n: int, port: int, token: str, plan: Plan, stop: asyncio.Event, out: Any):
    me, conn = out.counters[n - 1], AsyncConn(port)
    while not stop.is_set():
        got = await _once_more(me, conn, "POST", f"/api/v1/counters/{n}/next", b"{}", token)
        if got is not None and got[0] == 200:
            ticket = json.loads(got[1])["ticket"]["id"]
            await _once_more(me, conn, "POST", f"/api/v1/tickets/{ticket}/finish", b"{}", token)
        await asyncio.sleep(plan.counter_pause_s)
    conn.close()


async def _department(port: int, key: str, plan: Plan, stop: asyncio.Event, out: Any):
    """A department's software: a failed PUT is sent again as is (it is idempotent)."""
    me, conn, i = Client(), AsyncConn(port), 0
    while not stop.is_set():
        for _ in range(plan.burst):
            i += 1
            code, body = sample_dossier(i)
            data = json.dumps(body).encode()
            while not stop.is_set():
                got = await _once_more(me, conn, "PUT", f"/api/v1/dossiers/{code}", data, key)
                if got is not None and got[0] in (200, 201):
                    out.sms_queued += int(json.loads(got[1])["notifications"])
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(plan.burst_every_s)
    conn.close()


@dataclass
class Page:
    """A tracking page on /track (raw WebSocket, as `_sio.Follower` boards): it follows
    its ticket again after every reconnection; an outage ends with its ticket's state."""

    token: str
    events: int = 0
    connects: int = 0
    outages: list[float] = field(default_factory=list)
    lost_at: float | None = None

    def on_ticket(self) -> None:
        self.events += 1
        if self.lost_at is not None:
            self.outages.append(time.perf_counter() - self.lost_at)
            self.lost_at = None

    async def keep_up(self, port: int, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            lost: asyncio.Future[None] = loop.create_future()
            try:
                await loop.create_connection(
                    functools.partial(_TrackProtocol, self, lost), HOST, port
                )
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait([lost, stopping], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
            except OSError:
                pass
            if not stop.is_set():
                if self.lost_at is None:
                    self.lost_at = time.perf_counter()
                await asyncio.sleep(0.1 + random.random() * 0.2)


class _TrackProtocol(_sio._Protocol):
    def __init__(self, page: Page, lost: asyncio.Future[None]) -> None:
        super().__init__(_sio.Board(), "", "/track")
        self.page, self.lost = page, lost

    def _on_message(self, msg: str, now: float) -> None:
        if msg.startswith("40/track,"):
            assert self.transport is not None
            self.page.connects += 1
            follow = json.dumps({"token": self.page.token})
            self.transport.write(_sio._frame(f'42/track,["follow",{follow}]'))
        elif msg.startswith('42/track,["ticket",'):
            self.page.on_ticket()
        else:
            super()._on_message(msg, now)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.lost.done():
            self.lost.set_result(None)


@dataclass
class Seen:
    """Everything the load process saw (sent back to the benchmark when it ends)."""

    kiosks: list[Client]
    counters: list[Client]
    tickets: list[tuple[str, str, int]] = field(default_factory=list)  # (token, svc, number)
    refused: Counter[str] = field(default_factory=Counter)
    sms_queued: int = 0
    expected: list[int] = field(default_factory=list)  # every call's seq, from /calls
    boards: list[tuple[int, list[int], list[float], list[str]]] = field(default_factory=list)
    real_board_connects: int = 0  # the pygame board's connections (1 + its reconnections)
    pages: list[tuple[int, list[float], int]] = field(default_factory=list)
    settled_s: float = 0.0


async def _all_calls(port: int) -> list[int]:
    conn, seqs = AsyncConn(port), []
    try:
        while True:
            after = seqs[-1] if seqs else 0
            status, body = await conn.request("GET", f"/api/v1/calls?after={after}&limit=500")
            if status != 200:
                raise RuntimeError(f"GET /api/v1/calls: {status}")
            calls = json.loads(body)["calls"]
            if not calls:
                return seqs
            seqs += [c["seq"] for c in calls]
    finally:
        conn.close()


def _load(plan: Plan, port: int, tokens: dict[str, Any], go: Any, halt: Any, q: Any) -> None:
    """The load process: clients start at `go`, kiosks/counters stop at `halt`, then
    the boards and pages get `settle_s` to catch up with the last call."""

    async def main() -> Seen:
        out = Seen([Client() for _ in range(plan.kiosks)], [Client() for _ in range(plan.counters)])
        stop_load, stop_all = asyncio.Event(), asyncio.Event()
        boards = [_sio.Follower(port, tokens["board"]) for _ in range(plan.boards)]
        pages = [Page(t) for t in tokens["followed"]]
        watchers = [asyncio.ensure_future(b.keep_up(stop_all)) for b in boards]
        watchers += [asyncio.ensure_future(p.keep_up(port, stop_all)) for p in pages]
        heard = Heard()
        real = BoardClient(
            f"http://{HOST}:{port}", tokens["board"], BoardState(announce_max_age_s=3600.0), heard
        )
        real.start()
        deadline = time.monotonic() + 60
        while (
            any(b.baseline is None for b in boards)
            or any(not p.events for p in pages)
            or not real.state.has_baseline
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("boards or tracking pages not connected in 60 s")
            await asyncio.sleep(0.05)
        real_baseline = real.state.last_seq
        q.put(("ready", None))
        await asyncio.get_running_loop().run_in_executor(None, go.wait, 60)
        load = [_kiosk(i, port, tokens["kiosk"], plan, stop_load, out) for i in range(plan.kiosks)]
        load += [
            _counter(n, port, tokens["boss"], plan, stop_load, out)
            for n in range(1, plan.counters + 1)
        ]
        load.append(_department(port, tokens["key"], plan, stop_load, out))
        tasks = [asyncio.ensure_future(c) for c in load]
        await asyncio.get_running_loop().run_in_executor(None, halt.wait, 600)
        stop_load.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        t0 = time.perf_counter()
        out.expected = await _all_calls(port)
        final = out.expected[-1] if out.expected else 0
        while time.perf_counter() - t0 < plan.settle_s:
            if (
                all(b.last_seq >= final and b.lost_at is None for b in boards)
                and all(p.lost_at is None for p in pages)
                and real.state.last_seq >= final
            ):
                break
            await asyncio.sleep(0.1)
        out.settled_s = time.perf_counter() - t0
        stop_all.set()
        await asyncio.wait_for(asyncio.gather(*watchers, return_exceptions=True), 15)
        out.boards = [
            (b.baseline or 0, [s for _, s in b.accepted], b.outages, b.errors) for b in boards
        ]
        out.pages = [(p.events, p.outages, p.connects) for p in pages]
        out.boards.append((real_baseline, [seq for _, seq in heard.calls], [], []))
        out.real_board_connects = real.connects
        real.close()
        heard.close()
        return out

    try:
        q.put(("done", asyncio.run(main())))
    except Exception as exc:  # the benchmark reports it rather than waiting forever
        q.put(("failed", f"{type(exc).__name__}: {exc}"))


# --- the worker --------------------------------------------------------------------------
class Worker:
    """`motcua worker` on the cluster's config, data folder and database."""

    def __init__(self, cluster: _cluster.Cluster) -> None:
        self.srv = cluster.first
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.srv.tmp / "worker.log"

    def start(self) -> None:
        log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [self.srv.motcua, "worker", "--config", str(self.srv.config)]
            + ["--data-dir", str(self.srv.data)],
            stdout=log_file,
            stderr=log_file,
            env=self.srv.env,
            start_new_session=True,
        )
        log_file.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


# --- the run -------------------------------------------------------------------------------
@dataclass
class Outcome:
    plan: Plan
    seen: Seen
    events: list[tuple[float, str]] = field(default_factory=list)  # (perf_counter, what)
    rolling_from: float = 0.0
    sms: Counter[str] = field(default_factory=Counter)  # deliveries per message ref
    outbox: Counter[str] = field(default_factory=Counter)  # status → rows, at the end
    db_tickets: dict[str, tuple[str, int]] = field(default_factory=dict)  # token → (svc, n)
    numbers: dict[str, int] = field(default_factory=dict)
    call_seqs: list[int] = field(default_factory=list)
    other_load: str = ""
    server_errors: int = 0
    warnings: list[str] = field(default_factory=list)  # the servers' and balancer's most said


def _warnings(logs: list[str], top: int = 4) -> list[str]:
    """The most frequent WARNING/ERROR lines of the logs (numbers and ids blanked)."""
    said: Counter[str] = Counter()
    for text in logs:
        for line in text.splitlines():
            if "WARNING" in line or "ERROR" in line or " is DOWN" in line:
                said[re.sub(r"\d+", "N", line.split("]", 2)[-1].strip())[:120]] += 1
    return [f"{n}× {line}" for line, n in said.most_common(top)]


def _read_db(url: str, out: Outcome) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        out.db_tickets = {
            token: (svc, n)
            for token, svc, n in conn.execute("SELECT token, service, number FROM ticket")
        }
        rows = conn.execute(
            """SELECT t.service, t.day, count(*), count(DISTINCT t.number), min(t.number),
                      max(t.number), min(s.first_number), max(d.n)
               FROM ticket t JOIN service s ON s.code = t.service
               LEFT JOIN daily_number d ON d.service = t.service AND d.day = t.day
               GROUP BY t.service, t.day"""
        ).fetchall()
        out.numbers = {
            "tickets": sum(r[2] for r in rows),
            "duplicates": sum(r[2] - r[3] for r in rows),
            "gaps": sum(
                (r[5] - r[4] + 1 - r[3]) + (r[4] - r[6]) + abs((r[7] or 0) - r[5]) for r in rows
            ),
        }
        out.call_seqs = [s for (s,) in conn.execute("SELECT seq FROM call ORDER BY seq")]
        out.outbox = Counter(
            {
                s: n
                for s, n in conn.execute(
                    "SELECT status, count(*) FROM notification GROUP BY status"
                )
            }
        )


def scenario(plan: Plan, database_url: str, redis_url: str) -> Outcome:
    """Run the timeline once (see the module's docstring); every step is bounded."""
    sink = SmsSink(0.02)
    sms: dict[str, Any] = {"gateway": "http", "lease_seconds": plan.lease_s}
    # one department key stands for a province's departments: no hourly cap reached
    sms["limits"] = {"per_sender_hour": 100_000, "per_number_day": 5}
    sms["http"] = {"url": sink.url, "body": {"to": "{phone}", "message": "{text}", "ref": "{id}"}}
    sms["http"]["timeout"] = 5
    sms["poll_seconds"] = 0.2
    cluster = _cluster.Cluster(
        plan.servers,
        database_url=database_url,
        redis_url=redis_url,
        counters=plan.counters,
        extra={"sms": sms, "workers": {"mode": "external", "poll_seconds": 0.2}},
    )
    worker = Worker(cluster)
    proc: Any = None
    sink.start()
    try:
        first = cluster.first
        tokens: dict[str, Any] = {
            "kiosk": first.device("kiosk-hall", "kiosk"),
            "board": first.device("board-hall", "display"),
            "boss": first.user_token("boss", "supervisor"),
            "key": first.cli("apikey", "add", "STP", "--name", "Sở Tư pháp"),
        }
        cluster.start()
        worker.start()
        tokens["followed"] = [
            cluster.request("POST", "/api/v1/tickets", {"service": "DD"}, tokens["kiosk"])[1][
                "token"
            ]
            for _ in range(plan.trackers)
        ]
        ctx = mp.get_context("fork")
        go, halt, q = ctx.Event(), ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=_load, args=(plan, cluster.port, tokens, go, halt, q))
        proc.daemon = True
        proc.start()
        kind, detail = q.get(timeout=120)
        if kind != "ready":
            raise RuntimeError(f"load process: {detail}")
        out = Outcome(plan, Seen([], []))
        other = OtherLoad()
        go.set()

        def at(what: str) -> None:
            out.events.append((time.perf_counter(), what))
            time.sleep(plan.phase_s)

        victim = cluster.servers[len(cluster.servers) // 2]
        at("load")
        victim.kill()
        at("kill -9 server")
        worker.kill()
        at("kill -9 worker")
        victim.start()
        worker.start()
        at("restart both")
        out.rolling_from = time.perf_counter()
        for i, srv in enumerate(cluster.servers, 1):
            srv.stop()
            srv.start()
            at(f"rolling restart {i}")
        worker.kill(signal.SIGTERM)  # it stops between two messages
        worker.start()
        at("rolling restart worker")
        out.other_load = other.note()
        halt.set()
        kind, seen = q.get(timeout=plan.settle_s + 90)
        if kind != "done":
            raise RuntimeError(f"load process: {seen}")
        out.seen = seen
        # the SMS queued meanwhile are sent (a killed worker's claims after the lease)
        deadline = time.monotonic() + plan.lease_s * 2 + 10
        while time.monotonic() < deadline:
            _read_db(database_url, out)
            if not any(out.outbox[s] for s in ("queued", "claimed", "sending")):
                break
            time.sleep(0.5)
        out.sms = Counter(sink.received)
        logs = [s.log_path for s in cluster.servers] + [worker.log_path]
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in logs if p.exists()]
        out.server_errors = sum(t.count("Traceback") for t in texts)
        out.warnings = _warnings([*texts, cluster.balancer.log_path.read_text(errors="replace")])
        return out
    finally:
        if proc is not None:
            with contextlib.suppress(Exception):
                go.set()
                halt.set()
            proc.join(timeout=15)
            if proc.is_alive():
                proc.kill()
        worker.kill()
        sink.close()
        cluster.cleanup()


# --- checks and rows ---------------------------------------------------------------------
def _board_faults(out: Outcome) -> tuple[int, int, list[str]]:
    """(boards that missed or reordered a call, boards with a repeated call, what the
    first few wrong ones showed)."""
    expected = out.seen.expected
    wrong = dup = 0
    said: list[str] = []
    for i, (baseline, shown, _, seen_errors) in enumerate(out.seen.boards):
        errors = [e for e in seen_errors if not _refused_attempt(e)]
        want = [s for s in expected if s > baseline]
        if shown != want or errors:
            wrong += 1
            missing = sorted(set(want) - set(shown))
            extra = sorted(set(shown) - set(want))
            if len(said) < 3:
                said.append(
                    f"board {i} (from seq {baseline}): {len(shown)} shown of {len(want)}, "
                    f"missing {missing[:5]}, extra {extra[:5]}, "
                    f"{'in order' if shown == sorted(shown) else 'out of order'}, "
                    f"errors {errors[:3]}"
                )
        if len(shown) != len(set(shown)):
            dup += 1
    return wrong, dup, said


def _refused_attempt(error: str) -> bool:
    """A reconnection the balancer answered 502/503 (its process died meanwhile): the
    board tries again, as a real one does; it is counted, not a fault."""
    return error.startswith("no websocket upgrade: HTTP/1.1 50")


def _when(out: Outcome, t: float) -> str:
    """`t` on the timeline: seconds after the last event before it."""
    before = [(at, what) for at, what in out.events if at <= t]
    if not before:
        return "before the load"
    at, what = before[-1]
    return f"{t - at:.1f} s after '{what}'"


def facts(out: Outcome) -> dict[str, Any]:
    """Every figure the checks and the rows use."""
    seen = out.seen
    lost = [t for t, _, n in seen.tickets if out.db_tickets.get(t, (None, None))[1] != n]
    wrong, dup, said = _board_faults(out)
    clients = seen.kiosks + seen.counters
    longest = max(
        ((d, st) for c in clients for d, st in zip(c.outages, c.outage_starts, strict=True)),
        default=None,
    )
    kiosk_errors = [t for k in seen.kiosks for t in k.errors]
    outages = {
        "boards": [o for _, _, os_, _ in seen.boards for o in os_],
        "tracking pages": [o for _, os_, _ in seen.pages for o in os_],
        "kiosks": [o for k in seen.kiosks for o in k.outages],
        "counters": [o for c in seen.counters for o in c.outages],
    }
    seqs = out.call_seqs
    return {
        "acked": len(seen.tickets),
        "lost": len(lost),
        "duplicates": out.numbers.get("duplicates", -1),
        "gaps": out.numbers.get("gaps", -1),
        "calls": len(seen.expected),
        "call_gaps": (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else 0,
        "boards_wrong": wrong,
        "boards_repeated": dup,
        "boards_said": said,
        "board_attempts_refused": sum(
            _refused_attempt(e) for _, _, _, errors in seen.boards for e in errors
        ),
        "longest_http_outage": f"{longest[0]:.1f} s, {_when(out, longest[1])}" if longest else "",
        "outages": outages,
        "still_down": sum(k.down_since is not None for k in seen.kiosks + seen.counters),
        "kiosk_errors_kill": sum(t < out.rolling_from for t in kiosk_errors),
        "kiosk_errors_rolling": sum(t >= out.rolling_from for t in kiosk_errors),
        "kiosk_retries": sum(k.retried for k in seen.kiosks),
        "sms_twice": sum(n > 1 for n in out.sms.values()),
        "sms_sent": len(out.sms),
        "sms_queued": seen.sms_queued,
        "outbox_left": sum(out.outbox[s] for s in ("queued", "claimed", "sending")),
        "outbox": dict(out.outbox),
    }


def problems(out: Outcome) -> list[str]:
    """What broke a promise of the issue (empty: none)."""
    f = facts(out)
    bad = []
    for key in ("lost", "duplicates", "gaps", "call_gaps", "boards_wrong", "boards_repeated"):
        if f[key]:
            bad.append(f"{key}: {f[key]}")
    bad += f["boards_said"]
    if f["sms_twice"]:
        bad.append(f"SMS sent twice: {f['sms_twice']}")
    if f["kiosk_errors_rolling"]:
        bad.append(
            f"kiosk errors beyond a retry in the rolling restart: {f['kiosk_errors_rolling']}"
        )
    for who, values in f["outages"].items():
        if values and max(values) > BACK_S:
            bad.append(f"{who} back after {max(values):.1f} s (> {BACK_S:.0f} s)")
    if f["still_down"]:
        bad.append(f"clients still down at the end: {f['still_down']}")
    if not f["acked"] or not f["calls"]:
        bad.append("no load went through")
    return bad


def rows(out: Outcome) -> list[Row]:
    f, p = facts(out), out.plan
    size = (
        f"{p.servers} servers behind HAProxy + motcua worker, PostgreSQL + Redis; {p.kiosks} "
        f"kiosks, {p.counters} counters, {p.boards} boards, {p.trackers} tracking pages"
    )

    def worst(values: list[float]) -> str:
        return f"{max(values):.2f} s (n={len(values)})" if values else "none lost"

    result: list[Row] = [
        ("failover: acked tickets lost", str(f["lost"]), "0", f"{f['acked']} acked; {size}"),
        ("failover: duplicate / gap numbers", f"{f['duplicates']} / {f['gaps']}", "0 / 0", ""),
        (
            "failover: boards missing/reordering calls",
            f"{f['boards_wrong']} of {len(out.seen.boards)}",
            "0",
            f"{f['calls']} calls; call seq gaps {f['call_gaps']}; repeats {f['boards_repeated']}; "
            f"reconnections answered 502/503 (tried again) {f['board_attempts_refused']}; "
            f"the last board is display.client's, connected {out.seen.real_board_connects}×"
            + "".join(f"; {x}" for x in f["boards_said"]),
        ),
    ]
    for who, values in f["outages"].items():
        note = (
            f"longest of kiosks and counters: {f['longest_http_outage']}"
            if who == "counters"
            else ""
        )
        result.append((f"failover: {who} back after", worst(values), f"≤ {BACK_S:.0f} s", note))
    result += [
        (
            "failover: kiosk errors beyond a retry",
            f"kill -9 {f['kiosk_errors_kill']}, rolling {f['kiosk_errors_rolling']}",
            "rolling 0",
            f"{f['kiosk_retries']} retries",
        ),
        (
            "failover: SMS sent twice",
            str(f["sms_twice"]),
            "0",
            f"{f['sms_sent']} delivered of {f['sms_queued']} queued; outbox {f['outbox']}",
        ),
        (
            "failover: timeline",
            f"{len(out.events)} steps, {p.phase_s:.0f} s apart",
            "-",
            "; ".join(w for _, w in out.events) + f"; settled in {out.seen.settled_s:.1f} s; "
            f"{out.other_load}; server tracebacks {out.server_errors}; logs: "
            + (" | ".join(out.warnings) or "no warning"),
        ),
    ]
    return result


def run() -> list[Row]:
    from tests.engines import fresh_schema

    boost()
    db = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "MOTCUA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    redis = os.environ.get("BENCH_REDIS_URL") or os.environ.get(
        "MOTCUA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
    )
    os.environ["MOTCUA_TEST_DATABASE_URL"] = db  # where fresh_schema makes its schema
    with fresh_schema() as url:
        return rows(scenario(Plan(), url, redis))


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
