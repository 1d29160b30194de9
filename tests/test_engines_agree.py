"""One history, two engines, the same reports: the queue, dossier and satisfaction
figures a supervisor reads are identical on the embedded SQLite file and on PostgreSQL
for the same events.  Needs the test PostgreSQL (MOTCUA_TEST_DATABASE_URL; `.ci/run`
sets it, and CI fails rather than skips when it is unreachable)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server import ratings, reports
from server.app import create_app
from server.clock import FixedClock
from tests.conftest import shipped_config
from tests.engines import fresh_schema
from tests.reports_fixtures import (
    DAY,
    at,
    build_day,
    correct_to_early,
    dossier_month,
    next_day_ticket,
    staff_accounts,
)

pytestmark = pytest.mark.skipif(
    not os.environ.get("MOTCUA_TEST_DATABASE_URL"),
    reason="needs MOTCUA_TEST_DATABASE_URL (set by .ci/run)",
)

BUILDERS = {
    "queue": reports.queue_report,
    "dossiers": reports.dossier_report,
    "satisfaction": reports.satisfaction_report,
}


def _history_and_reports(data_dir: Path) -> dict[str, Any]:
    cfg = replace(shipped_config(), kiosk_burst=1_000_000)
    end = at(12, 0, DAY + timedelta(days=1))
    app = create_app(cfg, data_dir, clock=FixedClock(end), testing=True)
    ctx = app.extensions["motcua"]
    try:
        db = ctx.db
        staff_accounts(db, at(8, 0))
        day = build_day(db, cfg)
        next_day_ticket(db, cfg)
        codes = dossier_month(db, cfg)
        correct_to_early(db, cfg, codes["TP-2"])
        levels = {"A": "very_satisfied", "B": "satisfied", "C": "unsatisfied", "D": "satisfied"}
        for key, level in levels.items():
            ratings.rate(
                db,
                cfg,
                token=day.tickets[key]["token"],
                level=level,
                reason="long_wait" if level == "unsatisfied" else None,
                now=at(10, 5),
            )
        out: dict[str, Any] = {}
        for lang in ("vi", "en"):
            for name, build in BUILDERS.items():
                for first, last in (("2026-11-01", "2026-11-30"), ("2026-11-25", "2026-11-25")):
                    period = reports.parse_period(first, last, cfg.tz, end)
                    body = build(db, cfg, period, end, lang)
                    out[f"{name}/{first}/{last}/{lang}"] = json.loads(json.dumps(body))
        out["live"] = json.loads(json.dumps(reports.live_report(db, cfg, at(10, 0), "vi")))
        return out
    finally:
        ctx.close()


def test_reports_are_identical_on_sqlite_and_postgresql(tmp_path, monkeypatch):
    monkeypatch.delenv("MOTCUA_DATABASE_URL", raising=False)
    on_sqlite = _history_and_reports(tmp_path / "sqlite")
    with fresh_schema() as url:
        monkeypatch.setenv("MOTCUA_DATABASE_URL", url)
        on_pg = _history_and_reports(tmp_path / "pg")
    assert on_sqlite.keys() == on_pg.keys()
    for key in on_sqlite:
        assert on_pg[key] == on_sqlite[key], key
    queue = on_sqlite["queue/2026-11-25/2026-11-25/vi"]
    assert json.dumps(queue)  # the figures exist (see tests/test_reports_queue.py for them)
