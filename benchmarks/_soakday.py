"""A simulated day of a busy hall as a script of HTTP calls: the soak's load, shared by
the production soak (`benchmarks.soak`, real sockets, real time at 10×) and the short
in-process test (`tests/test_soak_short.py`, Flask test clients, as fast as it runs).

The day is a discrete-event schedule in simulated time from 7:00.  Visitors arrive with
the morning peak of `server.simulate` (65% in the morning around 8:36, the rest around
14:30) at kiosks, some with a phone number or a priority class; each free counter calls
the next ticket, starts it and finishes it after a log-normal service time, or recalls
it and marks it a no-show, or transfers it to another service.  Citizens' phones follow
a few tickets and rate a few services; a lookup screen reads dossiers; kiosk pages
refresh the service list.  `pace(sim_seconds)` is called before each event: the soak
sleeps until that moment (scaled by the speed), the test moves its fixed clock.

Public endpoints are rate limited per client address, and every simulated phone of the
soak comes from 127.0.0.1, so the day keeps under those limits on purpose (`budgets`)
rather than measure 429s.  `check(conn)` states what must hold afterwards, from the
database alone."""

from __future__ import annotations

import heapq
import math
import random
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.simulate import arrival_minutes


class Transport(Protocol):
    """One HTTP request as `actor` (a device keeps its connection; a phone does not)."""

    def __call__(
        self, actor: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]: ...


@dataclass
class Plan:
    visitors: int = 3000  # a day's arrivals (a province server: ~10 centers' worth)
    seed: int = 7
    no_show: float = 0.03
    transfer: float = 0.05
    priority: float = 0.08
    with_phone: float = 0.3
    follow: float = 0.3  # citizens who open the tracking page
    rate: float = 0.3  # citizens who rate from their phone
    service_min: float = 8.0  # mean service time (log-normal, sigma 0.6)
    lookup_every_min: float = 2.0  # a dossier lookup on the touchscreen this often
    refresh_every_min: float = 5.0  # each kiosk page re-reads the services this often


#: requests per real minute the day allows itself per public bucket (server: 120/30/20)
BUDGETS = {"public": 90, "lookup": 24, "rating": 15}


@dataclass
class Stats:
    ops: Counter[str] = field(default_factory=Counter)  # "issue 201", "next 204" …
    issued: list[dict[str, Any]] = field(default_factory=list)  # the 201 bodies
    call_seqs: list[int] = field(default_factory=list)  # every call the counters got
    errors: list[str] = field(default_factory=list)  # 5xx answers
    failures: list[str] = field(default_factory=list)  # refused or reset connections
    skipped: Counter[str] = field(default_factory=Counter)  # kept under a rate limit

    @property
    def total(self) -> int:
        return sum(self.ops.values())


def _arrivals(rng: random.Random, n: int) -> list[float]:
    """Arrival times in seconds after 7:00, morning-heavy (as server.simulate draws them)."""
    return [max(0.0, minutes * 60 - 7 * 3600) for minutes in arrival_minutes(rng, n)]


