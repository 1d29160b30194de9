"""Staff sessions end on the server: signing out, a password change, an admin's reset or
a deactivation stop every copy of the cookie, and a new password also revokes the
account's personal API tokens.  Open Socket.IO connections whose credential was
revoked — here or by `motcua` in another process — are dropped by the realtime sweep."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from server import accounts
from server.cli import main
from server.protocol import NS_COUNTER, NS_DISPLAY, NS_KIOSK
from server.realtime import events as realtime_events
from tests.conftest import ROOT
from tests.engines import open_db
from tests.staff_fixtures import PASSWORD, csrf_of, fast_hashes, form, login, signed_in

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]


@pytest.fixture
def people(ctx):
    now = ctx.now()
    accounts.add_user(ctx.db, "canbo1", "staff", PASSWORD, now, counters=[1])
    accounts.add_user(ctx.db, "quantri", "admin", PASSWORD, now)


def copy_of(app, browser):
    """Another browser holding a copy of `browser`'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    cookie = browser.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def cli(ctx, *args: str, stdin: str | None = None):
    paths = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(ctx.data_dir)]
    return CliRunner().invoke(main, [*args, *paths], input=stdin)


def staff_page(client) -> int:
    return client.get("/staff/1").status_code


def test_a_cookie_copied_before_logout_stops_working(app, people, socketio):
    browser, csrf = signed_in(app, "canbo1")
    thief = copy_of(app, browser)
    assert staff_page(thief) == 200
    sock = socketio.test_client(app, namespace=NS_COUNTER, flask_test_client=thief)
    assert sock.is_connected(NS_COUNTER)
    assert form(browser, "/logout", csrf).status_code == 303
    assert staff_page(thief) == 302  # it worked for 31 days
    assert thief.get("/api/v1/counters/1/queue").status_code == 401
    assert not sock.is_connected(NS_COUNTER)  # its socket is dropped with the session
    again = socketio.test_client(app, namespace=NS_COUNTER, flask_test_client=thief)
    assert not again.is_connected(NS_COUNTER)


def test_sessions_are_stored_hashed_with_times(app, ctx, people):
    browser, _ = signed_in(app, "canbo1")
    cookie = browser.get_cookie("session").value
    with ctx.db.connection() as conn:
        rows = [dict(r) for r in conn.execute("SELECT * FROM staff_session")]
    assert len(rows) == 1 and rows[0]["revoked_at"] is None
    assert rows[0]["created_at"] == rows[0]["last_seen"] and rows[0]["ip"] == "127.0.0.1"
    raw = app.session_interface.get_signing_serializer(app).loads(cookie)["sid"]
    assert raw not in repr(rows) and len(raw) >= 40


def test_last_seen_moves_at_most_every_few_minutes(app, ctx, people, clock):
    browser, _ = signed_in(app, "canbo1")

    def seen() -> str:
        with ctx.db.connection() as conn:
            return conn.execute("SELECT last_seen FROM staff_session").fetchone()[0]

    first = seen()
    clock.advance(minutes=1)
    staff_page(browser)
    assert seen() == first  # no write on every request
    clock.advance(minutes=5)
    staff_page(browser)
    assert seen() > first


def test_a_session_ends_with_its_cookie_lifetime(app, people, clock):
    browser, _ = signed_in(app, "canbo1")
    clock.advance(days=30)
    assert staff_page(browser) == 200
    clock.advance(days=1, seconds=1)
    assert staff_page(browser) == 302


def test_password_change_revokes_sessions_and_tokens(app, ctx, people, socketio):
    browser, csrf = signed_in(app, "canbo1")
    before = copy_of(app, browser)  # this browser's cookie as it was before the change
    token = accounts.issue_user_token(ctx.db, "canbo1", ctx.now())
    h = {"Authorization": f"Bearer {token}"}
    by_token = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": token})
    assert by_token.is_connected(NS_COUNTER)
    r = form(
        browser, "/account/password", csrf, current=PASSWORD, new="newpass123", confirm="newpass123"
    )
    assert r.status_code == 303
    assert staff_page(browser) == 200  # the browser that changed it has a new session
    assert staff_page(before) == 302
    assert app.test_client().get("/api/v1/counters/1/queue", headers=h).status_code == 401
    assert not by_token.is_connected(NS_COUNTER)


def test_admin_reset_revokes_sessions_and_tokens(app, ctx, people, socketio):
    admin, csrf = signed_in(app, "quantri")
    staff, _ = signed_in(app, "canbo1")
    token = accounts.issue_user_token(ctx.db, "canbo1", ctx.now())
    h = {"Authorization": f"Bearer {token}"}
    r = form(admin, "/admin/users/canbo1/password", csrf, password="reset-pass-1", password2="x")
    assert r.status_code == 400  # a typo changes nothing
    assert app.test_client().get("/api/v1/counters/1/queue", headers=h).status_code == 200
    r = form(
        admin,
        "/admin/users/canbo1/password",
        csrf,
        password="reset-pass-1",
        password2="reset-pass-1",
    )
    assert r.status_code == 303
    assert staff_page(staff) == 302
    assert app.test_client().get("/api/v1/counters/1/queue", headers=h).status_code == 401
    assert login(app.test_client(), "canbo1", "reset-pass-1").status_code == 303


