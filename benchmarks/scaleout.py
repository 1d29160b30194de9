"""Scale-out (DESIGN.md, "Numbers to reach"): what a province's shape costs and holds.

1. The same issuing load — `KIOSKS` closed-loop kiosks `POST /api/v1/tickets` for
   `ISSUE_S` seconds — against one `motcua serve` on SQLite, then 1, 2 and 4 on one
   PostgreSQL schema and one Redis channel (`_cluster.Cluster`).  One process is loaded
   on its own port; 2 and 4 through HAProxy (`deploy/haproxy.cfg`, `balance leastconn`,
   the kiosks' keep-alive connections spread over the processes).  Just before, `/health`
   at the same concurrency through the same door is the deployment's floor.  The
   figure that matters on this 2-core machine is the servers' CPU per ticket: user +
   system of every `motcua serve` process (gunicorn master and worker, psutil) over the
   issuing phase, divided by the tickets answered 201.  Beside it, per ticket: the
   PostgreSQL backends holding the servers' connections (found by client port in
   `pg_stat_activity`), the Redis server (the whole process: its other users count too)
   and HAProxy.
2. Call → every board over the processes: `BOARDS` raw Socket.IO boards (`_sio`) spread
   round-robin over `FANOUT_PROCESSES` processes — straight to their ports (WebSocket
   only, so no stickiness is needed; the balancer would only add a hop) — and calls
   made through the first process's port (`POST /api/v1/counters/{n}/next`); each call
   reaches the other processes' boards through Redis (Flask-SocketIO's message queue).
   Timed from just before the HTTP request to each board's frame (CLOCK_MONOTONIC, one
   clock for every process); every board must get every call in seq order.  The servers
   run on one CPU and the boards on the other (`_server.cpu_split`, as `socket_fanout`).
   The boards connect in steps (`BOARDS`); a step that cannot connect ends the section
   with what the last step measured and a row saying so.

Needs the PostgreSQL of `BENCH_DATABASE_URL` / `MOTCUA_TEST_DATABASE_URL` (a schema of
its own per deployment, dropped after), the Redis of `BENCH_REDIS_URL` /
`MOTCUA_TEST_REDIS_URL` (a channel prefix of its own, its keys deleted after) and
haproxy (`scripts/ensure-haproxy.sh`)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psutil

from ._cluster import Cluster
from ._load import LoadResult, build_request, percentile, run_load
from ._server import OtherLoad, Server, boost, confined, cpu_split, pin_note
from .http_issue import SERVICES, check_numbers
from .socket_fanout import _Boards, _Caller

Row = tuple[str, str, str, str]

PROCESSES = [int(x) for x in os.environ.get("BENCH_SCALE_PROCESSES", "1,2,4").split(",")]
KIOSKS = int(os.environ.get("BENCH_SCALE_KIOSKS", "20"))
ISSUE_S = float(os.environ.get("BENCH_SCALE_ISSUE_S", "5"))
MAX_REQUESTS = int(os.environ.get("BENCH_SCALE_MAX_REQUESTS", "30000"))
WARM = int(os.environ.get("BENCH_SCALE_WARM", "400"))
FANOUT_PROCESSES = int(os.environ.get("BENCH_SCALE_FANOUT_PROCESSES", "3"))
BOARDS = [int(x) for x in os.environ.get("BENCH_SCALE_BOARDS", "500,1000").split(",")]
CALLS = int(os.environ.get("BENCH_SCALE_CALLS", "40"))
SPACING_S = float(os.environ.get("BENCH_SCALE_CALL_SPACING_S", "0.3"))
COUNTERS = 10


def _urls() -> tuple[str, str]:
    db = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "MOTCUA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    redis = os.environ.get("BENCH_REDIS_URL") or os.environ.get(
        "MOTCUA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
    )
    return db, redis


@contextlib.contextmanager
def _schema(base: str) -> Iterator[str]:
    """A new schema `scaleout_…` on the database of `base`; its URL; dropped after."""
    import psycopg

    from tests.engines import in_schema

    schema = "scaleout_" + secrets.token_hex(5)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield in_schema(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@contextlib.contextmanager
def _cluster(n: int, base: str, redis_url: str, counters: int) -> Iterator[Cluster]:
    """`n` servers on a schema and a Redis channel of their own (keys deleted after)."""
    import redis

    channel = f"scaleout-{secrets.token_hex(5)}"
    realtime = {"message_queue": redis_url, "channel": channel}
    with _schema(base) as url:
        cluster = Cluster(
            n,
            database_url=url,
            redis_url=redis_url,
            counters=counters,
            extra={"realtime": realtime},
        )
        try:
            yield cluster
        finally:
            cluster.cleanup()
            client = redis.Redis.from_url(redis_url, socket_timeout=5)
            try:
                keys = list(client.scan_iter(match=f"{channel}:*", count=1000))
                for i in range(0, len(keys), 500):
                    client.delete(*keys[i : i + 500])
            finally:
                client.close()


def _cpu_s(servers: list[Server]) -> list[float]:
    """User + system CPU seconds of each server's processes (gunicorn master + worker)."""
    out = []
    for srv in servers:
        total = 0.0
        for pid in srv.worker_pids():
            try:
                t = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
        out.append(total)
    return out