class Day:
    def __init__(
        self,
        transport: Transport,
        *,
        kiosks: list[str],
        staff: str,
        counters: dict[int, list[str]],
        services: list[str],
        dossiers: list[str],
        plan: Plan | None = None,
        budgets: bool = True,
    ) -> None:
        self.http = transport
        self.kiosks, self.staff = kiosks, staff
        self.counters, self.services, self.dossiers = counters, services, dossiers
        self.plan = plan or Plan()
        self.rng = random.Random(self.plan.seed)
        self.stats = Stats()
        self.budgets = budgets
        self._hits: dict[str, deque[float]] = {k: deque() for k in BUDGETS}
        self._events: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._order = 0
        self.tokens: dict[int, str] = {}  # ticket id → public token
        self.followed: list[str] = []  # tokens a phone watches (the soak's trackers)
        for at in _arrivals(self.rng, self.plan.visitors):
            self._push(at, "arrive")
        for number in counters:
            self._push(self.rng.uniform(0, 120), "free", number)
        for t in range(0, 10 * 3600, int(self.plan.lookup_every_min * 60)):
            self._push(t + self.rng.uniform(0, 30), "lookup")
        for i, _ in enumerate(kiosks):
            for t in range(0, 10 * 3600, int(self.plan.refresh_every_min * 60)):
                self._push(t + i * 7.0, "refresh", i)

    # --- the schedule ---------------------------------------------------------------------
    def _push(self, at: float, kind: str, *args: Any) -> None:
        self._order += 1
        heapq.heappush(self._events, (at, self._order, kind, args))

    def run(
        self,
        pace: Callable[[float], None],
        *,
        until_s: float,
        max_ops: int | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> Stats:
        """Play events up to `until_s` simulated seconds after 7:00 (or `max_ops`)."""
        while self._events and not stop():
            at, _, kind, args = self._events[0]
            if at > until_s or (max_ops is not None and self.stats.total >= max_ops):
                break
            heapq.heappop(self._events)
            pace(at)
            getattr(self, f"_on_{kind}")(at, *args)
        return self.stats

    # --- requests ---------------------------------------------------------------------------
    def _call(
        self,
        op: str,
        actor: str,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        try:
            status, data = self.http(actor, method, path, body, token)
        except OSError as exc:  # a refused or reset connection is a finding, not a crash
            self.stats.failures.append(f"{op} {path}: {type(exc).__name__}: {exc}")
            return 0, None
        self.stats.ops[f"{op} {status}"] += 1
        if status >= 500:
            self.stats.errors.append(f"{op} {path}: {status} {str(data)[:200]}")
        return status, data

    def _allowed(self, bucket: str) -> bool:
        if not self.budgets:
            return True
        now, hits = time.monotonic(), self._hits[bucket]
        while hits and hits[0] <= now - 60:
            hits.popleft()
        if len(hits) >= BUDGETS[bucket]:
            self.stats.skipped[bucket] += 1
            return False
        hits.append(now)
        return True

    # --- what happens -----------------------------------------------------------------------
    def _on_arrive(self, at: float) -> None:
        p, rng = self.plan, self.rng
        body: dict[str, Any] = {"service": rng.choice(self.services)}
        if rng.random() < p.priority:
            body["priority"] = rng.choice(["elderly", "disabled", "pregnant", "small_child"])
        if rng.random() < p.with_phone:
            body["phone"] = f"09{rng.randrange(10**8):08d}"
        kiosk = rng.randrange(len(self.kiosks))
        status, t = self._call(
            "issue", f"kiosk-{kiosk}", "POST", "/api/v1/tickets", body, self.kiosks[kiosk]
        )
        if status != 201:
            return
        self.stats.issued.append(t)
        self.tokens[t["id"]] = t["token"]
        if rng.random() < p.follow:
            self.followed.append(t["token"])
            self._push(at + rng.uniform(60, 900), "poll", t["token"])

    def _on_free(self, at: float, number: int) -> None:
        status, data = self._call(
            "next", f"counter-{number}", "POST", f"/api/v1/counters/{number}/next", None, self.staff
        )
        if status != 200:
            self._push(at + 60, "free", number)  # nobody waits (204): look again in a minute
            return
        self.stats.call_seqs.append(data["call"]["seq"])
        ticket = data["ticket"]
        roll = self.rng.random()
        if roll < self.plan.no_show:
            for k in (1, 2):
                self._push(at + 60 * k, "act", number, ticket["id"], "recall")
            self._push(at + 180, "act", number, ticket["id"], "no-show")
            self._push(at + 185, "free", number)
        elif roll < self.plan.no_show + self.plan.transfer:
            self._push(at + 30, "act", number, ticket["id"], "start")
            self._push(at + 120, "act", number, ticket["id"], "transfer", ticket["queue_service"])
            self._push(at + 125, "free", number)
        else:
            mean = self.plan.service_min
            minutes = max(0.5, self.rng.lognormvariate(math.log(mean) - 0.18, 0.6))
            self._push(at + 30, "act", number, ticket["id"], "start")
            self._push(at + 30 + minutes * 60, "act", number, ticket["id"], "finish")
            self._push(at + 35 + minutes * 60, "free", number)

    def _on_act(self, at: float, number: int, ticket_id: int, action: str, *args: Any) -> None:
        actor = f"counter-{number}"
        if action == "recall":
            path = f"/api/v1/counters/{number}/recall"
            status, data = self._call("recall", actor, "POST", path, None, self.staff)
            if status == 200:
                self.stats.call_seqs.append(data["call"]["seq"])
            return
        body = None
        if action == "transfer":
            body = {"service": self.rng.choice([s for s in self.services if s != args[0]])}
        if action == "finish" and self.dossiers and self.rng.random() < 0.1:
            body = {"dossiers": [self.rng.choice(self.dossiers)]}
        path = f"/api/v1/tickets/{ticket_id}/{action}"
        status, _ = self._call(action, actor, "POST", path, body, self.staff)
        if action == "finish" and status == 200 and self.rng.random() < self.plan.rate:
            self._push(at + self.rng.uniform(30, 600), "rating", ticket_id)

    def _on_rating(self, at: float, ticket_id: int) -> None:
        token = self.tokens.get(ticket_id)
        if token is None or not self._allowed("rating"):
            return
        level = self.rng.choice(["very_satisfied", "satisfied", "satisfied", "unsatisfied"])
        body: dict[str, Any] = {"ticket": token, "level": level}
        if level == "unsatisfied":
            body.update(reason="long_wait", text="Chờ hơi lâu")
        self._call("rate", "phone", "POST", "/api/v1/ratings", body)

    def _on_poll(self, at: float, token: str) -> None:
        if not self._allowed("public"):
            return
        page = self.rng.random() < 0.3
        status, data = self._call(
            "track", "phone", "GET", f"/t/{token}" if page else f"/api/v1/tickets/{token}"
        )
        waiting = not page and status == 200 and data["ticket"]["status"] == "waiting"
        if waiting and self.rng.random() < 0.5:
            self._push(at + self.rng.uniform(120, 900), "poll", token)

    def _on_lookup(self, at: float) -> None:
        if not self.dossiers or not self._allowed("lookup"):
            return
        code = self.rng.choice(self.dossiers) if self.rng.random() < 0.9 else "KHONG-CO-9999"
        self._call("lookup", "phone", "GET", f"/api/v1/dossiers/{code}")

    def _on_refresh(self, at: float, kiosk: int) -> None:
        self._call(
            "services", f"kiosk-{kiosk}", "GET", "/api/v1/services", None, self.kiosks[kiosk]
        )


# --- what must hold afterwards ------------------------------------------------------------
def check(conn: sqlite3.Connection) -> dict[str, Any]:
    """Invariants of the queue from the database: numbering, calls, counters, balance."""

    def one(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    statuses = dict(conn.execute("SELECT status, count(*) FROM ticket GROUP BY status").fetchall())
    actions = dict(
        conn.execute("SELECT action, count(*) FROM ticket_event GROUP BY action").fetchall()
    )
    seqs = [r[0] for r in conn.execute("SELECT seq FROM call ORDER BY seq")]
    return {
        "tickets": one("SELECT count(*) FROM ticket"),
        "statuses": statuses,
        "actions": actions,
        "seqs": seqs,
        "duplicate_numbers": one(
            """SELECT count(*) FROM (SELECT 1 FROM ticket GROUP BY service, day, number
               HAVING count(*) > 1) AS dup"""
        )
        + one(
            """SELECT count(*) FROM (SELECT 1 FROM ticket GROUP BY service, day, label
               HAVING count(*) > 1) AS dup"""
        ),
        # one first call per visit to a queue: a transferred ticket is called once more
        "called_twice": one(
            """SELECT count(*) FROM (
                 SELECT c.ticket_id FROM call c WHERE c.recall = 0
                 GROUP BY c.ticket_id
                 HAVING count(*) > 1 + (SELECT count(*) FROM ticket_event e
                                        WHERE e.ticket_id = c.ticket_id
                                          AND e.action = 'transfer')) AS twice"""
        ),
        "busy_twice": one(
            """SELECT count(*) FROM (SELECT counter FROM ticket
               WHERE status IN ('called', 'serving') GROUP BY counter HAVING count(*) > 1) AS busy"""
        ),
        "seqs_in_order": seqs == sorted(set(seqs)),
    }


STATUSES = ("waiting", "called", "serving", "done", "no_show", "cancelled")


def problems(found: dict[str, Any], stats: Stats | None = None) -> list[str]:
    """What `check` found wrong (empty: the day was sound).  With the client's `stats`,
    the database must also agree with every answer the clients were given."""
    out = []
    for key in ("duplicate_numbers", "called_twice", "busy_twice"):
        if found[key]:
            out.append(f"{key}: {found[key]}")
    if not found["seqs_in_order"]:
        out.append("call seqs out of order or repeated")
    st, acts = found["statuses"], found["actions"]
    if set(st) - set(STATUSES) or sum(st.get(s, 0) for s in STATUSES) != found["tickets"]:
        out.append(f"statuses do not add up to {found['tickets']} tickets: {st}")
    # every final state is one event of the history, and every ticket one issue event
    for status, action in (("done", "finish"), ("no_show", "no_show"), ("cancelled", "cancel")):
        if st.get(status, 0) != acts.get(action, 0):
            out.append(f"{status}: {st.get(status, 0)} tickets but {acts.get(action, 0)} events")
    if acts.get("issue", 0) != found["tickets"]:
        out.append(f"{found['tickets']} tickets but {acts.get('issue', 0)} issue events")
    if stats is not None:
        answered = {
            "tickets": (len(stats.issued), found["tickets"]),
            "done": (stats.ops["finish 200"], st.get("done", 0)),
            "no_show": (stats.ops["no-show 200"], st.get("no_show", 0)),
        }
        for name, (client, db) in answered.items():
            if client != db:
                out.append(f"{name}: clients were answered {client}, the database holds {db}")
        missing = set(stats.call_seqs) - set(found["seqs"])
        if missing:
            out.append(f"{len(missing)} calls answered to counters are not in the call table")
    return out