def test_reactivating_an_account_does_not_revive_old_sessions(app, people):
    admin, csrf = signed_in(app, "quantri")
    staff, _ = signed_in(app, "canbo1")
    assert form(admin, "/admin/users/canbo1/active", csrf, active="0").status_code == 303
    assert form(admin, "/admin/users/canbo1/active", csrf, active="1").status_code == 303
    assert staff_page(staff) == 302
    assert login(app.test_client(), "canbo1").status_code == 303


def test_cli_passwd_ends_sessions_tokens_and_their_sockets(app, ctx, people, socketio):
    staff, _ = signed_in(app, "canbo1")
    token = accounts.issue_user_token(ctx.db, "canbo1", ctx.now())
    by_cookie = socketio.test_client(app, namespace=NS_COUNTER, flask_test_client=staff)
    by_token = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": token})
    r = cli(ctx, "user", "passwd", "canbo1", stdin="from-the-cli-1\n")
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and "sessions and API tokens are revoked" in r.stderr
    assert staff_page(staff) == 302
    # Another process changed the database: the running server's sweep notices.
    assert by_cookie.is_connected(NS_COUNTER) and by_token.is_connected(NS_COUNTER)
    assert ctx.realtime.sweep() == 2
    assert not by_cookie.is_connected(NS_COUNTER) and not by_token.is_connected(NS_COUNTER)
    assert login(app.test_client(), "canbo1", "from-the-cli-1").status_code == 303
    assert cli(ctx, "user", "passwd", "canbo1", stdin="short\n").exit_code != 0


def test_cli_device_revoke_drops_the_devices_sockets(app, ctx, actors, socketio):
    kiosk = socketio.test_client(app, namespace=NS_KIOSK, auth={"token": actors.kiosk})
    board = socketio.test_client(app, namespace=NS_DISPLAY, auth={"token": actors.board})
    staff = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": actors.staff[1]})
    assert kiosk.is_connected(NS_KIOSK) and board.is_connected(NS_DISPLAY)
    assert ctx.realtime.sweep() == 0  # nothing revoked: everyone stays
    r = cli(ctx, "device", "revoke", "kiosk-1")
    assert r.exit_code == 0, r.output
    assert ctx.realtime.sweep() == 1
    assert not kiosk.is_connected(NS_KIOSK)
    assert board.is_connected(NS_DISPLAY) and staff.is_connected(NS_COUNTER)
    r = cli(ctx, "device", "add", "board-all", "--kind", "display", "--rotate")
    assert r.exit_code == 0, r.output
    assert ctx.realtime.sweep() == 1  # a rotated token is as good as revoked
    assert not board.is_connected(NS_DISPLAY) and staff.is_connected(NS_COUNTER)


def test_a_paired_page_is_dropped_when_its_device_is_revoked(app, ctx, actors, socketio):
    page = app.test_client()
    assert page.get(f"/board/pair?token={actors.board}").status_code == 303
    sock = socketio.test_client(app, namespace=NS_DISPLAY, flask_test_client=page)
    assert sock.is_connected(NS_DISPLAY)
    other = open_db(ctx.data_dir)  # as another process would
    accounts.revoke_device(other, "board-all", ctx.now())
    other.close()
    assert ctx.realtime.sweep() == 1 and not sock.is_connected(NS_DISPLAY)


def test_the_sweep_runs_by_itself(app, ctx, actors, socketio, monkeypatch):
    monkeypatch.setattr(realtime_events, "SWEEP_INTERVAL_S", 0.02)
    kiosk = socketio.test_client(app, namespace=NS_KIOSK, auth={"token": actors.kiosk})
    assert kiosk.is_connected(NS_KIOSK)
    other = open_db(ctx.data_dir)
    accounts.revoke_device(other, "kiosk-1", ctx.now())
    other.close()
    for _ in range(500):  # bounded: the sweep runs every 20 ms here
        if not kiosk.is_connected(NS_KIOSK):
            break
        time.sleep(0.01)
    assert not kiosk.is_connected(NS_KIOSK)


def test_a_login_form_still_needs_its_csrf_after_sessions(app, people):
    c = app.test_client()
    token = csrf_of(c)
    r = c.post("/login", data={"username": "canbo1", "password": PASSWORD, "csrf": token + "x"})
    assert r.status_code == 400


def test_signing_in_again_retires_the_previous_session(app, people):
    browser, csrf = signed_in(app, "canbo1")
    earlier = copy_of(app, browser)
    r = form(browser, "/login", csrf, username="quantri", password=PASSWORD)
    assert r.status_code == 303
    assert staff_page(earlier) == 302
    assert browser.get("/admin").status_code == 200