def _pids_cpu_s(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds of each of `pids` still alive."""
    out = {}
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        out[pid] = t.user + t.system
    return out


def _pg_backends(servers: list[Server], base: str) -> set[int]:
    """The PostgreSQL backends serving `servers`' connections (matched by client port)."""
    import psycopg

    pg_port = urlsplit(base).port or 5432
    ports = set()
    for srv in servers:
        for pid in srv.worker_pids():
            try:
                conns = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            ports |= {c.laddr.port for c in conns if c.raddr and c.raddr.port == pg_port}
    if not ports:
        return set()
    with psycopg.connect(base) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", [sorted(ports)]
        ).fetchall()
    return {int(r[0]) for r in rows}


def _redis_pids() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"}


class _Services:
    """CPU seconds of what a PostgreSQL deployment runs beside its servers: the database
    backends its servers hold (counted from `start`; one opened meanwhile counts whole),
    the Redis server (whole process: other users of it count too) and HAProxy."""

    def __init__(self, cluster: Cluster | None, base: str) -> None:
        self.cluster, self.base = cluster, base

    def _pids(self) -> dict[str, set[int]]:
        if self.cluster is None:
            return {}
        balancer = self.cluster.balancer.proc
        return {
            "postgres": _pg_backends(self.cluster.servers, self.base),
            "redis": _redis_pids(),
            "haproxy": {balancer.pid} if balancer is not None else set(),
        }

    def start(self) -> None:
        self.before = {k: _pids_cpu_s(v) for k, v in self._pids().items()}

    def spent(self) -> dict[str, float]:
        out = {}
        for kind, pids in self._pids().items():
            before = self.before.get(kind, {})
            now = _pids_cpu_s(pids | set(before))
            out[kind] = sum(now[p] - before.get(p, 0.0) for p in now)
        return out


