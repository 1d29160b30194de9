"""Crash: `kill -9` of the production server in the middle of a full hall's load, then a
restart on the same data dir — what survives, what resumes, and how fast (issue #9).

The load, all on 127.0.0.1 and bounded in time: `Plan.kiosks` kiosks issue tickets
over HTTP (the first at a kiosk's pace, as the kiosk whose real agent — `motcua kiosk`
with the file printer — prints its jobs; the others as fast as they are answered);
`Plan.counters` counters call next, recall now and then, and finish; a department's
API key pushes new dossiers in bursts, each queuing a "received" SMS that the server's
worker sends through the HTTP gateway to a small sink here, which counts deliveries per
message; a phone looks tickets and dossiers up; tracking pages follow tickets on
/track; raw boards (`_sio.Follower`) and the pygame board's own network and state code
(`display.client.BoardClient` + `BoardState`, headless) are on /display.

After `before_s` the sink holds the next message unanswered (the outbox is caught in
the middle of a send) and the gunicorn master and worker get SIGKILL together;
`motcua serve` restarts at once on the same data dir and the load goes on for
`after_s`.  Then, within `settle_s`, everybody catches up, the server stops, and:

- every ticket whose 201 arrived exists (token, number, label); per (service, day) the
  numbers have no duplicate and no gap, and numbering went on after the restart;
- every board (raw and real) shows every call of /api/v1/calls made after its first
  snapshot exactly once, in seq order (the real board as its announcement queue was
  asked to voice them: its age limit is raised so a slow run still voices them all);
- the agent printed each acknowledged ticket of its kiosk exactly once: from its log,
  each job reached the printer backend once (jobs re-sent after the restart must be
  skipped by the agent's journal — the file backend would skip a second copy too, a
  thermal printer would print it);
- no SMS reached the sink twice, and none is left queued once the worker resumed.  The
  rows the killed worker had claimed or was sending are counted; then a recovery pass
  as the next worker start after the lease would run it (`Worker.recover` with a clock
  past `sms.lease_seconds`) must requeue the claimed ones and mark the one in flight
  INTERRUPTED, and still no message twice."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing as mp
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from display.audio import AnnouncementQueue, NullPlayer, SoundSource
from display.client import BoardClient
from display.state import BoardState
from server import config as config_mod
from server.clock import FixedClock
from server.notify.worker import make_worker
from server.store import Database

from ._crashcheck import Row, rows
from ._load import AsyncConn
from ._peers import Agent, SmsSink
from ._server import HOST, OtherLoad, Server, boost, sample_dossier
from ._sio import Followers, Tracker
from .hammer import check_calls
from .http_issue import SERVICES, check_numbers

log = logging.getLogger(__name__)


@dataclass
class Plan:
    kiosks: int = 20  # HTTP kiosk clients; the first one is the agent's kiosk
    counters: int = 30
    raw_boards: int = 3
    trackers: int = 2
    before_s: float = 8.0  # load before the kill
    after_s: float = 6.0  # load after the restart
    agent_every_s: float = 0.25  # the agent's kiosk issues a ticket this often
    kiosk_pause_s: float = 0.0  # the other kiosks: 0 = as fast as answered
    counter_pause_s: float = 0.0
    burst: int = 10  # dossiers the department pushes at once …
    burst_every_s: float = 1.0  # … this often (one SMS each)
    sms_latency_s: float = 0.05  # the provider's answer time
    lease_s: float = 120.0  # sms.lease_seconds (as shipped: config.yaml has no sms section)
    lookup_every_s: float = 1.0  # the phone's ticket lookups (0: none)
    settle_s: float = 60.0  # bound for boards, agent and outbox to catch up


# --- the load (child processes, asyncio) -------------------------------------------------
@dataclass
class Seen:
    """What the clients of one load process were answered (perf_counter times)."""

    ops: Counter[str] = field(default_factory=Counter)
    tickets: list[dict[str, Any]] = field(default_factory=list)  # 201 bodies (+ t, kiosk)
    calls: list[tuple[float, int]] = field(default_factory=list)
    dossiers: list[tuple[float, str, int]] = field(default_factory=list)  # (t, code, SMS)


async def _ask(
    conn: AsyncConn, method: str, path: str, body: bytes = b"", token: str | None = None
) -> tuple[int, bytes] | None:
    """One request; None when the connection failed (the server died or is not up yet)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        return await asyncio.wait_for(conn.request(method, path, body, headers), 10.0)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
        conn.close()
        return None


