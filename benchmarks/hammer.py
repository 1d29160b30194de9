"""Correctness under load: 20 kiosks and 30 counters hammering the production server.

For a bounded time, 20 kiosk clients issue tickets as fast as they are answered, while
30 counters call next and finish (and, now and then, recall or mark a no-show) as fast
as they are answered; a board (and a python-socketio client) stays connected
throughout.  Afterwards, from the database: no duplicate and no gap in any day's
numbering, no ticket called twice, at most one citizen per counter, every called ticket
matching its call row — and from the boards: every call received, in seq order."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import sqlite3
import time
from collections import Counter
from typing import Any

from ._load import AsyncConn, percentile
from ._server import CONFIG_NOTE, OtherLoad, Server, boost
from .http_issue import SERVICES, check_numbers
from .socket_fanout import REAL_CLIENTS, _Boards, _RealClient

Row = tuple[str, str, str, str]

DURATION_S = float(os.environ.get("BENCH_HAMMER_S", "10"))
KIOSKS = 20
COUNTERS = 30


async def _kiosk(port: int, token: str, deadline: float, stats: Counter[str], lat: list[float]):
    conn = AsyncConn(port)
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random()
    while time.perf_counter() < deadline:
        body = json.dumps({"service": rng.choice(SERVICES)}).encode()
        t0 = time.perf_counter()
        status, _ = await conn.request("POST", "/api/v1/tickets", body, auth)
        lat.append(time.perf_counter() - t0)
        stats[f"issue {status}"] += 1
    conn.close()


async def _counter(
    port: int, token: str, number: int, deadline: float, stats: Counter[str], lat: list[float]
):
    conn = AsyncConn(port)
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random(number)
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        status, data = await conn.request("POST", f"/api/v1/counters/{number}/next", b"", auth)
        lat.append(time.perf_counter() - t0)
        stats[f"next {status}"] += 1
        if status == 204:
            await asyncio.sleep(0.01)
            continue
        if status != 200:
            continue
        ticket = json.loads(data)["ticket"]["id"]
        roll = rng.random()
        if roll < 0.1:
            status, _ = await conn.request("POST", f"/api/v1/counters/{number}/recall", b"", auth)
            stats[f"recall {status}"] += 1
        action = "no-show" if roll > 0.95 else "finish"
        status, _ = await conn.request("POST", f"/api/v1/tickets/{ticket}/{action}", b"", auth)
        stats[f"{action} {status}"] += 1
    conn.close()


def _clients(kind: str, port: int, token: str, start_at: float, q: Any) -> None:
    async def main() -> None:
        stats: Counter[str] = Counter()
        lat: list[float] = []
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        deadline = start_at + DURATION_S
        if kind == "kiosks":
            tasks = [_kiosk(port, token, deadline, stats, lat) for _ in range(KIOSKS)]
        else:
            tasks = [_counter(port, token, n, deadline, stats, lat) for n in range(1, COUNTERS + 1)]
        await asyncio.gather(*tasks)
        q.put((kind, dict(stats), lat))

    asyncio.run(main())


def check_calls(db_path: str) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        called_twice = conn.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM call WHERE recall = 0 GROUP BY ticket_id HAVING count(*) > 1) AS x"
        ).fetchone()[0]
        events_twice = conn.execute(
            "SELECT count(*) FROM (SELECT ticket_id FROM ticket_event WHERE action = 'call' GROUP BY ticket_id HAVING count(*) > 1) AS x"
        ).fetchone()[0]
        busy_twice = conn.execute(
            "SELECT count(*) FROM (SELECT counter FROM ticket WHERE status IN ('called', 'serving') GROUP BY counter HAVING count(*) > 1) AS x"
        ).fetchone()[0]
        # A ticket that left the queue through a call has exactly one first call, at its counter.
        mismatched = conn.execute(
            """SELECT count(*) FROM ticket t
               WHERE t.called_at IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM call c WHERE c.ticket_id = t.id AND c.recall = 0
                     AND c.counter = t.counter AND c.at = t.called_at)"""
        ).fetchone()[0]
        seqs = [r[0] for r in conn.execute("SELECT seq FROM call ORDER BY seq")]
    finally:
        conn.close()
    return {
        "called_twice": called_twice + events_twice,
        "busy_twice": busy_twice,
        "mismatched": mismatched,
        "seqs": seqs,
    }


def run() -> list[Row]:
    boost()
    rows: list[Row] = []
    with Server(counters=COUNTERS) as srv:
        kiosk = srv.device("kiosk-bench", "kiosk")
        board_token = srv.device("board-bench", "display")
        boss = srv.user_token("boss", "supervisor")
        srv.start()
        boards = _Boards(srv.port, board_token)
        real = [_RealClient(srv.port, board_token) for _ in range(REAL_CLIENTS)]
        results: dict[str, tuple[dict[str, int], list[float]]] = {}
        try:
            boards.grow_to(5)
            boards.report()
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            start_at = time.perf_counter() + 0.5
            procs = [
                ctx.Process(target=_clients, args=(kind, srv.port, tok, start_at, q), daemon=True)
                for kind, tok in (("kiosks", kiosk), ("counters", boss))
            ]
            other = OtherLoad()
            for p in procs:
                p.start()
            for _ in procs:
                kind, stats, lat = q.get(timeout=DURATION_S + 120)
                results[kind] = (stats, lat)
            for p in procs:
                p.join(timeout=10)
            load_note = other.note()
            time.sleep(1.0)  # let the last calls reach the boards
            seen = boards.report()
            seen_real = [rc.take() for rc in real]
        finally:
            for rc in real:
                rc.sio.disconnect()
            boards.stop()
        srv.stop()
        db_path = str(srv.data / "motcua.sqlite3")
        numbers = check_numbers(db_path)
        calls = check_calls(db_path)
    stats: Counter[str] = Counter()
    for s, _ in results.values():
        stats.update(s)
    seqs = calls["seqs"]
    lost = 0
    out_of_order = 0
    for board in [*seen, *seen_real]:
        if board is None:
            lost += len(seqs)
            continue
        got = [s for _, s, _ in board]
        lost += len(set(seqs) - set(got))
        out_of_order += int(got != sorted(got) or len(got) != len(set(got)))
    per_s = {k: v / DURATION_S for k, v in stats.items()}
    issue_lat = results["kiosks"][1]
    next_lat = results["counters"][1]
    ops = ", ".join(f"{k} {v:,.0f}/s" for k, v in sorted(per_s.items()))
    rows += [
        (
            f"hammer: {KIOSKS} kiosks + {COUNTERS} counters, {DURATION_S:.0f} s",
            f"{per_s.get('issue 201', 0):,.0f} issues/s, {per_s.get('next 200', 0):,.0f} calls/s",
            "-",
            f"{ops}; {load_note}",
        ),
        (
            "hammer: latency p50 / p99",
            f"issue {percentile(issue_lat, 50) * 1000:.0f} / {percentile(issue_lat, 99) * 1000:.0f} ms, "
            f"next {percentile(next_lat, 50) * 1000:.0f} / {percentile(next_lat, 99) * 1000:.0f} ms",
            "-",
            "under the full mixed load",
        ),
        (
            "hammer: duplicate / gap numbers",
            f"{numbers['duplicates']} / {numbers['gaps']}",
            "0 / 0",
            f"{numbers['tickets']:,} tickets; {CONFIG_NOTE}",
        ),
        (
            "hammer: tickets called twice",
            f"{calls['called_twice']}",
            "0",
            f"{len(seqs):,} calls; {calls['busy_twice']} counters with two citizens; "
            f"{calls['mismatched']} tickets without their call row",
        ),
        (
            "hammer: lost / out-of-order calls on boards",
            f"{lost} / {out_of_order}",
            "0 / 0",
            f"{len(seen)} asyncio boards + {len(seen_real)} python-socketio clients, "
            f"each checked against the call table",
        ),
    ]
    errors = {k: v for k, v in stats.items() if k.split()[-1] not in ("200", "201", "204")}
    if errors:
        rows.append(("hammer: unexpected answers", str(errors), "none", ""))
    return rows
