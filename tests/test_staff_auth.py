"""Signing in and out: messages, cookies, CSRF, password change, deactivation — each
taking effect at once, open Socket.IO connections included (the throttle of failed
sign-ins is in test_login_throttle.py, server-side sessions in test_staff_sessions.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from server import accounts
from server.app import create_app
from server.config import ConfigError
from server.protocol import NS_COUNTER
from server.store import accounts as account_store
from tests.staff_fixtures import PASSWORD, csrf_of, fast_hashes, form, login, signed_in, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]


@pytest.fixture
def people(ctx):
    now = ctx.now()
    accounts.add_user(ctx.db, "canbo1", "staff", PASSWORD, now, counters=[1], full_name="Lê An")
    accounts.add_user(ctx.db, "giamsat", "supervisor", PASSWORD, now)
    accounts.add_user(ctx.db, "quantri", "admin", PASSWORD, now)


def _audit_actions(ctx) -> list[str]:
    with ctx.db.connection() as conn:
        return [r["action"] for r in account_store.audit(conn)]


def test_login_page_is_vietnamese_with_csrf(client):
    r = client.get("/login")
    body = text(r)
    assert r.status_code == 200
    assert "Đăng nhập cán bộ" in body and 'name="csrf"' in body
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]


def test_wrong_password_says_so_in_vietnamese(client, people, ctx):
    r = login(client, "canbo1", "nope-nope")
    assert r.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in text(r)
    r = login(client, "nobody", PASSWORD)
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in text(r)
    assert _audit_actions(ctx).count("login_failed") == 2


@pytest.mark.parametrize(
    ("username", "home"),
    [("canbo1", "/staff"), ("giamsat", "/supervisor"), ("quantri", "/admin")],
)
def test_login_lands_on_the_role_home(client, people, username, home):
    r = login(client, username)
    assert r.status_code == 303 and r.headers["Location"] == home


def test_login_returns_to_the_page_asked_for_but_never_offsite(client, people):
    r = client.get("/staff/1")
    assert r.status_code == 302 and "/login?next=/staff/1" in r.headers["Location"]
    assert login(client, "canbo1", next="/staff/1").headers["Location"] == "/staff/1"
    other = client.application.test_client()
    assert login(other, "canbo1", next="//evil.example/x").headers["Location"] == "/staff"


def test_session_cookie_flags(app, people):
    client = app.test_client()
    r = login(client, "canbo1")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = app.test_client()
    token = csrf_of(https)  # same cookie jar, plain http
    r = https.post(
        "/login",
        data={"username": "canbo1", "password": PASSWORD, "csrf": token},
        base_url="https://localhost",
    )
    assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"]


def test_forwarded_proto_is_trusted_only_when_configured(cfg, clock, tmp_path):
    def cookie_over_proxy(config, name):
        application = create_app(config, tmp_path / name, clock=clock, testing=True)
        ctx = application.extensions["motcua"]
        accounts.add_user(ctx.db, f"canbo-{name}", "staff", PASSWORD, ctx.now(), counters=[1])
        c = application.test_client()
        token = csrf_of(c)
        r = c.post(
            "/login",
            data={"username": f"canbo-{name}", "password": PASSWORD, "csrf": token},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
        )
        ctx.db.close()
        return r.headers["Set-Cookie"]

    assert "Secure" not in cookie_over_proxy(cfg, "direct")
    proxied = dataclasses.replace(cfg, extra={**cfg.extra, "security": {"trusted_proxies": 1}})
    assert "Secure" in cookie_over_proxy(proxied, "proxied")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"trusted_proxies": 9}, "security.trusted_proxies: must be between 0 and 5"),
        ({"trusted_proxies": "one"}, "security.trusted_proxies: expected a whole number"),
        ({"trusted_proxy": 1}, "security.trusted_proxy: unknown key"),
        (["x"], "security: expected a mapping"),
    ],
)
def test_security_section_is_validated_naming_the_key(cfg, clock, tmp_path, section, message):
    bad = dataclasses.replace(cfg, extra={**cfg.extra, "security": section})
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app(bad, tmp_path / "bad", clock=clock, testing=True)


def test_login_form_without_csrf_is_refused(client, people):
    client.get("/login")
    r = client.post("/login", data={"username": "canbo1", "password": PASSWORD})
    assert r.status_code == 400 and "hết hạn" in text(r)
    assert client.get("/staff").status_code == 302  # still not signed in


def test_logout_needs_csrf_and_ends_the_session(app, people):
    c, csrf = signed_in(app, "canbo1")
    assert c.post("/logout").status_code == 403
    assert c.get("/staff/1").status_code == 200
    r = form(c, "/logout", csrf)
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert c.get("/staff/1").status_code == 302


def test_password_change_logs_out_other_sessions(app, people, ctx, socketio):
    first, csrf1 = signed_in(app, "canbo1")
    second, _ = signed_in(app, "canbo1")
    sock = socketio.test_client(app, namespace=NS_COUNTER, flask_test_client=second)
    assert sock.is_connected(NS_COUNTER)
    r = form(
        first, "/account/password", csrf1, current="wrong", new="newpass123", confirm="newpass123"
    )
    assert r.status_code == 400 and "Mật khẩu hiện tại không đúng" in text(r)
    r = form(first, "/account/password", csrf1, current=PASSWORD, new="newpass123", confirm="x")
    assert r.status_code == 400 and "không khớp" in text(r)
    r = form(
        first, "/account/password", csrf1, current=PASSWORD, new="newpass123", confirm="newpass123"
    )
    assert r.status_code == 303
    assert first.get("/staff/1").status_code == 200  # this session was re-signed
    assert second.get("/staff/1").status_code == 302  # the other one is out
    assert second.get("/api/v1/counters/1/queue").status_code == 401
    assert not sock.is_connected(NS_COUNTER)
    assert "password_changed" in _audit_actions(ctx)
    assert login(app.test_client(), "canbo1", "newpass123").status_code == 303


def test_deactivation_ends_sessions_tokens_and_sockets_at_once(app, people, ctx, socketio):
    admin, csrf = signed_in(app, "quantri")
    staff, _ = signed_in(app, "canbo1")
    token = accounts.issue_user_token(ctx.db, "canbo1", ctx.now())
    by_token = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": token})
    by_cookie = socketio.test_client(app, namespace=NS_COUNTER, flask_test_client=staff)
    assert by_token.is_connected(NS_COUNTER) and by_cookie.is_connected(NS_COUNTER)
    r = form(admin, "/admin/users/canbo1/active", csrf, active="0")
    assert r.status_code == 303
    assert staff.get("/staff/1").status_code == 302
    h = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/counters/1/queue", headers=h).status_code == 401
    assert not by_token.is_connected(NS_COUNTER) and not by_cookie.is_connected(NS_COUNTER)
    again = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": token})
    assert not again.is_connected(NS_COUNTER)
    assert login(app.test_client(), "canbo1").status_code == 401
    assert "user_deactivated" in _audit_actions(ctx)


def test_admin_cannot_lock_themselves_out(app, people):
    admin, csrf = signed_in(app, "quantri")
    r = form(admin, "/admin/users/quantri/active", csrf, active="0")
    assert r.status_code == 409 and "chính mình" in text(r)


def test_personal_token_shown_once_works_and_is_revoked_at_once(app, people, ctx, socketio):
    c, csrf = signed_in(app, "canbo1")
    r = form(c, "/account/tokens", csrf, label="")
    assert r.status_code == 400 and "Hãy đặt tên" in text(r)
    r = form(c, "/account/tokens", csrf, label="Máy quét quầy 1")
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token" class="token">([^<]+)<', text(r)).group(1)
    listing = text(c.get("/account/tokens"))
    assert "Máy quét quầy 1" in listing and token not in listing  # shown once
    h = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    assert api.get("/api/v1/counters/1/queue", headers=h).status_code == 200
    assert api.get("/api/v1/counters/2/queue", headers=h).status_code == 403
    sock = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": token})
    assert sock.is_connected(NS_COUNTER)
    with ctx.db.connection() as conn:
        token_id = conn.execute(
            "SELECT id FROM user_token WHERE label = ?", ("Máy quét quầy 1",)
        ).fetchone()[0]
    other, other_csrf = signed_in(app, "giamsat")
    r = form(other, f"/account/tokens/{token_id}/revoke", other_csrf)
    assert r.status_code == 404  # only its owner may revoke it
    assert api.get("/api/v1/counters/1/queue", headers=h).status_code == 200
    r = form(c, f"/account/tokens/{token_id}/revoke", csrf)
    assert r.status_code == 303
    assert api.get("/api/v1/counters/1/queue", headers=h).status_code == 401
    assert not sock.is_connected(NS_COUNTER)
    assert "Đã thu hồi" in text(c.get("/account/tokens"))
    assert c.get("/staff/1").status_code == 200  # the session itself goes on
    actions = _audit_actions(ctx)
    assert "token_created" in actions and "token_revoked" in actions
