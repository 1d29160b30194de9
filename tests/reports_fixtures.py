"""A known day of the hall, built through the real queue engine at controlled times, so
report figures can be compared with values computed by hand (see each test)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import accounts, counters
from server import tickets as q
from server.store import accounts as account_store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2026, 11, 25, tzinfo=TZ)  # Wednesday, a working day


def at(hh: int, mm: int, day: datetime = DAY) -> datetime:
    return day.replace(hour=hh, minute=mm)


@dataclass
class Day:
    tickets: dict[str, dict[str, Any]]
    end: datetime  # "now" when the report is taken


def staff_accounts(db, now) -> None:
    """staff1..3 with full names (the `actors` fixture may have created them already)."""
    for n, name in ((1, "Nguyễn Văn An"), (2, "Trần Thị Bình"), (3, "Lê Văn Cường")):
        with db.write() as conn:
            user = account_store.user_by_name(conn, f"staff{n}")
            if user is not None:
                account_store.update_user(conn, user["id"], full_name=name)
                continue
        accounts.add_user(
            db, f"staff{n}", "staff", "password123", now, full_name=name, counters=[n]
        )


def build_day(db, cfg) -> Day:
    """Seven tickets (A…G) on 25 Nov 2026:

    A DD 09:00  called c1 09:10, start 09:11, finish 09:20      wait 10, service 9
    B DD 09:02  called c1 09:21, start 09:22, finish 09:30      wait 19, service 8
    C HT 09:04  called c3 09:12, start 09:13, transferred to DD 09:18;
                called c2 09:25, start 09:26, finish 09:40      wait 8 (first call), service 14
    D DD 09:05  called c1 09:31, start 09:32, finish 09:51      wait 26, service 19
    E HT 09:06  cancelled 09:30
    F HT 09:15  waits across counter 3's pause 09:19–09:34;
                called c3 09:35, no-show 09:40                   wait 20
    G DD 09:45  still waiting at 10:00
    Counter 2 pauses for a meeting at 09:45 and is still paused at 10:00.
    """
    T: dict[str, dict[str, Any]] = {}

    def issue(key: str, service: str, when: datetime) -> None:
        T[key] = q.issue(db, cfg, service=service, now=when)

    def called(counter: int, when: datetime) -> dict[str, Any]:
        r = q.call_next(db, cfg, counter, f"staff{counter}", when)
        assert r is not None
        return r.ticket

    issue("A", "DD", at(9, 0))
    issue("B", "DD", at(9, 2))
    issue("C", "HT", at(9, 4))
    issue("D", "DD", at(9, 5))
    issue("E", "HT", at(9, 6))
    assert called(1, at(9, 10))["id"] == T["A"]["id"]
    q.start(db, cfg, T["A"]["id"], "staff1", at(9, 11))
    assert called(3, at(9, 12))["id"] == T["C"]["id"]
    q.start(db, cfg, T["C"]["id"], "staff3", at(9, 13))
    issue("F", "HT", at(9, 15))
    q.transfer(db, cfg, T["C"]["id"], to_service="DD", actor="staff3", now=at(9, 18))
    counters.pause(db, cfg, 3, "break", "staff3", at(9, 19))
    q.finish(db, cfg, T["A"]["id"], "staff1", at(9, 20))
    assert called(1, at(9, 21))["id"] == T["B"]["id"]
    q.start(db, cfg, T["B"]["id"], "staff1", at(9, 22))
    assert called(2, at(9, 25))["id"] == T["C"]["id"]
    q.start(db, cfg, T["C"]["id"], "staff2", at(9, 26))
    q.finish(db, cfg, T["B"]["id"], "staff1", at(9, 30))
    q.cancel(db, cfg, T["E"]["id"], "boss", at(9, 30))
    assert called(1, at(9, 31))["id"] == T["D"]["id"]
    q.start(db, cfg, T["D"]["id"], "staff1", at(9, 32))
    counters.resume(db, cfg, 3, "staff3", at(9, 34))
    assert called(3, at(9, 35))["id"] == T["F"]["id"]
    q.finish(db, cfg, T["C"]["id"], "staff2", at(9, 40))
    q.no_show(db, cfg, T["F"]["id"], "staff3", at(9, 40))
    issue("G", "DD", at(9, 45))
    counters.pause(db, cfg, 2, "meeting", "staff2", at(9, 45))
    q.finish(db, cfg, T["D"]["id"], "staff1", at(9, 51))
    return Day(T, at(10, 0))


def next_day_ticket(db, cfg) -> dict[str, Any]:
    """One more ticket the next day (served 09:00 → 09:03 → 09:07), to test ranges."""
    day = DAY + timedelta(days=1)
    t = q.issue(db, cfg, service="DD", now=at(9, 0, day))
    r = q.call_next(db, cfg, 1, "staff1", at(9, 3, day))
    assert r is not None and r.ticket["id"] == t["id"]
    q.finish(db, cfg, t["id"], "staff1", at(9, 7, day))
    return t


def dossier_month(db, cfg) -> dict[str, str]:
    """Five dossiers received in November 2026 through the dossier area's own use cases,
    each with a limit of 1 working day (8 working hours; 24 Nov is a holiday here):

    TP-1 direct, Sở Tư pháp, received Mon 23 Nov 08:00 (due 25 Nov 08:00), resolved 23 Nov → early
    TP-2 online, Sở Tư pháp, received Mon 23 Nov 08:00 (due 25 Nov 08:00), resolved Thu 26 Nov → late
    TP-3 postal, Sở Tư pháp, received Wed 25 Nov 08:00 (due 26 Nov 08:00), resolved 25 Nov → early
    XD-1 direct, Sở Xây dựng, received Wed 25 Nov 08:00 (due 26 Nov 08:00), resolved 26 Nov
         10:00 → on time (the due date itself)
    XD-2 direct, Sở Xây dựng, received Wed 25 Nov 09:00 (due 26 Nov 09:00), still in progress
         → overdue at Thu 26 Nov 12:00
    Returns {name: code}.
    """
    from server.dossiers import service
    from server.dossiers.inputs import DossierFields, EventInput
    from server.dossiers.status import DossierChannel, DossierStatus
    from server.store import dossiers as dossier_store

    with db.write() as conn:
        for code, name in (("STP", "Sở Tư pháp"), ("SXD", "Sở Xây dựng")):
            dossier_store.upsert_department(
                conn, {"code": code, "name": name, "created_at": "2026-11-01T00:00:00+00:00"}
            )
    mon, wed, thu = (DAY + timedelta(days=d) for d in (-2, 0, 1))
    codes = {}

    def put(name, dep, proc, channel, received):
        code = f"000.00.06.H56-2611{received.day:02d}-{len(codes) + 1:04d}"
        codes[name] = code
        service.put_dossier(
            db,
            cfg,
            code,
            DossierFields(
                procedure=proc,
                procedure_name=f"Thủ tục {proc}",
                department=dep,
                applicant="Nguyễn Văn A",
                channel=DossierChannel(channel),
                received_at=received,
                limit_days=1,
            ),
            EventInput(kind="status", status=DossierStatus.RECEIVED, at=received),
            actor="test",
            now=received,
        )

    def resolve(name, when):
        service.add_event(
            db,
            cfg,
            codes[name],
            EventInput(kind="status", status=DossierStatus.RESOLVED, at=when),
            actor="test",
            now=when,
        )

    put("TP-1", "STP", "TP.A", "direct", at(8, 0, mon))
    put("TP-2", "STP", "TP.A", "online", at(8, 0, mon))
    put("TP-3", "STP", "TP.B", "postal", at(8, 0, wed))
    put("XD-1", "SXD", "XD.A", "direct", at(8, 0, wed))
    put("XD-2", "SXD", "XD.A", "direct", at(9, 0, wed))
    resolve("TP-1", at(15, 0, mon))
    resolve("TP-2", at(10, 0, thu))
    resolve("TP-3", at(15, 30, wed))
    resolve("XD-1", at(10, 0, thu))
    return codes


def correct_to_early(db, cfg, code: str) -> None:
    """A supervisor fixes a resolve clicked two days late (the "wrong click" problem)."""
    from server.dossiers import service
    from server.dossiers.status import DossierStatus

    mon = DAY - timedelta(days=2)
    service.correct_status(
        db,
        cfg,
        code,
        DossierStatus.RESOLVED,
        reason="Bấm nhầm ngày trả kết quả",
        at=at(16, 0, mon),
        actor="boss",
        now=at(11, 0, DAY + timedelta(days=1)),
    )
