"""Fail-over at the suite's size (benchmarks/failover.py, `make bench` runs it full
size): 3 `motcua serve` behind the shipped HAProxy config + `motcua worker` on
PostgreSQL + Redis, 4 kiosks, 4 counters, 5 raw boards and the pygame board's client,
10 tracking pages; `kill -9` of a
server, then of the worker, both restarted, then a rolling restart of each.  No
acknowledged ticket lost, no duplicate or gap, every board shows every call once in
seq order, every client back within 5 s, no kiosk error beyond a retry during the
rolling restart, no SMS sent twice.  When it runs: tests/lb_fixtures.py."""

from __future__ import annotations

from benchmarks import _server, failover
from tests.engines import fresh_schema
from tests.lb_fixtures import REDIS, needs_cluster

pytestmark = needs_cluster()


def test_kill_9_and_a_rolling_restart_lose_nothing(monkeypatch) -> None:
    monkeypatch.setattr(_server, "NICE", 0)
    assert REDIS
    with fresh_schema() as url:
        out = failover.scenario(failover.SMALL, url, REDIS)
    f = failover.facts(out)
    report = "\n".join("  ".join(row) for row in failover.rows(out))
    assert failover.problems(out) == [], report
    # the load went through every step, and the kills were felt
    assert f["acked"] > 20 and f["calls"] > 10, report
    assert f["outages"]["boards"], report  # some boards were on the killed process
    # every process was restarted: the pygame board's client came back at least once
    assert out.seen.real_board_connects >= 2, report
    assert f["sms_sent"] == f["sms_queued"] > 0, report
