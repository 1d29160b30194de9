"""The dossier report: dossiers received by channel (direct / online / postal) and
resolved early / on time / late, in total, per department and per procedure.

The figures come from the dossier area's ``dossier_stats`` — the one place that knows
due dates, supplement pauses and supervisors' corrections — reshaped into flat rows
(one column per figure) so the page, the CSV and the XLSX read alike.  Shares here
have two decimals, as provincial reports print them ("58.87%").

``pct_early_or_on_time`` counts among the resolved dossiers that had a due date
(early + on time + late); dossiers whose procedure has no time limit are shown apart
(``no_due``).  ``late_no_apology`` (late without a timely apology) and
``repeat_supplement`` (asked for a supplement again) are the dossier area's flags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..clock import iso
from ..config import Config
from ..i18n import t as text
from ..store import Database
from .period import Period
from .stats import pct

CHANNELS = ("direct", "online", "postal")
TIMELINESS = ("early", "on_time", "late", "no_due")


def _count(part: Any) -> int:
    return int(part.get("count", 0)) if isinstance(part, dict) else int(part or 0)


def flat(figures: dict[str, Any]) -> dict[str, Any]:
    """One group's figures from ``dossier_stats`` as flat columns."""
    received = figures.get("received", {})
    by_channel = received.get("by_channel", {})
    resolved = figures.get("resolved", {})
    rec_total = int(received.get("total", 0))
    counts = {c: _count(by_channel.get(c)) for c in CHANNELS}
    done = {k: _count(resolved.get(k)) for k in TIMELINESS}
    res_total = int(resolved.get("total", sum(done.values())))
    with_due = done["early"] + done["on_time"] + done["late"]
    out: dict[str, Any] = {"received": rec_total}
    out.update(counts)
    out.update({f"pct_{c}": pct(counts[c], rec_total) for c in CHANNELS})
    out["resolved"] = res_total
    out.update(done)
    out.update({f"pct_{k}": pct(done[k], with_due) for k in ("early", "on_time", "late")})
    out["pct_early_or_on_time"] = pct(done["early"] + done["on_time"], with_due)
    out["in_progress"] = int(figures.get("in_progress", 0))
    out["overdue"] = int(figures.get("overdue", 0))
    out["late_no_apology"] = int(figures.get("late_no_apology", 0))
    out["repeat_supplement"] = int(figures.get("repeat_supplement", 0))
    return out


def dossier_report(
    db: Database, cfg: Config, period: Period, now: datetime, lang: str = "vi"
) -> dict[str, Any]:
    # Imported on use: the dossier area is a separate part of the system and the queue
    # and satisfaction reports must not depend on it being loaded.
    from ..dossiers.stats import dossier_stats_by

    both = dossier_stats_by(
        db, cfg, period.first, period.last, ("department", "procedure"), now=now
    )
    by_department = both["department"]  # its "totals" are the whole range's
    by_procedure = both["procedure"]
    totals = flat(by_department["totals"])
    return {
        "report": "dossiers",
        **period.as_json(),
        "generated_at": iso(now),
        "totals": totals,
        "by_channel": [
            {
                "channel": c,
                "name": text(f"reports.channel.{c}", lang),
                "count": totals[c],
                "pct": totals[f"pct_{c}"],
            }
            for c in CHANNELS
        ],
        "by_department": [
            {"department": g["key"], "name": g["name"], **flat(g)} for g in by_department["groups"]
        ],
        "by_procedure": [
            {"procedure": g["key"], "name": g["name"], **flat(g)} for g in by_procedure["groups"]
        ],
    }
