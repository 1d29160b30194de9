"""Call → every connected board, against the production server.

N display clients (N = 50, 200, 500) hold WebSocket connections to `/display` with a
display device's token; a supervisor calls the next ticket at a counter over HTTP
(`POST /api/v1/counters/{n}/next`), and for every call we time, from just before the
HTTP request is written to the moment each board's frame arrives, the first and the
last board.  Boards run in child processes (asyncio, see `_sio`); all timestamps are
`time.perf_counter()` (CLOCK_MONOTONIC, one clock for every process on the machine).
Three real python-socketio clients (threaded, WebSocket transport) watch alongside as a
protocol cross-check; they join after each phase's boards, so they are the last to be
sent each call and their threads do not delay the first boards.  The server runs on one
CPU and every client on the others (`_server.cpu_split`; BENCH_PIN=0 turns it off).
Every board must receive every call, in seq order, with `prev_seq` chaining; the
server's RSS is read with 500 boards connected.

With the most boards, a second phase makes calls in pairs: two counters call
`BENCH_PAIR_GAP_S` (80 ms) apart, as happens when a hall opens or two desks finish
together.  The second call comes just after the first call's own frames went out, so
its boards wait for whatever the first left behind on the loop and on each socket (an
announcement synthesized on the loop, a second round of writes for the counter's
update): this is where work done after a call shows.  At 10 ms apart the two calls'
frames share each socket's queue instead, and the second simply follows the first."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import threading
import time
from typing import Any

import socketio

from ._load import build_request, percentile, run_load
from ._server import CONFIG_NOTE, HOST, OtherLoad, Server, boost, confined, cpu_split, pin_note
from ._sio import Board, connect_many

Row = tuple[str, str, str, str]

SIZES = [int(x) for x in os.environ.get("BENCH_BOARDS", "50,200,500").split(",")]
CALLS = int(os.environ.get("BENCH_CALLS", "100"))
SPACING_S = float(os.environ.get("BENCH_CALL_SPACING_S", "0.5"))
PAIRS = int(os.environ.get("BENCH_PAIRS", str(CALLS // 2)))
PAIR_GAP_S = float(os.environ.get("BENCH_PAIR_GAP_S", "0.08"))
BOARDS_PER_PROCESS = 250
REAL_CLIENTS = 3
COUNTERS = 10


# --- board processes ----------------------------------------------------------------------
def _board_process(port: int, token: str, pipe: Any) -> None:
    """Holds boards open; on "connect k" opens k more, on "report" sends what each saw."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        boards: list[Board] = []
        while True:
            cmd, arg = await loop.run_in_executor(None, pipe.recv)
            if cmd == "connect":
                try:
                    boards += await connect_many(port, token, arg)
                    pipe.send(("ok", len(boards)))
                except (TimeoutError, OSError, ConnectionError) as exc:
                    pipe.send(("error", repr(exc)))
            elif cmd == "report":
                seen = []
                for b in boards:
                    seen.append(
                        [(t, c["seq"], c["prev_seq"]) for t, c in b.call_events()]
                        if not b.error and not b.closed
                        else None
                    )
                    b.calls.clear()
                pipe.send(("ok", seen))
            elif cmd == "stop":
                pipe.send(("ok", None))
                return

    asyncio.run(main())


class _Boards:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.ctx = mp.get_context("fork")
        self.procs: list[tuple[Any, Any, int]] = []  # (process, pipe, boards held)

    def _ask(self, pipe: Any, cmd: str, arg: Any = None, timeout: float = 300) -> Any:
        pipe.send((cmd, arg))
        if not pipe.poll(timeout):
            raise RuntimeError(f"board process did not answer {cmd}")
        status, value = pipe.recv()
        if status != "ok":
            raise RuntimeError(f"board process failed to {cmd}: {value}")
        return value

    def grow_to(self, n: int) -> None:
        have = sum(k for _, _, k in self.procs)
        while have < n:
            if not self.procs or self.procs[-1][2] >= BOARDS_PER_PROCESS:
                parent, child = self.ctx.Pipe()
                p = self.ctx.Process(
                    target=_board_process, args=(self.port, self.token, child), daemon=True
                )
                p.start()
                self.procs.append((p, parent, 0))
            p, pipe, k = self.procs[-1]
            add = min(n - have, BOARDS_PER_PROCESS - k)
            self._ask(pipe, "connect", add)
            self.procs[-1] = (p, pipe, k + add)
            have += add

    def report(self) -> list[list[tuple[float, int, int]] | None]:
        out: list[list[tuple[float, int, int]] | None] = []
        for _, pipe, _ in self.procs:
            out += self._ask(pipe, "report")
        return out

    def stop(self) -> None:
        for p, pipe, _ in self.procs:
            with contextlib.suppress(RuntimeError, OSError):
                self._ask(pipe, "stop", timeout=10)
            p.join(timeout=5)
            if p.is_alive():
                p.kill()