def _pg_duplicates(url: str) -> tuple[int, int]:
    """(tickets, duplicate numbers per service and day) in the schema of `url`."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) - count(DISTINCT (service, day, number)) FROM ticket"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# --- 1. the issuing load -------------------------------------------------------------------
def _issue_requests(token: str) -> list[bytes]:
    auth = {"Authorization": f"Bearer {token}"}
    return [
        build_request(
            "POST",
            "/api/v1/tickets",
            json.dumps({"service": SERVICES[i % len(SERVICES)]}).encode(),
            auth,
        )
        for i in range(KIOSKS)
    ]


def _load(port: int, requests: list[bytes], n: int = MAX_REQUESTS) -> LoadResult:
    return run_load(
        port,
        requests,
        duration=ISSUE_S,
        max_requests=n,
        processes=2 if len(requests) >= 10 else 1,
    )


class _Measured:
    """One deployment under the issuing load: what the kiosks and the processes saw."""

    def __init__(
        self, label: str, servers: list[Server], port: int, kiosk: str, services: _Services
    ) -> None:
        issue_req = _issue_requests(kiosk)
        health_req = [build_request("GET", "/api/v1/health")] * KIOSKS
        _load(port, health_req, WARM)
        self.warm = _load(port, issue_req, WARM).ok
        self.label = label
        self.processes = len(servers)
        self.other = OtherLoad()
        self.health = _load(port, health_req)
        cpu0 = _cpu_s(servers)
        services.start()
        self.issue = _load(port, issue_req)
        cpu1 = _cpu_s(servers)
        self.services = services.spent()
        self.other_note = self.other.note()
        self.split = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
        self.cpu_s = sum(self.split)
        self.db_note = ""

    @property
    def tickets(self) -> int:
        return self.issue.ok

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s / max(1, self.tickets) * 1000

    @property
    def ratio(self) -> float:
        floor = self.health.pct_ms(99)
        return self.issue.pct_ms(99) / floor if floor else float("inf")

    def rows(self, sqlite_ms: float | None) -> list[Row]:
        bad = {s: n for s, n in self.issue.statuses.items() if s != 201}
        door = (
            "its own port"
            if self.processes == 1
            else f"HAProxy, leastconn over {self.processes} processes"
        )
        errors = f"; NON-201: {bad}, errors {self.issue.errors}" if bad or self.issue.errors else ""
        spread = "/".join(f"{s:.1f}" for s in self.split)
        cpu_value = f"{self.cpu_ms:.2f} ms"
        target = "-"
        if sqlite_ms is not None:
            cpu_value += f" ({self.cpu_ms / sqlite_ms:.2f}× SQLite)"
            target = f"≤ 1.5× SQLite ({1.5 * sqlite_ms:.2f} ms)"
        per = {k: v / max(1, self.tickets) * 1000 for k, v in self.services.items()}
        beside = (
            f"; meanwhile PostgreSQL backends {per['postgres']:.2f} ms/ticket, Redis "
            f"{per['redis']:.2f}, HAProxy {per['haproxy']:.2f}"
            if per
            else ""
        )
        return [
            (
                f"issue at {KIOSKS} kiosks, {self.label}",
                f"{self.issue.rate:,.0f} tickets/s; p99 {self.issue.pct_ms(99):.1f} ms, "
                f"health p99 {self.health.pct_ms(99):.1f} ms ({self.ratio:.1f}×)",
                "p99 ≤ 3× health p99",
                f"{self.tickets:,} tickets in {self.issue.elapsed:.1f} s through {door}; "
                f"health: {KIOSKS} clients just before, same door; {self.other_note}"
                f"{self.db_note}{errors}",
            ),
            (
                f"server CPU per ticket, {self.label}",
                cpu_value,
                target,
                f"user+system of every motcua serve process (s per process: {spread})" + beside,
            ),
        ]


def _sqlite() -> _Measured:
    with Server() as srv:
        kiosk = srv.device("kiosk-scale", "kiosk")
        srv.start()
        got = _Measured("SQLite, 1 process", [srv], srv.port, kiosk, _Services(None, ""))
        srv.stop()
        check = check_numbers(str(srv.data / "motcua.sqlite3"))
        got.db_note = f"; {check['duplicates']} duplicate numbers in {check['tickets']:,} tickets"
        return got


def _postgres(n: int, base: str, redis_url: str) -> _Measured:
    with _cluster(n, base, redis_url, counters=4) as cluster:
        kiosk = cluster.first.device("kiosk-scale", "kiosk")
        cluster.start()
        port = cluster.first.port if n == 1 else cluster.port
        label = f"PostgreSQL + Redis, {n} process{'es' if n > 1 else ''}"
        got = _Measured(label, cluster.servers, port, kiosk, _Services(cluster, base))
        tickets, dups = _pg_duplicates(cluster.first.env["MOTCUA_DATABASE_URL"])
        got.db_note = f"; {dups} duplicate numbers in {tickets:,} tickets"
        return got


# --- 2. call → every board over the processes -------------------------------------------
def _calls(
    caller: _Caller, parts: list[_Boards], calls: int
) -> tuple[list[float], list[float], list[float], list[str]]:
    """(call → first board, → last board, HTTP round trips, problems) of `calls` calls."""
    sent: dict[int, float] = {}
    rtts = []
    for _ in range(calls):
        t0, seq, rtt = caller.call()
        sent[seq] = t0
        rtts.append(rtt)
        time.sleep(SPACING_S)
    time.sleep(1.0)
    seqs = sorted(sent)
    problems: list[str] = []
    firsts: dict[int, float] = {}
    lasts: dict[int, float] = {}
    for p, part in enumerate(parts):
        for i, seen in enumerate(part.report()):
            if seen is None:
                problems.append(f"process {p + 1}'s board {i} disconnected")
                continue
            if [s for _, s, _ in seen] != seqs:
                problems.append(f"process {p + 1}'s board {i}: {len(seen)} of {len(seqs)} calls")
                continue
            if [prev for _, _, prev in seen][1:] != seqs[:-1]:
                problems.append(f"process {p + 1}'s board {i}: prev_seq does not chain")
            for t, s, _ in seen:
                firsts[s] = min(firsts.get(s, t), t)
                lasts[s] = max(lasts.get(s, t), t)
    first = [firsts[s] - sent[s] for s in seqs if s in firsts]
    last = [lasts[s] - sent[s] for s in seqs if s in lasts]
    return first, last, rtts, problems


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f}"


def _fanout(base: str, redis_url: str) -> list[Row]:
    rows: list[Row] = []
    server_cpus, client_cpus = cpu_split()
    n_proc = FANOUT_PROCESSES
    with _cluster(n_proc, base, redis_url, counters=COUNTERS) as cluster, confined(client_cpus):
        for srv in cluster.servers:
            srv.cpus = server_cpus
        first = cluster.first
        kiosk = first.device("kiosk-scale", "kiosk")
        board = first.device("board-scale", "display")
        boss = first.user_token("boss", "supervisor")
        cluster.start()
        tickets = CALLS * len(BOARDS) + 20
        issue = build_request(
            "POST",
            "/api/v1/tickets",
            json.dumps({"service": "DD"}).encode(),
            {"Authorization": f"Bearer {kiosk}"},
        )
        issued = run_load(first.port, [issue] * 10, duration=60, max_requests=tickets)
        if issued.ok != tickets:
            raise RuntimeError(f"could only issue {issued.ok} of {tickets} tickets")
        caller = _Caller(first.port, boss)
        parts = [_Boards(srv.port, board) for srv in cluster.servers]
        try:
            caller.call()  # warm: the first call's code paths and voice
            time.sleep(0.5)
            for n in BOARDS:
                t0 = time.perf_counter()
                try:
                    for i, part in enumerate(parts):
                        part.grow_to(n // n_proc + (1 if i < n % n_proc else 0))
                except RuntimeError as exc:
                    rows.append(
                        (
                            f"call → last board, {n} boards over {n_proc} processes",
                            "not measured",
                            "p99 ≤ 100 ms",
                            f"could not connect {n} boards in "
                            f"{time.perf_counter() - t0:.0f} s: {exc}"[:300],
                        )
                    )
                    break
                connect_s = time.perf_counter() - t0
                for part in parts:
                    part.report()  # forget the calls seen before this step
                other = OtherLoad()
                cpu0 = sum(_cpu_s(cluster.servers))
                first_s, last_s, rtts, problems = _calls(caller, parts, CALLS)
                cpu_ms = (sum(_cpu_s(cluster.servers)) - cpu0) * 1000 / CALLS
                rss = max(srv.rss_mb()[0] for srv in cluster.servers)
                rows += [
                    (
                        f"call → first board, {n} boards over {n_proc} processes",
                        f"p50 {_ms(first_s, 50)} ms, p99 {_ms(first_s, 99)} ms",
                        "-",
                        f"{CALLS} calls every {SPACING_S * 1000:.0f} ms through process 1's "
                        f"port; HTTP call p50 {_ms(rtts, 50)} ms; servers' CPU "
                        f"{cpu_ms:.0f} ms/call; largest worker RSS {rss:.0f} MB; "
                        f"connect {connect_s:.1f} s; {other.note()}",
                    ),
                    (
                        f"call → last board, {n} boards over {n_proc} processes",
                        f"p50 {_ms(last_s, 50)} ms, p99 {_ms(last_s, 99)} ms",
                        "p99 ≤ 100 ms",
                        (
                            "every board got every call in seq order"
                            if not problems
                            else "PROBLEMS: " + "; ".join(problems[:3])
                        )
                        + f"; boards straight to each process's port (Redis message queue); "
                        f"{pin_note(server_cpus, client_cpus)}",
                    ),
                ]
        finally:
            for part in parts:
                part.stop()
    return rows


def run() -> list[Row]:
    boost()
    base, redis_url = _urls()
    sqlite = _sqlite()
    rows = sqlite.rows(None)
    for n in PROCESSES:
        rows += _postgres(n, base, redis_url).rows(sqlite.cpu_ms)
    return rows + _fanout(base, redis_url)


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