async def _kiosk(i: int, port: int, token: str, pause: float, stop: Any, out: Seen) -> None:
    conn, rng = AsyncConn(port), random.Random(i)
    while not stop.is_set():
        body = json.dumps({"service": rng.choice(SERVICES)}).encode()
        got = await _ask(conn, "POST", "/api/v1/tickets", body, token)
        out.ops[f"issue {got[0] if got else 'refused'}"] += 1
        if got is None:
            await asyncio.sleep(0.05)
        elif got[0] == 201:
            out.tickets.append({**json.loads(got[1]), "t": time.perf_counter(), "kiosk": i})
        await asyncio.sleep(pause)
    conn.close()


async def _counter(n: int, port: int, token: str, pause: float, stop: Any, out: Seen) -> None:
    conn, rng = AsyncConn(port), random.Random(n)
    while not stop.is_set():
        got = await _ask(conn, "POST", f"/api/v1/counters/{n}/next", b"", token)
        out.ops[f"next {got[0] if got else 'refused'}"] += 1
        if got is None or got[0] != 200:
            await asyncio.sleep(0.05)
            continue
        answer = json.loads(got[1])
        out.calls.append((time.perf_counter(), answer["call"]["seq"]))
        if rng.random() < 0.1:
            got = await _ask(conn, "POST", f"/api/v1/counters/{n}/recall", b"", token)
            out.ops[f"recall {got[0] if got else 'refused'}"] += 1
            if got and got[0] == 200:
                out.calls.append((time.perf_counter(), json.loads(got[1])["call"]["seq"]))
        action = "no-show" if rng.random() < 0.05 else "finish"
        got = await _ask(
            conn, "POST", f"/api/v1/tickets/{answer['ticket']['id']}/{action}", b"", token
        )
        out.ops[f"{action} {got[0] if got else 'refused'}"] += 1
        await asyncio.sleep(pause)
    conn.close()


async def _department(port: int, key: str, plan: Plan, stop: Any, out: Seen) -> None:
    """A department's software syncing new dossiers; a failed PUT is sent again as is."""
    conn, i = AsyncConn(port), 0
    while not stop.is_set():
        for _ in range(plan.burst):
            i += 1
            code, body = sample_dossier(i)
            while not stop.is_set():
                got = await _ask(
                    conn, "PUT", f"/api/v1/dossiers/{code}", json.dumps(body).encode(), key
                )
                out.ops[f"dossier {got[0] if got else 'refused'}"] += 1
                if got and got[0] in (200, 201):
                    sms = int(json.loads(got[1])["notifications"])
                    out.dossiers.append((time.perf_counter(), code, sms))
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(plan.burst_every_s)
    conn.close()


async def _phone(port: int, every: float, stop: Any, out: Seen) -> None:
    """A citizen's phone: a ticket's status, and now and then a dossier (rate limited)."""
    conn, n = AsyncConn(port), 0
    while not stop.is_set():
        await asyncio.sleep(every)
        n += 1
        if n % 3 == 0 and out.dossiers:
            got = await _ask(conn, "GET", f"/api/v1/dossiers/{out.dossiers[-1][1]}")
        elif out.tickets:
            got = await _ask(conn, "GET", f"/api/v1/tickets/{out.tickets[-1]['token']}")
        else:
            continue
        out.ops[f"lookup {got[0] if got else 'refused'}"] += 1
    conn.close()


