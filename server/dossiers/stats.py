"""Dossier statistics for reports, and the staleness watch for supervisors.

``dossier_stats`` is the one function the reports area calls; it answers the questions
of a one-stop center's monthly report: how many dossiers were received and by which
channel, how many were resolved early / on time / late, how many are still open and how
many of those are overdue — in total or per department or procedure.

Definitions (dates are the center's calendar dates, both ends included):
- received: ``received_at`` in the range (the clock started: online submissions that
  were never received are not counted);
- resolved: ``finished_at`` (first reached "resolved") in the range, split by the
  timeliness stored when it was resolved (``no_due`` when its procedure had no limit);
- in_progress: received before the range ended and neither resolved nor closed (not
  accepted / withdrawn / stopped) by then;
- overdue: in progress, and its legal due date passed before the end of the range (or
  now, for a range that has not ended), unless its clock was stopped for the citizen;
- late_no_apology: resolved late in the range with no timely apology covering the
  finish (``flags``: none given before the date it moved, or finished after its date);
- repeat_supplement: dossiers asked for a supplement again in the range (a request
  in the range with an earlier one before it: the rule is to ask once).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from server.clock import iso, parse_iso
from server.config import Config
from server.dossiers import settings as dsettings
from server.dossiers.flags import REPEAT_SUPPLEMENT, apology_flags, late_without_apology
from server.dossiers.status import RUNNING, DossierChannel
from server.errors import BadRequest
from server.store import Database
from server.store import dossier_flags as flag_sql
from server.store import dossier_stats as sql

TIMELINESS = ("early", "on_time", "late", "no_due")


def _pct(count: int, total: int) -> float:
    """One decimal, rounded half up (exact decimal arithmetic, as reports round)."""
    if not total:
        return 0.0
    exact = Decimal(100 * count) / Decimal(total)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _empty() -> dict[str, Any]:
    return {
        "received": {},
        "resolved": {},
        "in_progress": 0,
        "overdue": 0,
        "late_covered": 0,
        "repeat_supplement": 0,
    }


def _figures(raw: dict[str, Any]) -> dict[str, Any]:
    rec_total = sum(raw["received"].values())
    res_total = sum(raw["resolved"].values())
    return {
        "received": {
            "total": rec_total,
            "by_channel": {
                c.value: {
                    "count": raw["received"].get(c.value, 0),
                    "pct": _pct(raw["received"].get(c.value, 0), rec_total),
                }
                for c in DossierChannel
            },
        },
        "resolved": {
            "total": res_total,
            **{
                k: {
                    "count": raw["resolved"].get(k, 0),
                    "pct": _pct(raw["resolved"].get(k, 0), res_total),
                }
                for k in TIMELINESS
            },
        },
        "in_progress": raw["in_progress"],
        "overdue": raw["overdue"],
        # late, less those a timely apology covered
        "late_no_apology": raw["resolved"].get("late", 0) - raw["late_covered"],
        "repeat_supplement": raw["repeat_supplement"],
    }


def dossier_stats(
    db: Database,
    cfg: Config,
    date_from: date,
    date_to: date,
    group_by: str | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Figures for [date_from, date_to]; ``group_by`` None, "department" or "procedure".

    Returns {"from", "to", "group_by", "totals": figures, "groups": [{"key", "name",
    **figures}]} where figures = {"received": {"total", "by_channel": {channel: {"count",
    "pct"}}}, "resolved": {"total", "early"|"on_time"|"late"|"no_due": {"count", "pct"}},
    "in_progress": int, "overdue": int, "late_no_apology": int, "repeat_supplement": int}.
    """
    return dossier_stats_by(db, cfg, date_from, date_to, (group_by,), now=now)[group_by]


def dossier_stats_by(
    db: Database,
    cfg: Config,
    date_from: date,
    date_to: date,
    groupings: tuple[str | None, ...],
    *,
    now: datetime | None = None,
) -> dict[str | None, dict[str, Any]]:
    """``dossier_stats`` for several groupings at once, from one read of the dossiers."""
    for group_by in groupings:
        if group_by is not None and group_by not in sql.GROUPS:
            raise BadRequest(
                "group_by phải là department hoặc procedure.",
                code="bad_group_by",
                field="group_by",
            )
    if date_to < date_from:
        raise BadRequest("Ngày kết thúc trước ngày bắt đầu.", code="bad_range")
    tz = cfg.tz
    start = iso(datetime.combine(date_from, time(0), tzinfo=tz))
    end_dt = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz)
    end = iso(end_dt)
    cutoff = iso(min(end_dt, now or datetime.now(tz)))
    channels = [c.value for c in DossierChannel]
    with db.read() as conn:
        received = sql.received(conn, start, end, channels)
        resolved = sql.resolved(conn, start, end, TIMELINESS[:-1])
        still_open = sql.open_at(conn, end, cutoff)
        late = flag_sql.late_with_delays(conn, start, end)
        apologies = flag_sql.delays(conn, [d["id"] for d in late])
        repeated = flag_sql.repeated_supplements(conn, start, end)
        names = {g: sql.names(conn, g) for g in groupings}
    covered = [
        (d["department"], d["procedure"], 1)
        for d in late
        if not late_without_apology(tz, d, apologies.get(d["id"], []))
    ]
    out: dict[str | None, dict[str, Any]] = {}
    for group_by in groupings:
        totals, groups = _add_up(
            group_by,
            received,
            resolved,
            still_open,
            {"late_covered": covered, "repeat_supplement": repeated},
        )
        result: dict[str, Any] = {
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "group_by": group_by,
            "totals": _figures(totals),
            "groups": [],
        }
        if group_by is not None:
            result["groups"] = sorted(
                (
                    {"key": k, "name": names[group_by].get(k, k), **_figures(v)}
                    for k, v in groups.items()
                ),
                key=lambda g: (g["name"], g["key"]),
            )
        out[group_by] = result
    return out


