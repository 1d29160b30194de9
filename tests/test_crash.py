"""`kill -9` of the production server mid-load, then `motcua serve` again on the same data
dir (issue #9), at reduced size for CI: the scenario of benchmarks/crash.py with 3
kiosks (one with the real kiosk agent printing to a folder), 2 counters, a raw board
and the pygame board's own client on /display, a department's dossiers whose SMS go
through the HTTP gateway to a counting sink, a phone's lookups and a tracking page.
The full-size run (20 kiosks, 30 counters, more boards) is `python -m benchmarks crash`,
part of `make bench`, which prints the figures.

The scenario runs once for this module (~35 s); each test reads one area of its
outcome: tickets and numbering, boards, the kiosk agent, the SMS outbox."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import _server
from benchmarks._crashcheck import check
from benchmarks.crash import Outcome, Plan, scenario
from server.notify.worker import INTERRUPTED

SMALL = Plan(
    kiosks=3,
    counters=2,
    raw_boards=1,
    trackers=1,
    before_s=2.0,
    after_s=2.0,
    agent_every_s=0.2,
    kiosk_pause_s=0.05,
    counter_pause_s=0.1,
    burst=5,
    burst_every_s=0.5,
    lookup_every_s=1.0,
    lease_s=10.0,  # short, so a worker that recovers stale rows while running shows it here
    settle_s=30.0,
)


@pytest.fixture(scope="module")
def crashed() -> tuple[Outcome, dict[str, Any]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_server, "NICE", 0)  # a test does not outrank the machine's other work
        out = scenario(SMALL)
    return out, check(out)


def test_every_acknowledged_ticket_survives_and_numbering_goes_on(crashed):
    out, found = crashed
    before = [t for t in out.acked if t["t"] < out.t_kill]
    after = [t for t in out.acked if t["t"] > out.t_restart]
    assert len(before) > 5, "the load did not get going before the kill"
    assert found["missing_tickets"] == []
    assert found["numbering"] == [], out.numbers
    assert found["numbering_jumps"] == []  # each service goes on at last + 1
    assert after, "no ticket was issued after the restart"
    assert out.call_facts["called_twice"] == 0
    assert out.call_facts["busy_twice"] == 0


def test_every_board_catches_up_with_every_call_once_in_order(crashed):
    out, found = crashed
    assert out.pre_kill_seq > 0, "no call before the kill"
    assert out.expected[-1] > out.pre_kill_seq, "no call after the restart"
    assert set(out.boards) == {"raw board 1", "pygame board"}
    for name, (baseline, shown, _, connections) in out.boards.items():
        assert connections >= 2, f"{name} did not reconnect"
        assert [s for _, s in shown] == [s for s in out.expected if s > baseline], name
    assert found["boards"] == {}
    assert out.board_errors == []
    assert out.tracked_after and all(n > 0 for n in out.tracked_after)  # tracking pages too


def test_the_kiosk_agent_prints_each_acknowledged_ticket_once(crashed):
    out, found = crashed
    jobs = out.agent_jobs()
    assert len(jobs) >= 5, "the agent's kiosk issued too few tickets"
    assert out.agent_reconnect_s is not None, "the agent did not reconnect"
    assert found["jobs_not_printed"] == []
    assert found["jobs_printed_twice"] == []  # a re-sent job is skipped by the journal
    assert all(out.printed[j] == 1 for j in jobs)


def test_no_sms_is_delivered_twice_and_the_one_in_flight_is_marked(crashed):
    out, found = crashed
    assert out.held, "the kill did not catch a message in flight"
    queued = sum(n for _, _, n in out.seen.dossiers)
    assert queued > 0 and len(out.outbox) >= queued  # each acknowledged event queued its SMS
    assert found["missing_dossiers"] == []
    assert any(t > out.t_restart for t in out.sms_times), "no SMS sent after the restart"
    assert found["sms_twice"] == []
    assert found["sms_sent_not_delivered"] == []
    # After the lease (the running worker, or the recovery pass as the next start would
    # run it): the killed worker's claimed rows are sent, the one it had handed to the
    # gateway — which did reach the provider — is marked interrupted and never resent.
    claimed = sum(s == "claimed" for _, s in out.stuck)
    sending = sum(s == "sending" for _, s in out.stuck)
    assert out.recovery == (claimed, sending)
    assert found["sms_left_after_recovery"] == []
    assert out.outbox[out.held] == ("failed", INTERRUPTED)
    assert out.delivered_final[out.held] == 1
    assert [k for k, (s, _) in out.outbox.items() if s != "sent" and k != out.held] == []


def test_the_outbox_resumes_after_a_quick_restart(crashed):
    """A server killed and restarted within the lease: the running worker recovers the
    killed one's rows once they are older than the lease (every lease / 2), it does not
    wait for some later restart.  Here the lease is 10 s, the outbox is watched 18 s."""
    out, found = crashed
    if not out.held:
        pytest.skip("the kill did not catch a message in flight")
    if out.t_restart + out.health_s - out.t_kill >= SMALL.lease_s:
        pytest.skip("the restart took longer than the lease: not a quick restart")
    assert found["sms_stuck_after_restart"] == []