def _load(kind: str, plan: Plan, port: int, tokens: dict[str, str], go: Any, stop: Any, q: Any):
    """One load process: waits for `go`, runs until `stop` (or a hard deadline)."""

    async def main() -> Seen:
        out = Seen()
        if kind == "kiosks":
            tasks = [_kiosk(0, port, tokens["agent"], plan.agent_every_s, stop, out)]
            tasks += [
                _kiosk(i, port, tokens["hall"], plan.kiosk_pause_s, stop, out)
                for i in range(1, plan.kiosks)
            ]
            tasks.append(_department(port, tokens["key"], plan, stop, out))
            if plan.lookup_every_s:
                tasks.append(_phone(port, plan.lookup_every_s, stop, out))
        else:
            tasks = [
                _counter(n, port, tokens["boss"], plan.counter_pause_s, stop, out)
                for n in range(1, plan.counters + 1)
            ]
        try:  # a hard bound, whatever happens to the server
            await asyncio.wait_for(asyncio.gather(*tasks), plan.before_s + plan.after_s + 120)
        except TimeoutError:
            out.ops["hard stop"] += 1
        return out

    if go.wait(120):
        q.put((kind, asyncio.run(main())))


# --- the board and the tracking pages (this process) -----------------------------------
def _silent(source: SoundSource) -> bytes:
    return b""


class Heard(AnnouncementQueue):
    """The board's announcement queue (no speaker, no sound download), noting each call
    the board asks it to voice, with the moment it asked."""

    def __init__(self) -> None:
        super().__init__(NullPlayer(), fetch=_silent)
        self.calls: list[tuple[float, int]] = []

    def enqueue(self, announcement_id: str, sounds: Any) -> int:
        if announcement_id.startswith("call-"):
            self.calls.append((time.perf_counter(), int(announcement_id[5:])))
        return super().enqueue(announcement_id, sounds)


# --- the run -------------------------------------------------------------------------------
@dataclass
class Outcome:
    """Everything the checks look at; times are perf_counter seconds unless named _wall."""

    plan: Plan
    seen: Seen  # what the load clients were answered (both processes)
    t_go: float = 0.0
    t_kill: float = 0.0
    t_restart: float = 0.0
    kill_wall: str = ""  # storage format (server.clock.iso): rows before it predate the kill
    health_s: float = 0.0
    setup_tickets: list[str] = field(default_factory=list)  # issued for the trackers
    held: str | None = None  # the message the sink held unanswered at the kill
    pids: list[int] = field(default_factory=list)
    other_load: str = ""
    expected: list[int] = field(default_factory=list)  # seqs of /api/v1/calls
    pre_kill_seq: int = 0
    boards: dict[str, tuple[int, list[tuple[float, int]], int, int]] = field(
        default_factory=dict
    )  # name → (baseline, shown (t, seq), repeats absorbed, connections)
    board_errors: list[str] = field(default_factory=list)
    agent_reconnect_s: float | None = None
    printed: Counter[str] = field(default_factory=Counter)
    absorbed: tuple[int, int] = (0, 0)  # re-sent jobs skipped by (journal, backend)
    tracked_after: list[int] = field(default_factory=list)  # ticket events after restart
    stuck: list[tuple[str, str]] = field(default_factory=list)  # (event_key, status)
    sms_times: list[float] = field(default_factory=list)
    recovery: tuple[int, int] = (0, 0)  # (requeued, interrupted) by the pass after the lease
    outbox: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # key → (status, error)
    delivered_final: Counter[str] = field(default_factory=Counter)
    db_tickets: dict[str, tuple[str, int, str, str, str]] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)
    call_facts: dict[str, Any] = field(default_factory=dict)
    dossier_codes: set[str] = field(default_factory=set)
    server_errors: int = 0

    @property
    def acked(self) -> list[dict[str, Any]]:
        return self.seen.tickets

    def agent_jobs(self) -> list[str]:
        return [t["print"]["job_id"] for t in self.acked if t["kiosk"] == 0]


def _calls(srv: Server) -> list[int]:
    seqs: list[int] = []
    while True:
        status, body = srv.request(
            "GET", f"/api/v1/calls?after={seqs[-1] if seqs else 0}&limit=500"
        )
        if status != 200:
            raise RuntimeError(f"GET /api/v1/calls: {status} {body}")
        if not body["calls"]:
            return seqs
        seqs += [c["seq"] for c in body["calls"]]


