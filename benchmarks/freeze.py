"""Freeze: no single caller may freeze the hall (issue 15).  Each attack runs, bounded and
on loopback only, against its own `motcua serve` (real connection limits, the bench's
always-open hours) while kiosks issue tickets and a poller hits /api/v1/health; each
server first measures a quiet baseline the same way.

- (a) far-off dates: a department's key PUTs dossiers with due_at 9999-12-30 and
  status_at in year 0001, and a supervisor reads the watch list, one of each every
  20 ms for 30 s;
- (b) spreadsheets: a 141 KiB XLSX of 1,000,000 one-cell rows, then a 300,000-row
  spreadsheet (dry run: parsing and checking, no writes), uploaded with a department
  key to POST /api/v1/dossiers/imports;
- (c) a 100,000-row all-or-nothing import by the department, which meanwhile keeps
  updating one dossier (PUT) as its software would;
- (d) connections: 4,000 connections from 127.0.0.2 that never finish their headers,
  4,000 anonymous /track WebSockets from 127.0.0.3, and 60 connections from 127.0.0.4
  sending the largest header block the server allows without ending it, all held 30 s;
- (e) API-key flood: one department key sends invalid PUTs (each a cheap 400) as fast
  as 4 connections go, at most 5,000 or for 30 s (it once sent 5,000 in 13 s and ticket
  p99 rose to 4.1× quiet); this server keeps config.yaml's `api_keys` limit (the
  others lift it, one key standing for a department's whole load), so past its burst
  the key gets 429s.

Targets (DESIGN.md): ticket p99 ≤ 3× quiet, /health never over 1 s, no 5xx, worker RSS
back within 50 MB of before once the attack is over.  Each attack is measured for at
most a minute; an import still running then is waited for, unmeasured (up to 3 min),
before RSS is read again.  `python -m benchmarks freeze` runs this section alone."""

from __future__ import annotations

import http.client
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from server.connlimits import ConnectionLimits

from . import _freeze_attacks as atk
from ._load import percentile
from ._server import (
    HOST,
    OtherLoad,
    Server,
    boost,
    confined,
    cpu_split,
    pin_note,
    sample_dossier,
)

Row = tuple[str, str, str, str]


@dataclass
class Plan:
    quiet_s: float = 10.0
    kiosks: int = 4
    kiosk_every_s: float = 0.1  # each kiosk: a ticket every 100 ms (40 tickets/s in all)
    attack_s: float = 30.0  # (a), (b) repeat for this long; (d) holds its connections
    #: (a) sends a PUT and a watch read this often: the dates' cost is the finding; a
    #: closed-loop flood of cheap requests from one key is the rate limits' matter.
    far_dates_every_s: float = 0.02
    job_wait_s: float = 60.0  # (b), (c): how long the bench waits for an import job …
    finish_wait_s: float = 180.0  # … and (c) for its import to end, unmeasured, before RSS
    settle_s: float = 5.0  # after an attack, before RSS is read again
    one_cell_rows: int = 1_000_000
    sheet_rows: int = 300_000
    import_rows: int = 100_000
    flood: atk.FloodPlan | None = None
    #: The server's CPUs and its callers' (kiosks, poller, attackers): see _server.cpu_split.
    server_cpus: set[int] | None = None
    client_cpus: set[int] | None = None
    key_flood_conns: int = 4  # (e): the key's parallel connections …
    key_flood_max: int = 5000  # … and its requests at most
    only: str = "abcde"  # which attacks run (letters)


def _say(msg: str) -> None:
    print(f"benchmarks: freeze: {msg}", file=sys.stderr, flush=True)


