"""Numbering and calling under many writers in several processes, on the engine the
suite runs on (a shared SQLite file, or PostgreSQL with MOTCUA_TEST_ENGINE=postgresql):
4 processes × 20 kiosks issue, and numbers stay unique and gap-free; 4 processes × 30
counters call, and no ticket is ever called twice, with a gap-free call sequence."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from server.app import create_app
from server.dbconfig import open_store
from server.store import catalog
from tests.conftest import MORNING, shipped_config

PROCESSES = 4
KIOSKS = 20
PER_KIOSK = 6
COUNTERS = 30


def _config():
    return replace(shipped_config(), kiosk_burst=1_000_000)


def _kiosks(data_dir: str, start: multiprocessing.synchronize.Event) -> list[int]:  # type: ignore[name-defined]
    from server import tickets

    cfg = _config()
    db = open_store(cfg, Path(data_dir))
    barrier = threading.Barrier(KIOSKS)

    def kiosk(k: int) -> list[int]:
        barrier.wait()
        got = []
        for i in range(PER_KIOSK):
            now = MORNING + timedelta(seconds=k, microseconds=i)
            t = tickets.issue(db, cfg, service="DD", channel="kiosk", now=now)
            got.append(t["number"])
        return got

    start.wait()
    with ThreadPoolExecutor(KIOSKS) as pool:
        numbers = [n for part in pool.map(kiosk, range(KIOSKS)) for n in part]
    db.close()
    return numbers


def _counters(data_dir: str, start: multiprocessing.synchronize.Event) -> list[int]:  # type: ignore[name-defined]
    from server import tickets

    cfg = _config()
    db = open_store(cfg, Path(data_dir))
    barrier = threading.Barrier(COUNTERS)

    def counter(number: int) -> list[int]:
        barrier.wait()
        called = []
        while True:
            result = tickets.call_next(db, cfg, number, f"staff{number}", MORNING)
            if result is None:
                return called
            called.append(result.ticket["id"])

    start.wait()
    with ThreadPoolExecutor(COUNTERS) as pool:
        ids = [i for part in pool.map(counter, range(1, COUNTERS + 1)) for i in part]
    db.close()
    return ids


def _in_processes(target, data_dir: Path) -> list[int]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Event()
    with ctx.Pool(PROCESSES) as pool:
        results = [pool.apply_async(target, (str(data_dir), start)) for _ in range(PROCESSES)]
        start.set()
        return [x for r in results for x in r.get(timeout=240)]


def _app(tmp_path: Path):
    app = create_app(_config(), tmp_path / "data", testing=True)
    return app, app.extensions["motcua"]


def test_numbers_unique_and_gap_free_with_4_processes_of_20_kiosks(tmp_path):
    app, ctx = _app(tmp_path)
    try:
        numbers = _in_processes(_kiosks, ctx.data_dir)
        total = PROCESSES * KIOSKS * PER_KIOSK
        assert len(numbers) == total
        assert sorted(numbers) == list(range(1, total + 1))  # unique, no gap
        with ctx.db.read() as conn:
            stored = [r[0] for r in conn.execute("SELECT number FROM ticket ORDER BY number")]
        assert stored == list(range(1, total + 1))
    finally:
        ctx.close()


def test_no_ticket_called_twice_with_4_processes_of_30_counters(tmp_path):
    from server import tickets

    app, ctx = _app(tmp_path)
    try:
        cfg = ctx.cfg
        with ctx.db.write() as conn:
            for n in range(1, COUNTERS + 1):
                catalog.upsert_counter(
                    conn, {"number": n, "name": f"Quầy {n}", "zone": "A", "services": ["DD"]}
                )
        issued = 400
        for i in range(issued):
            tickets.issue(ctx.db, cfg, service="DD", now=MORNING + timedelta(microseconds=i))
        called = _in_processes(_counters, ctx.data_dir)
        twice = [t for t, n in Counter(called).items() if n > 1]
        assert twice == []
        assert len(called) == issued  # every waiting ticket was called, once
        with ctx.db.read() as conn:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM call ORDER BY seq")]
            per_ticket = conn.execute(
                "SELECT count(*) FROM (SELECT ticket_id FROM call GROUP BY ticket_id "
                "HAVING count(*) > 1) AS x"
            ).fetchone()[0]
        assert seqs == list(range(1, issued + 1))  # the boards' sequence has no gap
        assert per_ticket == 0
    finally:
        ctx.close()