def _outbox(srv: Server) -> dict[str, tuple[str, str | None, str | None]]:
    """event key → (status, error, claimed_at) of every outbox row."""
    conn = sqlite3.connect(f"file:{srv.data / 'motcua.sqlite3'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT event_key, status, error, claimed_at FROM notification")
        return {k: (s, e, c) for k, s, e, c in rows}
    finally:
        conn.close()


def _outbox_now(srv: Server, kill_wall: str) -> tuple[int, list[tuple[str, str]]]:
    """(rows the live worker has still to send, rows claimed before the kill and left)."""
    todo, left = 0, []
    for key, (status, _, claimed_at) in _outbox(srv).items():
        if status in ("claimed", "sending") and (claimed_at or "") < kill_wall:
            left.append((key, status))
        elif status in ("queued", "claimed", "sending"):
            todo += 1
    return todo, left


def _recovery_pass(srv: Server, lease_s: float) -> tuple[int, int]:
    """The next worker start after the lease: recover, then send what is due."""
    cfg = config_mod.load(srv.config, env={})
    db = Database(srv.data / "motcua.sqlite3")
    try:
        clock = FixedClock(datetime.now(UTC) + timedelta(seconds=lease_s + 1))
        worker = make_worker(db, cfg, srv.data, clock)
        found = worker.recover()
        for _ in range(1000):
            if worker.run_once() == 0:
                break
        return found
    finally:
        db.close()


