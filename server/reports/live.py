"""Today so far, for the supervisors' live dashboard (refreshed every few seconds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..clock import business_day, iso
from ..config import Config
from ..store import Database
from ..store import reports as store
from .period import Period
from .queue import queue_report
from .satisfaction import satisfaction_report


def live_report(db: Database, cfg: Config, now: datetime, lang: str = "vi") -> dict[str, Any]:
    today = business_day(now, cfg.tz)
    period = Period(today, today, cfg.tz)
    queue = queue_report(db, cfg, period, now, lang)
    rated = satisfaction_report(db, cfg, period, now, lang)
    with db.read() as conn:
        waiting = store.waiting_now(conn, today.isoformat())
        names = store.service_names(conn)
        counters = [dict(r) for r in store.counter_states(conn)]
    return {
        "report": "live",
        "day": today.isoformat(),
        "generated_at": iso(now),
        "totals": queue["totals"],
        "waiting": [
            {
                "service": code,
                "name": names.get(code, (code, code))[0 if lang == "vi" else 1],
                "waiting": n,
            }
            for code, n in sorted(waiting.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "waiting_total": sum(waiting.values()),
        "counters": [
            {
                **c,
                **next(
                    (
                        {k: d[k] for k in ("served", "no_show", "service_time")}
                        for d in queue["by_counter"]
                        if d["counter"] == c["number"]
                    ),
                    {"served": 0, "no_show": 0, "service_time": None},
                ),
            }
            for c in counters
        ],
        "by_service": queue["by_service"],
        "by_hour": queue["by_hour"],
        "satisfaction": rated["totals"],
    }