# --- reference clients --------------------------------------------------------------------
class _RealClient:
    """python-socketio's own threaded client, WebSocket only."""

    def __init__(self, port: int, token: str) -> None:
        self.seen: list[tuple[float, int, int]] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("call", self._on_call, namespace="/display")
        self.sio.connect(
            f"http://{HOST}:{port}",
            namespaces=["/display"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=30,
        )
        self.transport = self.sio.transport()

    def _on_call(self, data: dict[str, Any]) -> None:
        self.seen.append((time.perf_counter(), data["seq"], data["prev_seq"]))

    def take(self) -> list[tuple[float, int, int]]:
        seen, self.seen = self.seen, []
        return seen


# --- the caller ---------------------------------------------------------------------------
class _Caller:
    def __init__(self, port: int, token: str, first_counter: int = 1) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Length": "0"}
        self.counter = first_counter - 1

    def call(self) -> tuple[float, int, float]:
        """(perf_counter just before sending, the call's seq, HTTP round trip in s)."""
        self.counter = self.counter % COUNTERS + 1
        t0 = time.perf_counter()
        self.conn.request("POST", f"/api/v1/counters/{self.counter}/next", headers=self.headers)
        resp = self.conn.getresponse()
        body = resp.read()
        rtt = time.perf_counter() - t0
        if resp.status != 200:
            raise RuntimeError(f"call next → {resp.status}: {body[:200]!r}")
        return t0, int(json.loads(body)["call"]["seq"]), rtt


def _pair(callers: list[_Caller]) -> list[tuple[float, int, float]]:
    """One call from each caller, the second PAIR_GAP_S after the first is sent."""
    later: list[tuple[float, int, float]] = []
    errors: list[BaseException] = []

    def second() -> None:
        time.sleep(PAIR_GAP_S)
        try:
            later.append(callers[1].call())
        except (RuntimeError, OSError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    first = callers[0].call()
    thread.join()
    if errors:
        raise errors[0]
    return [first, *later]


def _phase(
    callers: list[_Caller], boards: _Boards, real: list[_RealClient], n: int, rounds: int
) -> tuple[dict[str, Any], list[str]]:
    """`rounds` calls from one caller, or pairs of calls when given two callers."""
    sent: dict[int, float] = {}
    seconds: set[int] = set()  # seqs of the second call of each pair
    rtts = []
    for _ in range(rounds):
        made = [callers[0].call()] if len(callers) == 1 else _pair(callers)
        for i, (t0, seq, rtt) in enumerate(made):
            sent[seq] = t0
            rtts.append(rtt)
            if i:
                seconds.add(seq)
        time.sleep(SPACING_S)
    time.sleep(1.0)
    seqs = sorted(sent)
    problems: list[str] = []
    firsts: dict[int, float] = {}
    lasts: dict[int, float] = {}
    got = boards.report()
    for i, seen in enumerate(got):
        if seen is None:
            problems.append(f"board {i} disconnected")
            continue
        if [s for _, s, _ in seen] != seqs:
            missing = len(set(seqs) - {s for _, s, _ in seen})
            problems.append(f"board {i}: {len(seen)} calls, {missing} missing or out of order")
            continue
        for t, s, _ in seen:
            firsts[s] = min(firsts.get(s, t), t)
            lasts[s] = max(lasts.get(s, t), t)
    chain = [p for _, _, p in (got[0] or [])]
    if chain and chain[1:] != seqs[:-1]:
        problems.append("prev_seq does not chain")
    real_lat = []
    for rc in real:
        seen = rc.take()
        if [s for _, s, _ in seen] != seqs:
            problems.append(f"python-socketio client: {len(seen)} of {len(seqs)} calls in order")
        real_lat += [t - sent[s] for t, s, _ in seen if s in sent]
    first = [(firsts[s] - sent[s]) for s in seqs if s in firsts]
    last = [(lasts[s] - sent[s]) for s in seqs if s in lasts]
    second_last = [(lasts[s] - sent[s]) for s in seqs if s in lasts and s in seconds]
    lead_last = [(lasts[s] - sent[s]) for s in seqs if s in lasts and s not in seconds]
    stats = {
        "n": n,
        "first": first,
        "last": last,
        "real": real_lat,
        "rtt": rtts,
        "boards": len(got),
        "second_last": second_last,
        "lead_last": lead_last,
    }
    return stats, problems


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f}"


def run() -> list[Row]:
    rows: list[Row] = []
    boost()
    server_cpus, client_cpus = cpu_split()
    with (
        Server(counters=COUNTERS, every_service=True, cpus=server_cpus) as srv,
        confined(client_cpus),
    ):
        kiosk = srv.device("kiosk-bench", "kiosk")
        board_token = srv.device("board-bench", "display")
        boss = srv.user_token("boss", "supervisor")
        srv.start()
        tickets = CALLS * len(SIZES) + 2 * PAIRS + 50
        issue = build_request(
            "POST",
            "/api/v1/tickets",
            json.dumps({"service": "DD"}).encode(),
            {"Authorization": f"Bearer {kiosk}"},
        )
        issued = run_load(srv.port, [issue] * 10, duration=60, max_requests=tickets)
        if issued.ok != tickets:
            raise RuntimeError(f"could only issue {issued.ok} of {tickets} tickets")
        caller = _Caller(srv.port, boss)
        partner = _Caller(srv.port, boss, first_counter=COUNTERS // 2 + 1)  # never the same
        boards = _Boards(srv.port, board_token)
        real: list[_RealClient] = []
        try:
            caller.call()  # warm: the first call renders code paths and the voice engine
            time.sleep(0.5)
            rss_at_500 = None
            for n in SIZES:
                t0 = time.perf_counter()
                boards.grow_to(n - REAL_CLIENTS)
                connect_s = time.perf_counter() - t0
                for rc in real:  # join again, after this phase's new boards
                    rc.sio.disconnect()
                real = [_RealClient(srv.port, board_token) for _ in range(REAL_CLIENTS)]
                boards.report()  # forget calls seen before this phase
                other = OtherLoad()
                cpu0 = srv.worker_cpu_s()
                stats, problems = _phase([caller], boards, real, n, CALLS)
                cpu_ms = (srv.worker_cpu_s() - cpu0) * 1000 / CALLS
                worker_rss, _ = srv.rss_mb()
                if n == max(SIZES):
                    rss_at_500 = worker_rss
                note = (
                    f"{CALLS} calls every {SPACING_S * 1000:.0f} ms; HTTP call p50 "
                    f"{_ms(stats['rtt'], 50)} ms; server CPU {cpu_ms:.0f} ms/call; "
                    f"connect {connect_s:.1f} s; {other.note()}"
                )
                rows += [
                    (
                        f"call → first board, {n} boards",
                        f"p50 {_ms(stats['first'], 50)} ms, p99 {_ms(stats['first'], 99)} ms",
                        "≤ 10 ms",
                        note,
                    ),
                    (
                        f"call → last board, {n} boards",
                        f"p50 {_ms(stats['last'], 50)} ms, p99 {_ms(stats['last'], 99)} ms",
                        "p99 ≤ 100 ms",
                        "every board got every call in seq order"
                        if not problems
                        else "PROBLEMS: " + "; ".join(problems[:3]),
                    ),
                ]
                if n == max(SIZES) and PAIRS:
                    other = OtherLoad()
                    stats, problems = _phase([caller, partner], boards, real, n, PAIRS)
                    gap = f"{PAIR_GAP_S * 1000:.0f} ms"
                    rows.append(
                        (
                            f"2nd of two calls {gap} apart → last board, {n} boards",
                            f"p50 {_ms(stats['second_last'], 50)} ms, "
                            f"p99 {_ms(stats['second_last'], 99)} ms",
                            "p99 ≤ 100 ms",
                            f"{PAIRS} pairs; the first call of each: p50 "
                            f"{_ms(stats['lead_last'], 50)} ms; {other.note()}; "
                            + (
                                "every board got every call in seq order"
                                if not problems
                                else "PROBLEMS: " + "; ".join(problems[:3])
                            ),
                        )
                    )
            transports = sorted({rc.transport for rc in real})
            rows.append(
                (
                    "python-socketio clients (reference)",
                    f"transport {'/'.join(transports)}",
                    "websocket",
                    f"{REAL_CLIENTS} threaded clients beside the boards, every call in order",
                )
            )
            rows.append(
                (
                    f"server RSS, {max(SIZES)} boards connected",
                    f"{rss_at_500:.0f} MB",
                    "≤ 200 MB",
                    f"gunicorn worker; {CONFIG_NOTE}; {pin_note(server_cpus, client_cpus)}",
                )
            )
        finally:
            for rc in real:
                rc.sio.disconnect()
            boards.stop()
    return rows
