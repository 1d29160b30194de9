"""The satisfaction report: how many ratings at each level and their shares, per staff
member, counter and service, the reasons of the unsatisfied, and the trend by day.

"% hài lòng" in provincial reports means satisfied *or* very satisfied; it is
``pct_satisfied_or_better`` here, beside the share of each level."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from ..clock import iso
from ..config import Config
from ..i18n import t as text
from ..ratings import LEVELS, REASONS
from ..store import Database
from ..store import reports as store
from .period import Period
from .stats import pct

#: How many written comments the JSON carries (the newest first).
MAX_COMMENTS = 200


def shares(counts: Counter[str]) -> dict[str, Any]:
    n = sum(counts[level] for level in LEVELS)
    out: dict[str, Any] = {"count": n}
    for level in LEVELS:
        out[level] = counts[level]
    for level in LEVELS:
        out[f"pct_{level}"] = pct(counts[level], n)
    out["pct_satisfied_or_better"] = pct(counts["very_satisfied"] + counts["satisfied"], n)
    return out


def satisfaction_report(
    db: Database, cfg: Config, period: Period, now: datetime, lang: str = "vi"
) -> dict[str, Any]:
    with db.read() as conn:
        rows = store.ratings(conn, period.day_from, period.day_to)
        services = store.service_names(conn)
        counters = store.counter_names(conn)
        staff_names = store.staff_names(conn)

    total: Counter[str] = Counter()
    by_staff: dict[str, Counter[str]] = defaultdict(Counter)
    by_counter: dict[int, Counter[str]] = defaultdict(Counter)
    by_service: dict[str, Counter[str]] = defaultdict(Counter)
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    comments = []
    for r in rows:
        level = r["level"]
        total[level] += 1
        if r["staff"]:
            by_staff[r["staff"]][level] += 1
        if r["counter"] is not None:
            by_counter[r["counter"]][level] += 1
        if r["service"]:
            by_service[r["service"]][level] += 1
        by_day[r["day"]][level] += 1
        if level == "unsatisfied":
            reasons[r["reason"] or "other"] += 1
            if r["reason_text"]:
                comments.append(
                    {
                        "at": r["at"],
                        "day": r["day"],
                        "ticket": r["label"],
                        "counter": r["counter"],
                        "staff": r["staff"],
                        "reason": r["reason"],
                        "reason_label": text(f"rating.reason.{r['reason'] or 'other'}", lang),
                        "text": r["reason_text"],
                    }
                )
    unsatisfied = total["unsatisfied"]
    return {
        "report": "satisfaction",
        **period.as_json(),
        "generated_at": iso(now),
        "totals": shares(total),
        "by_staff": [
            {"staff": s, "full_name": staff_names.get(s) or s, **shares(c)}
            for s, c in sorted(by_staff.items())
        ],
        "by_counter": [
            {"counter": n, "name": counters.get(n, str(n)), **shares(c)}
            for n, c in sorted(by_counter.items())
        ],
        "by_service": [
            {
                "service": code,
                "name": services.get(code, (code, code))[0 if lang == "vi" else 1],
                **shares(c),
            }
            for code, c in sorted(by_service.items())
        ],
        "reasons": [
            {
                "reason": code,
                "label": text(f"rating.reason.{code}", lang),
                "count": reasons[code],
                "pct": pct(reasons[code], unsatisfied),
            }
            for code in REASONS
        ],
        "by_day": [{"day": d, **shares(c)} for d, c in sorted(by_day.items())],
        "comments": sorted(comments, key=lambda c: c["at"], reverse=True)[:MAX_COMMENTS],
    }