def _read_db(srv: Server, out: Outcome) -> None:
    path = str(srv.data / "motcua.sqlite3")
    out.numbers, out.call_facts = check_numbers(path), check_calls(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT token, label, number, service, day, issued_at FROM ticket")
        out.db_tickets = {r[0]: tuple(r[1:]) for r in rows}
        before = "SELECT max(seq) FROM call WHERE at < ?"
        out.pre_kill_seq = conn.execute(before, (out.kill_wall,)).fetchone()[0] or 0
        out.dossier_codes = {r[0] for r in conn.execute("SELECT code FROM dossier")}
    finally:
        conn.close()


def scenario(plan: Plan) -> Outcome:
    """Run the crash once (see the module's docstring); every step is bounded in time."""
    sink = SmsSink(plan.sms_latency_s)
    body = {"to": "{phone}", "message": "{text}", "ref": "{id}"}
    sms: dict[str, Any] = {"gateway": "http", "lease_seconds": plan.lease_s}
    sms["http"] = {"url": sink.url, "body": body, "timeout": 5}
    srv = Server(counters=plan.counters, extra={"sms": sms})
    stop_event: Any = None
    procs: list[Any] = []
    closers: list[Any] = []
    try:
        tokens = {
            "hall": srv.device("kiosk-hall", "kiosk"),
            "agent": srv.device("kiosk-agent", "kiosk"),
            "boss": srv.user_token("boss", "supervisor"),
            "key": srv.cli("apikey", "add", "STP", "--name", "Sở Tư pháp"),
        }
        board = srv.device("board-crash", "display")
        srv.start()
        followed = [
            srv.request("POST", "/api/v1/tickets", {"service": "DD"}, tokens["hall"])[1]["token"]
            for _ in range(plan.trackers)
        ]
        ctx = mp.get_context("fork")  # the load forks before this process starts threads
        go, stop_event, q = ctx.Event(), ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_load, args=(k, plan, srv.port, tokens, go, stop_event, q))
            for k in ("kiosks", "counters")
        ]
        for p in procs:
            p.daemon = True
            p.start()
        sink.start()
        closers.append(sink.close)
        agent = Agent(srv, tokens["agent"])
        closers.append(agent.stop)
        followers = Followers(srv.port, board, plan.raw_boards)
        closers.append(followers.stop)
        followers.start()
        heard = Heard()
        closers.append(heard.close)
        real = BoardClient(
            f"http://{HOST}:{srv.port}", board, BoardState(announce_max_age_s=3600.0), heard
        )
        closers.append(real.close)
        real.start()
        trackers = [Tracker(srv.port, t) for t in followed]
        closers += [t.sio.disconnect for t in trackers]
        deadline = time.monotonic() + 30
        while agent.connects() < 1 or not real.state.has_baseline:
            if time.monotonic() > deadline:
                raise RuntimeError("the kiosk agent or the board did not connect in 30 s")
            time.sleep(0.05)
        baseline = real.state.last_seq
        out = Outcome(plan, Seen(), setup_tickets=followed)
        other = OtherLoad()
        go.set()
        out.t_go = time.perf_counter()
        time.sleep(plan.before_s)
        sink.hold()
        out.held = sink.held if sink.holding.wait(5.0) else None
        out.other_load = other.note()
        out.t_kill = time.perf_counter()
        out.kill_wall = datetime.now(UTC).isoformat(timespec="microseconds")
        out.pids = srv.kill()
        sink.release()  # its answer goes to a dead socket
        out.t_restart = time.perf_counter()
        out.health_s = srv.start()
        while time.perf_counter() < out.t_restart + out.health_s + plan.after_s:
            if out.agent_reconnect_s is None and agent.connects() >= 2:
                out.agent_reconnect_s = time.perf_counter() - out.t_restart
            time.sleep(0.05)
        stop_event.set()
        for _ in procs:
            _, seen = q.get(timeout=60)
            out.seen.ops.update(seen.ops)
            out.seen.tickets += seen.tickets
            out.seen.calls += seen.calls
            out.seen.dossiers += seen.dossiers
        out.expected = _calls(srv)
        final = out.expected[-1] if out.expected else 0
        deadline = time.perf_counter() + plan.settle_s
        # The killed worker's rows are waited for (a recovery after the lease) only when
        # the lease ends within the settling time.
        lease_end = out.t_kill + 1.5 * plan.lease_s + 3
        lease_end = lease_end if lease_end < deadline else 0.0
        while time.perf_counter() < deadline:
            boards_done = real.state.last_seq >= final and all(
                b.last_seq >= final for b in followers.boards
            )
            printed = agent.printed()
            agent_done = all(j in printed for j in out.agent_jobs())
            todo, left = _outbox_now(srv, out.kill_wall)
            sms_done = not todo and (not left or time.perf_counter() > lease_end)
            tracked = all(tr.events and tr.events[-1] > out.t_restart for tr in trackers)
            if boards_done and agent_done and sms_done and tracked:
                break
            time.sleep(0.1)
        if out.agent_reconnect_s is None and agent.connects() >= 2:
            out.agent_reconnect_s = time.perf_counter() - out.t_restart
        out.stuck = _outbox_now(srv, out.kill_wall)[1]
        out.sms_times = list(sink.times)
        for b in followers.boards:
            out.boards[f"raw board {len(out.boards) + 1}"] = (
                b.baseline or 0,
                list(b.accepted),
                b.repeats,
                b.connects,
            )
        out.boards["pygame board"] = (baseline, list(heard.calls), 0, real.connects)
        out.board_errors = followers.errors()
        out.tracked_after = [sum(t > out.t_restart for t in tr.events) for tr in trackers]
        for close in reversed(closers[1:]):
            close()
        closers = closers[:1]
        out.printed = agent.printed()
        out.absorbed = agent.absorbed()
        srv.stop()
        server_log = srv.log_path.read_text(encoding="utf-8", errors="replace")
        out.server_errors = server_log.count("Traceback")
        out.recovery = _recovery_pass(srv, plan.lease_s)
        out.outbox = {k: (s, e) for k, (s, e, _) in _outbox(srv).items()}
        out.delivered_final = Counter(sink.received)
        _read_db(srv, out)
        return out
    finally:
        if stop_event is not None:
            stop_event.set()
            go.set()  # children still waiting start, see `stop` and end
        for close in reversed(closers):
            try:
                close()
            except Exception:  # one failed cleanup must not hide the others (or the error)
                log.exception("crash benchmark: cleanup failed")
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        srv.cleanup()


def run() -> list[Row]:
    boost()
    return rows(scenario(Plan()))


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
