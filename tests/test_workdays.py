"""One calendar for the kiosks and the dossier clock (issue 16.13–16.15): the Government's
day swaps ship in config.yaml, an official make-up Saturday issues tickets and counts on
a due date, /admin/days adds a center's own days to the shipped ones, and
`motcua import-dossiers` counts the days saved there as the API does."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from click.testing import CliRunner

from server import settings
from server.cli import main
from tests.conftest import ROOT, TZ
from tests.dossier_fixtures import Keys, catalog, keys
from tests.staff_fixtures import fast_hashes, form, signed_in, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["catalog", "fast_hashes", "keys"]


def _ticket(client, actors, clock, at: datetime) -> int:
    clock.set(at)
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk))
    return r.status_code


def test_kiosks_follow_the_shipped_swaps_and_make_up_saturdays(client, actors, clock):
    # Fri 2 Jan 2026 is the swapped day off; Sat 10 Jan 2026 is worked instead.
    assert _ticket(client, actors, clock, datetime(2026, 1, 2, 9, tzinfo=TZ)) == 409
    assert _ticket(client, actors, clock, datetime(2026, 1, 10, 9, tzinfo=TZ)) == 201
    # Sat 22 Aug 2026: the official make-up Saturday the dossier clock already counted.
    assert _ticket(client, actors, clock, datetime(2026, 8, 22, 9, tzinfo=TZ)) == 201
    assert _ticket(client, actors, clock, datetime(2026, 8, 31, 9, tzinfo=TZ)) == 409
    assert _ticket(client, actors, clock, datetime(2026, 8, 29, 9, tzinfo=TZ)) == 409


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Thu 1 Jan holiday, Fri 2 Jan swapped off, weekend → Mon 5 Jan.
        ("2025-12-31T09:00:00+07:00", "2026-01-05T02:00:00.000000+00:00"),
        # Fri 9 Jan + 1 day → the worked Saturday 10 Jan.
        ("2026-01-09T09:00:00+07:00", "2026-01-10T02:00:00.000000+00:00"),
        # Fri 21 Aug + 1 day → the make-up Saturday 22 Aug.
        ("2026-08-21T09:00:00+07:00", "2026-08-22T02:00:00.000000+00:00"),
    ],
)
def test_the_dossier_clock_counts_the_same_days(client, keys, received: str, due: str):
    body = {
        "procedure": "STP-LLTP",
        "applicant": "Nguyễn Văn An",
        "status": "received",
        "received_at": received,
        "limit_days": 1,
    }
    r = client.put("/api/v1/dossiers/SWAP-1", json=body, headers=Keys.h(keys.stp))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["dossier"]["due_at"] == due


def test_admin_days_add_to_the_shipped_swaps(app, actors, client, clock):
    c, csrf = signed_in(app, "root")
    page = text(c.get("/admin/days"))
    assert "02/01/2026" in page and "10/01/2026" in page and "22/08/2026" in page
    assert form(c, "/admin/days", csrf, holidays="24/12/2026", workdays="").status_code == 303
    cfg = app.extensions["motcua"].cfg
    assert {date(2026, 1, 2), date(2026, 8, 31), date(2026, 12, 24)} <= set(cfg.holidays)
    assert date(2026, 1, 10) in cfg.extra_workdays
    # A shipped day off cancelled by the admin: Fri 2 Jan 2026 works again.
    assert form(c, "/admin/days", csrf, holidays="", workdays="02/01/2026").status_code == 303
    assert _ticket(client, actors, clock, datetime(2026, 1, 2, 9, tzinfo=TZ)) == 201
    r = form(c, "/admin/days", csrf, holidays="30/12/9999", workdays="")
    assert r.status_code == 400 and "nằm ngoài khoảng cho phép" in text(r)


def test_the_cli_import_counts_days_saved_on_the_admin_page(client, keys, catalog, tmp_path):
    # A center's own day off on Thu 26 Nov 2026, saved on /admin/days (not in config.yaml).
    settings.save_days(catalog.db, "26/11/2026", "")
    settings.apply(client.application)
    body = {
        "procedure": "STP-LLTP",
        "applicant": "An",
        "status": "received",
        "received_at": "25/11/2026 08:30",
        "limit_days": 1,
    }
    api = client.put("/api/v1/dossiers/BY-API", json=body, headers=Keys.h(keys.stp))
    assert api.status_code == 201, api.get_json()
    f = tmp_path / "ho-so.csv"
    f.write_text(
        "Mã hồ sơ,Mã thủ tục,Người nộp,Ngày tiếp nhận,Trạng thái,Thời hạn giải quyết\n"
        "BY-CLI,STP-LLTP,An,25/11/2026 08:30,Đã tiếp nhận,1\n",
        encoding="utf-8",
    )
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(catalog.data_dir)]
    r = CliRunner().invoke(main, ["import-dossiers", str(f), "--no-sms", *args])
    assert r.exit_code == 0, r.stderr
    detail = client.get("/api/v1/dossiers/BY-CLI/detail", headers=Keys.h(keys.stp))
    # Fri 27 Nov 08:30, not Thu 26: the saved day off counts for both.
    assert detail.get_json()["dossier"]["due_at"] == "2026-11-27T01:30:00.000000+00:00"
    assert detail.get_json()["dossier"]["due_at"] == api.get_json()["dossier"]["due_at"]