class Caller:
    """Blocking HTTP calls of one attacker (a department's key, a supervisor)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.statuses: Counter[int] = Counter()
        self.latencies: list[float] = []

    def call(
        self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json"
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        t0 = time.perf_counter()
        try:
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": ctype}
            conn.request(method, path, body, headers)
            answer = conn.getresponse()
            raw = answer.read()
            status = answer.status
        except OSError:
            status, raw = 0, b""
        finally:
            conn.close()
        self.latencies.append(time.perf_counter() - t0)
        self.statuses[status] += 1
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None


@dataclass
class Phase:
    name: str
    probe: atk.Probe
    rss_before: float
    rss_peak: float
    rss_after: float
    attacker: str  # what the attacker got
    seconds: float
    attacker_5xx: int = 0


def _fives(callers: list[Caller]) -> int:
    return sum(n for c in callers for s, n in c.statuses.items() if s >= 500)


def _measure(
    srv: Server,
    plan: Plan,
    kiosks: list[str],
    attack: Callable[[], str],
    callers: list[Caller] | None = None,
    leftovers: list[Callable[[], str]] | None = None,
) -> Phase:
    """The probe runs while `attack` does; then what the attack left in `leftovers`
    (an import still running) is waited for, unmeasured, before RSS is read again."""
    callers = callers or []
    fives_before = _fives(callers)
    rss_before = srv.rss_mb()[0]
    run = atk.start_probe(srv.port, kiosks, plan.kiosk_every_s, plan.client_cpus)
    t0 = time.perf_counter()
    peak = [rss_before]
    try:
        with confined(plan.client_cpus):  # the attacker is another machine, too
            what = attack()
    finally:
        seconds = time.perf_counter() - t0
        peak.append(srv.rss_mb()[0])
        probe = atk.probe_result(run.finish())
    for wait in leftovers or []:
        what += "; " + wait()
    time.sleep(plan.settle_s)
    after = srv.rss_mb()[0]
    fives = _fives(callers) - fives_before
    return Phase("", probe, rss_before, max(peak), after, what, seconds, fives)


def _quiet(plan: Plan) -> Callable[[], str]:
    def attack() -> str:
        time.sleep(plan.quiet_s)
        return "-"

    return attack


def _wait_job(dept: Caller, job: dict[str, Any] | None, plan: Plan) -> str:
    if not job or "id" not in job:
        return "no job"
    deadline = time.perf_counter() + plan.job_wait_s
    while time.perf_counter() < deadline:
        status, got = dept.call("GET", f"/api/v1/dossiers/imports/{job['id']}")
        state = (got or {}).get("job", {}).get("status") if status == 200 else f"HTTP {status}"
        if state != "running":
            err = (got or {}).get("job", {}).get("error") or {}
            return f"{state}{' ' + err.get('code', '') if err else ''}"
        time.sleep(0.5)
    return f"still running after {plan.job_wait_s:.0f} s"


def _upload(dept: Caller, name: str, content: bytes, **fields: str) -> tuple[int, Any]:
    body, ctype = atk.multipart(fields, name, content)
    return dept.call("POST", "/api/v1/dossiers/imports", body, ctype)


def _far_dates(srv: Server, plan: Plan, dept: Caller, boss: Caller) -> str:
    t0, i = time.perf_counter(), 0
    while time.perf_counter() - t0 < plan.attack_s and i < 5000:
        code, body = sample_dossier(9000 + i)
        if i % 2:
            body["status_at"] = "0001-01-01T08:00:00+07:00"
        else:
            body["due_at"] = "9999-12-30"
        t1 = time.perf_counter()
        dept.call("PUT", f"/api/v1/dossiers/{code}", json.dumps(body).encode())
        boss.call("GET", "/api/v1/dossiers/watch")
        i += 1
        time.sleep(max(0.0, plan.far_dates_every_s - (time.perf_counter() - t1)))
    every = plan.far_dates_every_s * 1000
    return (
        f"{i} PUTs + {i} watch reads (one each per {every:.0f} ms): "
        f"PUT {dict(dept.statuses)}, watch {dict(boss.statuses)}"
    )


def _spreadsheets(plan: Plan, dept: Caller, files: dict[str, bytes]) -> str:
    """Both uploads, again and again for `attack_s` (at most 5 rounds)."""
    t0, rounds, seen = time.perf_counter(), 0, Counter[str]()
    while rounds == 0 or (time.perf_counter() - t0 < plan.attack_s and rounds < 5):
        for name, fields in (("one-cell.xlsx", {}), ("sheet-300k.xlsx", {"dry_run": "1"})):
            status, got = _upload(dept, name, files[name], **fields)
            job = (got or {}).get("job") if status == 202 else None
            code = (got or {}).get("error", {}).get("code", "") if status != 202 else ""
            seen[f"{name}: HTTP {status} {code} {_wait_job(dept, job, plan)}"] += 1
        rounds += 1
    return "; ".join(f"{k} ×{n}" for k, n in seen.items())


def _big_import(
    plan: Plan,
    dept: Caller,
    files: dict[str, bytes],
    writer: Caller,
    leftovers: list[Callable[[], str]],
) -> str:
    code, body = sample_dossier(1)
    status, got = _upload(
        dept, "import-100k.csv", files["import-100k.csv"], policy="all-or-nothing"
    )
    job = (got or {}).get("job") if status == 202 else None
    if not job:
        return f"HTTP {status} {(got or {}).get('error', {}).get('code', '')}"
    deadline = time.perf_counter() + plan.job_wait_s
    state = "running"
    while time.perf_counter() < deadline:
        writer.call("PUT", f"/api/v1/dossiers/{code}", json.dumps(body).encode())
        s, got = dept.call("GET", f"/api/v1/dossiers/imports/{job['id']}")
        state = (got or {}).get("job", {}).get("status", f"HTTP {s}")
        if state != "running":
            break
        time.sleep(0.25)
    if state == "running":
        state = f"still running after {plan.job_wait_s:.0f} s"
        t0 = time.perf_counter()

        def finish() -> str:
            left = replace(plan, job_wait_s=plan.finish_wait_s)
            end = _wait_job(dept, job, left)
            return f"then {end} after {plan.job_wait_s + time.perf_counter() - t0:.0f} s in all"

        leftovers.append(finish)
    puts = writer.latencies
    return (
        f"import {state}; department PUTs meanwhile: {len(puts)}, "
        f"p99 {percentile(puts, 99) * 1000:.0f} ms, max {max(puts, default=0) * 1000:.0f} ms, "
        f"statuses {dict(writer.statuses)}"
    )


def _key_flood(plan: Plan, dept: Caller) -> str:
    """(e): a closed loop of invalid PUTs by one key over `key_flood_conns` connections."""
    import threading

    body = json.dumps({"procedure": "STP-LLTP", "applicant": "X", "status": "không-có"})
    path = "/api/v1/dossiers/000.00.06.H56-261125-0001"
    until = time.perf_counter() + plan.attack_s
    callers = [Caller(dept.port, dept.token) for _ in range(plan.key_flood_conns)]
    sent = iter(range(plan.key_flood_max))

    def loop(c: Caller) -> None:
        while time.perf_counter() < until and next(sent, None) is not None:
            c.call("PUT", path, body.encode())

    t0 = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(c,)) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in callers:
        dept.statuses.update(c.statuses)
    n = sum(dept.statuses.values())
    return (
        f"{n} PUTs by one key over {len(callers)} connections in "
        f"{time.perf_counter() - t0:.1f} s: {dict(dept.statuses)}"
    )


def _connections(srv: Server, plan: Plan) -> str:
    run = atk.start_flood(srv.port, plan.flood or atk.FloodPlan(), plan.client_cpus)
    flood = plan.flood or atk.FloodPlan()
    time.sleep(flood.hold_s * 0.8)
    _say(f"worker RSS during the flood: {srv.rss_mb()[0]:.0f} MB")
    stats = run.finish(timeout=flood.hold_s + 120)
    return ", ".join(f"{k}: {v}" for k, v in sorted(stats.items()))


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f} ms" if values else "n/a"


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _rows(quiet: Phase, attack: Phase, label: str) -> list[Row]:
    q, a = quiet.probe, attack.probe
    q99 = percentile(q.ticket_s, 99)
    a99 = percentile(a.ticket_s, 99)
    ratio = a99 / q99 if q99 else float("nan")
    health_max = max(a.health_s, default=float("nan"))
    fives = a.fives() + attack.attacker_5xx
    grew = attack.rss_after - attack.rss_before
    return [
        (
            f"freeze {label}: ticket p99",
            f"{_ms(a.ticket_s, 99)} (quiet {_ms(q.ticket_s, 99)}, ×{ratio:.1f})",
            "≤ 3× quiet",
            f"{_verdict(ratio <= 3)}: {len(a.ticket_s)} tickets in {attack.seconds:.0f} s, "
            f"statuses {dict(a.ticket_status)}",
        ),
        (
            f"freeze {label}: /health p99 / max",
            f"{_ms(a.health_s, 99)} / {health_max * 1000:.0f} ms (quiet {_ms(q.health_s, 99)})",
            "max ≤ 1 s",
            f"{_verdict(health_max <= 1.0)}: {len(a.health_s)} polls, "
            f"statuses {dict(a.health_status)}",
        ),
        (
            f"freeze {label}: 5xx",
            str(fives),
            "0",
            f"{_verdict(fives == 0)} (kiosks, /health, attacker's own calls); attacker got: "
            f"{attack.attacker}"[:500],
        ),
        (
            f"freeze {label}: worker RSS",
            f"{attack.rss_before:.0f} → peak {attack.rss_peak:.0f} → {attack.rss_after:.0f} MB",
            "≤ +50 MB after",
            _verdict(grew <= 50),
        ),
    ]


def _server(plan: Plan, key_limit: bool = False) -> tuple[Server, list[str], Caller, Caller]:
    """A server with the real connection limits (the bench's default lifts them), and
    with `key_limit` config.yaml's limit on a department key's requests."""
    extra: dict[str, Any] = {"connections": {}}
    if key_limit:
        extra["api_keys"] = {}
    srv = Server(extra=extra, cpus=plan.server_cpus)
    kiosks = [srv.device(f"kiosk-{k}", "kiosk") for k in range(plan.kiosks)]
    dept = srv.cli("apikey", "add", "STP", "--name", "Sở Tư pháp")
    boss = srv.user_token("boss", "supervisor")
    srv.start()
    return srv, kiosks, Caller(srv.port, dept), Caller(srv.port, boss)


def run(plan: Plan | None = None) -> list[Row]:
    plan = plan or Plan()
    boosted = boost()
    plan.server_cpus, plan.client_cpus = cpu_split()
    other = OtherLoad()
    _say("building the files")
    files = {
        "one-cell.xlsx": atk.one_cell_rows(plan.one_cell_rows),
        "sheet-300k.xlsx": atk.xlsx(atk.dossier_rows(plan.sheet_rows, "SHEET")),
        "import-100k.csv": atk.csv_bytes(atk.dossier_rows(plan.import_rows, "IMP")),
    }
    sizes = ", ".join(f"{k} {len(v) / 1024:.0f} KiB" for k, v in files.items())
    _say(sizes)
    limits = ConnectionLimits()
    plan.flood = plan.flood or atk.FloodPlan(
        header_bytes=limits.max_header_bytes, header_line=limits.max_header_line
    )
    Make = Callable[[Server, Caller, Caller, Caller], Callable[[], str]]
    attacks: list[tuple[str, Make]] = [
        ("(a) far-off dates", lambda srv, d, b, w: lambda: _far_dates(srv, plan, d, b)),
        ("(b) spreadsheets", lambda srv, d, b, w: lambda: _spreadsheets(plan, d, files)),
        ("(c) 100k import", lambda srv, d, b, w: lambda: _big_import(plan, d, files, w, left)),
        ("(d) connections", lambda srv, d, b, w: lambda: _connections(srv, plan)),
        ("(e) API-key flood", lambda srv, d, b, w: lambda: _key_flood(plan, d)),
    ]
    rows: list[Row] = []
    left: list[Callable[[], str]] = []  # what an attack leaves to wait for, unmeasured
    for label, make in attacks:
        if label[1] not in plan.only:
            continue
        srv, kiosks, dept, boss = _server(plan, key_limit=label[1] == "e")
        writer = Caller(srv.port, dept.token)  # the department's software, during (c)
        try:
            _say(f"{label}: quiet baseline")
            quiet = _measure(srv, plan, kiosks, _quiet(plan))
            _say(f"{label}: attack")
            attack = _measure(
                srv, plan, kiosks, make(srv, dept, boss, writer), [dept, boss, writer], left
            )
            left.clear()
            _say(f"{label}: {attack.attacker}")
            rows += _rows(quiet, attack, label)
        finally:
            srv.cleanup()
    note = f"files: {sizes}; {plan.kiosks} kiosks × 1 ticket/{plan.kiosk_every_s * 1000:.0f} ms"
    note += f", /health every 50 ms; {pin_note(plan.server_cpus, plan.client_cpus)}"
    note += f", flood at nice +{atk.FLOOD_NICE}; {other.note()}"
    if not boosted:
        note += "; not reniced"
    rows.append(("freeze: setup", "-", "-", note))
    return rows


if __name__ == "__main__":
    for r in run():
        print("  ".join(r))
