"""The crash benchmark's verdict: what went wrong, from what `crash.scenario` saw
(`check`, also what tests/test_crash.py asserts on), and the table rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.notify.worker import INTERRUPTED

if TYPE_CHECKING:
    from .crash import Outcome

Row = tuple[str, str, str, str]


def check(out: Outcome) -> dict[str, Any]:
    """What went wrong (empty lists: nothing), per area, from an `Outcome`."""
    missing = [
        t["label"]
        for t in out.acked
        if out.db_tickets.get(t["token"], ())[:3] != (t["label"], t["number"], t["service"])
    ]
    last: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], int] = {}
    for _, number, service, day, at in out.db_tickets.values():
        key = (service, day)
        if at < out.kill_wall:
            last[key] = max(last.get(key, 0), number)
        else:
            first[key] = min(first.get(key, number), number)
    jumps = [f"{k}: {last[k]} → {n}" for k, n in first.items() if k in last and n != last[k] + 1]
    boards = {}
    for name, (base, shown, _, _) in out.boards.items():
        seqs, want = [s for _, s in shown], [s for s in out.expected if s > base]
        boards[name] = {
            "lost": sorted(set(want) - set(seqs)),
            "repeated": len(seqs) - len(set(seqs)),
            "out_of_order": sum(b <= a for a, b in zip(seqs, seqs[1:], strict=False)),
            "unknown": sorted(set(seqs) - set(want)),
        }
    jobs = out.agent_jobs()
    sending = [k for k, s in out.stuck if s == "sending"]
    return {
        "missing_tickets": missing,
        "numbering": [f"{out.numbers['duplicates']} duplicates, {out.numbers['gaps']} gaps"]
        if out.numbers["duplicates"] or out.numbers["gaps"]
        else [],
        "numbering_jumps": jumps,
        "boards": {n: b for n, b in boards.items() if any(b.values())},
        "missing_dossiers": [c for _, c, _ in out.seen.dossiers if c not in out.dossier_codes],
        "jobs_not_printed": [j for j in jobs if out.printed[j] == 0],
        "jobs_printed_twice": [j for j, n in out.printed.items() if n > 1],
        "sms_twice": [k for k, n in out.delivered_final.items() if n > 1],
        "sms_sent_not_delivered": [
            k for k, (s, _) in out.outbox.items() if s == "sent" and not out.delivered_final[k]
        ],
        "sms_stuck_after_restart": out.stuck,
        "sms_left_after_recovery": [
            k for k, (s, _) in out.outbox.items() if s in ("queued", "claimed", "sending")
        ],
        "sms_interrupted_not_marked": [
            k for k in sending if out.outbox.get(k, ("", None))[1] != INTERRUPTED
        ],
    }


def _first_after(times: list[float], t0: float) -> str:
    later = [t - t0 for t in times if t > t0]
    return f"{min(later):.2f} s" if later else "never"


def rows(out: Outcome) -> list[Row]:
    p, found, ops = out.plan, check(out), out.seen.ops
    before = out.t_kill - out.t_go
    issued = [t for t in out.acked if t["t"] < out.t_kill]
    called = [c for c in out.seen.calls if c[0] < out.t_kill]
    after = [t for t in out.acked if t["t"] > out.t_restart]
    known = {t["token"] for t in out.acked} | set(out.setup_tickets)
    unacked = sum(1 for k, v in out.db_tickets.items() if v[4] < out.kill_wall and k not in known)
    caught: list[float] = []
    for _, shown, _, _ in out.boards.values():
        done = [t for t, s in shown if t > out.t_restart and s >= out.pre_kill_seq]
        caught.append(min(done) - out.t_restart if done else float("inf"))
    board_faults = found["boards"]
    lost = sum(len(b["lost"]) for b in board_faults.values())
    repeated = sum(b["repeated"] for b in board_faults.values())
    disorder = sum(b["out_of_order"] for b in board_faults.values())
    jobs = out.agent_jobs()
    extra_prints = sum(1 for j in out.printed if j not in set(jobs))
    sending = sum(s == "sending" for _, s in out.stuck)
    errors5xx = {k: n for k, n in ops.items() if k.split()[-1].startswith("5")}
    sms_rows = len(out.outbox)
    interrupted = sum(e == INTERRUPTED for _, e in out.outbox.values())
    size = f"{p.kiosks} kiosks + {p.counters} counters"
    return [
        (
            f"crash: load before the kill ({size}, {before:.0f} s)",
            f"{len(issued) / before:,.0f} issues/s, {len(called) / before:,.0f} calls/s",
            "-",
            f"{len(out.seen.dossiers)} dossiers (1 SMS each), lookups "
            f"{sum(n for k, n in ops.items() if k.startswith('lookup 2'))}; {out.other_load}",
        ),
        (
            "crash: kill -9 → restart → /health",
            f"{out.health_s:.2f} s",
            "≤ 2 s",
            f"SIGKILL to master + worker (pids {out.pids}) mid-load; same data dir",
        ),
        (
            "crash: restart → first 201",
            _first_after([t["t"] for t in out.acked], out.t_restart),
            "-",
            f"kiosks retried every 50 ms meanwhile; {len(after):,} tickets issued after",
        ),
        (
            "crash: acknowledged tickets missing",
            f"{len(found['missing_tickets'])} of {len(out.acked):,}",
            "0",
            f"{unacked} more committed but unacknowledged (in flight at the kill)",
        ),
        (
            "crash: duplicate / gap numbers",
            f"{out.numbers['duplicates']} / {out.numbers['gaps']}",
            "0 / 0",
            f"{out.numbers['tickets']:,} tickets; numbering resumed at last + 1 in "
            f"{len(found['numbering_jumps']) == 0 and 'every' or 'NOT every'} service; "
            f"{out.call_facts['called_twice']} tickets called twice",
        ),
        (
            "crash: lost / repeated / out-of-order calls on boards",
            f"{lost} / {repeated} / {disorder}",
            "0 / 0 / 0",
            f"{len(out.expected):,} calls; {p.raw_boards} raw boards (resync) + pygame "
            f"BoardClient; {sum(b[2] for b in out.boards.values())} repeats absorbed; "
            f"connections {[b[3] for b in out.boards.values()]}"
            + (f"; errors {out.board_errors[:2]}" if out.board_errors else ""),
        ),
        (
            "crash: restart → boards caught up",
            f"max {max(caught):.2f} s, min {min(caught):.2f} s",
            "-",
            f"every call up to #{out.pre_kill_seq} (last before the kill) shown, then live",
        ),
        (
            "crash: kiosk agent prints (acknowledged tickets)",
            f"{sum(out.printed[j] == 1 for j in jobs)} of {len(jobs)} once, "
            f"{len(found['jobs_printed_twice'])} twice, {len(found['jobs_not_printed'])} missing",
            "all once",
            f"motcua kiosk + file printer; reconnected {out.agent_reconnect_s or float('nan'):.2f} s "
            f"after restart; re-sent jobs skipped by journal {out.absorbed[0]} / backend "
            f"{out.absorbed[1]}; {extra_prints} printed for unacknowledged tickets",
        ),
        (
            "crash: SMS delivered twice",
            f"{len(found['sms_twice'])}",
            "0",
            f"{sms_rows} in the outbox, {sum(out.delivered_final.values())} deliveries; first "
            f"after restart {_first_after(out.sms_times, out.t_restart)}; in flight at the "
            f"kill: {out.held or 'none'}",
        ),
        (
            "crash: SMS stuck after the worker resumed",
            f"{len(out.stuck)} ({len(out.stuck) - sending} claimed, {sending} sending)",
            "0",
            "the killed worker's rows, left: recovery runs only at worker start and for rows "
            f"older than sms.lease_seconds ({p.lease_s:.0f} s), a quick restart leaves them"
            if out.stuck
            else "the killed worker's rows were recovered",
        ),
        (
            "crash: recovery pass after the lease",
            f"{out.recovery[0]} requeued, {out.recovery[1]} interrupted",
            f"{len(out.stuck) - sending}, {sending}",
            f"then {len(found['sms_left_after_recovery'])} left queued, {interrupted} marked "
            f"INTERRUPTED (not resent), {len(found['sms_sent_not_delivered'])} sent but never "
            "delivered",
        ),
        (
            "crash: tracking pages / 5xx / server tracebacks",
            f"{sum(n > 0 for n in out.tracked_after)} of {p.trackers} followed again",
            "all, 0, 0",
            f"5xx {errors5xx or 0}; tracebacks in the server log {out.server_errors}",
        ),
    ]
