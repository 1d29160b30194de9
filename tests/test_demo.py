"""What `motcua demo` fills and shows (issue 16.12): dossiers that make sense, three
sample codes of different procedures, staff with full names, a counter screen in the
banner, and one source of opening hours — the demo's any-hour issuing an explicit,
visible "Chế độ trình diễn" on the kiosk and the board."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from server import accounts
from server.app import create_app
from server.clock import FixedClock
from server.commands.demo import banner_text, demo_hours
from server.dossiers.demo import MISSING, PROCEDURES, demo_dossiers
from server.protocol import NS_DISPLAY
from server.seed import demo_accounts
from server.store import accounts as account_store
from tests.conftest import TZ, drain

NIGHT = datetime(2026, 11, 28, 22, 30, tzinfo=TZ)  # a Saturday night


@pytest.fixture
def demo_app(cfg, tmp_path):
    app = create_app(demo_hours(cfg), tmp_path / "data", clock=FixedClock(NIGHT), testing=True)
    yield app
    app.extensions["motcua"].close()


def _data(html: str, element_id: str) -> dict:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert match, f"no #{element_id} data in the page"
    return json.loads(match.group(1))


def test_supplement_requests_ask_for_papers_of_their_own_procedure(ctx) -> None:
    samples = demo_dossiers(ctx.db, ctx.cfg, ctx.now())
    with ctx.db.read() as conn:
        rows = conn.execute(
            "SELECT code, procedure, missing FROM dossier WHERE missing IS NOT NULL"
        ).fetchall()
    assert rows
    for row in rows:
        assert row["missing"] in MISSING[row["procedure"]], dict(row)
    # a birth registration never asks for a construction drawing
    assert all("Bản vẽ" not in m for m in MISSING["1.000893"])
    assert set(MISSING) == {p[0] for p in PROCEDURES}

    # three samples to try: in progress, ready, supplement — of three departments
    assert len(samples) == 3
    with ctx.db.read() as conn:
        found = [
            conn.execute(
                "SELECT status, department, procedure FROM dossier WHERE code = ?", (code,)
            ).fetchone()
            for code in samples
        ]
    assert [d["status"] for d in found] == ["in_progress", "resolved", "supplement_requested"]
    assert len({d["department"] for d in found}) == 3
    assert len({d["procedure"] for d in found}) == 3


def test_demo_staff_have_full_names_and_counter_1_has_a_screen(ctx) -> None:
    # a demo database from before the names: its accounts get them
    accounts.add_user(ctx.db, "canbo1", "staff", "motcua-demo", ctx.now(), counters=(1,))
    logins, devices = demo_accounts(ctx.db, ctx.cfg, ctx.now())
    with ctx.db.read() as conn:
        names = {u["username"]: u["full_name"] for u in account_store.users(conn)}
    assert names["canbo1"] == "Nguyễn Văn An"
    for login in logins:
        assert names[login.username] and names[login.username] != login.username
    (screen,) = [d for d in devices if d.name == "screen-1"]
    assert (screen.kind, screen.counter) == ("display", 1)

    banner = banner_text(
        demo_hours(ctx.cfg),
        "http://192.168.1.10:5000",
        logins,
        devices,
        ["A", "B", "C"],
        Path("/tmp/tickets"),
        [],
    )
    assert (
        "Counter 1 screen (màn hình quầy 1): http://192.168.1.10:5000/board/pair?token="
        + screen.token
    ) in banner
    assert "motcua device add screen-N --kind display --counter N" in banner
    # each demo role has a page it may open (a supervisor sent to /admin got a 403)
    assert "Supervisor (giám sát): http://192.168.1.10:5000/supervisor " in banner
    assert "reports (báo cáo): http://192.168.1.10:5000/reports" in banner
    assert "Admin (quản trị):      http://192.168.1.10:5000/admin\n" in banner
    assert "Chế độ trình diễn" in banner and "07:00–11:30, 13:30–17:00" in banner


def test_demo_mode_issues_at_night_and_says_so_on_kiosk_and_board(demo_app) -> None:
    c = demo_app.extensions["motcua"]
    now = c.now()
    kiosk = accounts.add_device(c.db, "kiosk-1", "kiosk", now)
    board = accounts.add_device(c.db, "board-all", "display", now)
    client = demo_app.test_client()

    r = client.post(
        "/api/v1/tickets", json={"service": "DD"}, headers={"Authorization": f"Bearer {kiosk}"}
    )
    assert r.status_code == 201  # 22:30 on a Saturday: the demo still issues

    client.get(f"/kiosk/pair?token={kiosk}")
    data = _data(client.get("/kiosk").get_data(as_text=True), "kiosk-data")
    # the kiosk shows the office's real hours, and that this is a demo
    assert data["hours"]["sessions"] == [["07:00", "11:30"], ["13:30", "17:00"]]
    assert data["demo"] is True
    assert data["texts"]["vi"]["kiosk.demo_mode"] == "Chế độ trình diễn: nhận số cả ngày, mọi ngày"

    # the board's notice says the same
    sio = demo_app.extensions["motcua.socketio"].test_client(
        demo_app, namespace=NS_DISPLAY, auth={"token": board}
    )
    [snapshot] = [p for n, p in drain(sio, NS_DISPLAY) if n == "snapshot"]
    assert snapshot["notice"].startswith("Chế độ trình diễn: nhận số cả ngày, mọi ngày.")
    assert "7:00–11:30" in snapshot["notice"]  # config.yaml's notice follows


def test_the_lookup_page_shows_office_hours_in_demo_mode(demo_app) -> None:
    html = demo_app.test_client().get("/tra-cuu").get_data(as_text=True)
    assert "07:00–11:30, 13:30–17:00" in html and "00:00–23:59" not in html


def test_outside_demo_mode_the_kiosk_shows_no_demo_mark(client, ctx) -> None:
    kiosk = accounts.add_device(ctx.db, "kiosk-1", "kiosk", ctx.now())
    client.get(f"/kiosk/pair?token={kiosk}")
    data = _data(client.get("/kiosk").get_data(as_text=True), "kiosk-data")
    assert data["demo"] is False
    assert data["hours"]["sessions"] == [["07:00", "11:30"], ["13:30", "17:00"]]