def _add_up(
    group_by: str | None,
    received: sql.Split,
    resolved: sql.Split,
    still_open: list[Any],
    flagged: dict[str, list[tuple[str, str, int]]],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(totals, {key: raw figures}) from the counts per (department, procedure)."""
    groups: dict[str, dict[str, Any]] = {}
    totals = _empty()

    def targets(department: str, procedure: str) -> tuple[dict[str, Any], ...]:
        if group_by is None:
            return (totals,)
        key = department if group_by == "department" else procedure
        return totals, groups.setdefault(key, _empty())

    def add(into: dict[str, int], counts: dict[str, int]) -> None:
        for k, n in counts.items():
            into[k] = into.get(k, 0) + n

    for department, procedure, counts in received:
        for target in targets(department, procedure):
            add(target["received"], counts)
    for department, procedure, counts in resolved:
        counts = {k or "no_due": n for k, n in counts.items()}
        for target in targets(department, procedure):
            add(target["resolved"], counts)
    for department, procedure, n, overdue in still_open:
        for target in targets(department, procedure):
            target["in_progress"] += n
            target["overdue"] += overdue or 0
    for figure, rows in flagged.items():
        for department, procedure, n in rows:
            for target in targets(department, procedure):
                target[figure] += n
    return totals, groups


# --- staleness watch ------------------------------------------------------------------
def stale_cutoff(cfg: Config, now: datetime, days: int) -> datetime:
    """The instant before which a last change counts as ``days`` working days old."""
    cal = dsettings.calendar(cfg)
    day, counted = cal.local_date(now), 0
    while counted < days:
        counted += cal.is_working_day(day)
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=cal.tz)


def watch(
    db: Database,
    cfg: Config,
    now: datetime,
    *,
    department: str | None = None,
    stale_days: int | None = None,
    due_days: int | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """Dossiers a supervisor should look at: idle for ``stale_days`` working days, or
    due (or overdue) within ``due_days`` working days while their clock runs; and,
    whatever their dates, late without a timely apology (``no_apology``, results ready
    late included), apologised for too late (``late_apology``), or asked for a
    supplement twice or more (``repeat_supplement``)."""
    settings = dsettings.settings(cfg)
    stale_n = settings.stale_days if stale_days is None else stale_days
    due_n = settings.due_soon_days if due_days is None else due_days
    if not 1 <= stale_n <= 365 or not 0 <= due_n <= 365:
        raise BadRequest("stale_days 1–365, due_days 0–365.", code="bad_query")
    cal = dsettings.calendar(cfg)
    stale_before = stale_cutoff(cfg, now, stale_n)
    due_before = cal.add_working_time(now, days=due_n) if due_n else now
    with db.read() as conn:
        rows = sql.watch_candidates(
            conn,
            stale_before=iso(stale_before),
            due_before=iso(due_before),
            running=[s.value for s in RUNNING],
            department=department,
            limit=limit,
        )
        seen = {d["id"] for d in rows}
        rows += [
            d
            for d in flag_sql.flag_candidates(
                conn, active=sql.ACTIVE_STATUSES, department=department, limit=limit
            )
            if d["id"] not in seen
        ]
        ids = [d["id"] for d in rows]
        apologies = flag_sql.delays(conn, ids)
        requests = flag_sql.supplement_requests(conn, ids)
    items = []
    for d in rows:
        due = d["promised_at"] or d["due_at"]
        running = d["status"] in {s.value for s in RUNNING}
        reasons = []
        if running and due and due < iso(now):
            reasons.append("overdue")
        elif running and due and due < iso(due_before):
            reasons.append("due_soon")
        if d["status_at"] < iso(stale_before) and d["status"] in sql.ACTIVE_STATUSES:
            reasons.append("stale")
        end = parse_iso(d["finished_at"]) if d.get("finished_at") else now if running else None
        reasons += apology_flags(cal.tz, d["due_at"], apologies.get(d["id"], []), end)
        if requests.get(d["id"], 0) >= 2:
            reasons.append(REPEAT_SUPPLEMENT)
        if not reasons:
            continue
        items.append(
            {
                "code": d["code"],
                "department": d["department"],
                "department_name": d["department_name"],
                "procedure": d["procedure"],
                "procedure_name": d["procedure_name"],
                "status": d["status"],
                "status_at": d["status_at"],
                "due_at": due,
                "idle_working_days": cal.working_days_between(
                    min(parse_iso(d["status_at"]), now), now
                ),
                "supplement_requests": requests.get(d["id"], 0),
                "reasons": reasons,
            }
        )
    items.sort(key=lambda i: (i["due_at"] or "9999", i["status_at"]))
    del items[limit:]
    return {
        "stale_days": stale_n,
        "due_days": due_n,
        "stale_before": iso(stale_before),
        "due_before": iso(due_before),
        "items": items,
    }
