"""Floods and forged forms: logins, ticket-status scans, ratings and dossier lookups are
rate limited (429 with Retry-After), an address guessing one account is blocked from it, and every
form refuses a missing or forged CSRF token, changing nothing."""

from __future__ import annotations

import pytest

from server import logins
from server.ratelimit import RateLimiter
from tests.hostile_fixtures import hall, snapshot
from tests.staff_fixtures import csrf_of, fast_hashes, login, signed_in

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes", "hall"]


# --- floods ----------------------------------------------------------------------------------
def _until_limited(send, most: int):
    for i in range(most):
        resp = send(i)
        if resp.status_code == 429:
            return i, resp
    raise AssertionError(f"no 429 after {most} requests")


def test_login_brute_force_is_limited(app, ctx, actors):
    c = app.test_client()
    csrf = csrf_of(c)

    def attempt(i: int):
        return c.post(
            "/login", data={"username": f"guess{i}", "password": "wrong-password", "csrf": csrf}
        )

    n, resp = _until_limited(attempt, 50)
    assert n == logins.ADDRESS_FREE_FAILURES
    assert int(resp.headers["Retry-After"]) >= 1
    assert "Quá nhiều lần đăng nhập" in resp.get_data(as_text=True)
    # while limited, even the right password does not get in
    assert login(c, "staff1").status_code == 429
    assert c.get("/staff").status_code == 302


def test_one_account_is_blocked_for_the_guessing_address_only(app, ctx, actors):
    c = app.test_client()
    statuses = [login(c, "staff1", "not-the-password").status_code for _ in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    assert login(c, "staff1").status_code == 429  # the right password waits from there
    elsewhere = app.test_client()
    token = csrf_of(elsewhere)
    r = elsewhere.post(
        "/login",
        data={"username": "staff1", "password": "password123", "csrf": token},
        environ_base={"REMOTE_ADDR": "192.0.2.44"},
    )
    assert r.status_code == 303  # the owner, at another computer, is not locked out
    other, _ = signed_in(app, "staff2")  # others are not affected
    assert other.get("/account/password").status_code == 200


def test_public_ticket_status_scan_is_limited(client, ctx, actors, issue):
    token = issue("DD")["token"]
    n, resp = _until_limited(lambda i: client.get(f"/api/v1/tickets/scan{i:08d}"), 500)
    assert n == ctx.limits["public"].limit
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1
    # the real token is refused too (the scanner learns nothing), and so is the page
    assert client.get(f"/api/v1/tickets/{token}").status_code == 429
    page = client.get(f"/t/{token}")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1


def test_public_ratings_are_limited(client, ctx, actors, hall):
    def rate(i: int):
        return client.post(
            "/api/v1/ratings", json={"ticket": f"nosuch{i:08d}", "level": "satisfied"}
        )

    ctx.limits["rating"] = RateLimiter(limit=20, per_seconds=60)
    n, resp = _until_limited(rate, 200)
    assert n == 20 and resp.get_json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1


def test_dossier_lookup_is_limited(client, ctx):
    ctx.limits["lookup"] = RateLimiter(limit=30, per_seconds=60)
    n, resp = _until_limited(lambda i: client.get(f"/api/v1/dossiers/X-{i:06d}"), 200)
    assert n == 30 and int(resp.headers["Retry-After"]) >= 1


# --- forms and CSRF --------------------------------------------------------------------------
def test_login_form_needs_its_csrf_token(app, actors):
    for csrf in (None, "", "forged-token-123", csrf_of(app.test_client())):  # last: another's
        c = app.test_client()
        c.get("/login")  # a session of its own, with its own token
        data = {"username": "staff1", "password": "password123"}
        if csrf is not None:
            data["csrf"] = csrf
        resp = c.post("/login", data=data)
        assert resp.status_code == 400, csrf
        assert "Phiên đăng nhập đã hết hạn" in resp.get_data(as_text=True)
        assert c.get("/staff").status_code == 302  # not signed in


def _form_rules(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
        and not rule.rule.startswith("/api/")
        and rule.rule not in ("/login",)
    )


def _fill(rule: str) -> str:
    return (
        rule.replace("<int:number>", "1")
        .replace("<code>", "DD")
        .replace("<username>", "staff2")
        .replace("<name>", "kiosk-1")
        .replace("<int:token_id>", "1")
        .replace("<int:notification_id>", "1")
    )


def test_every_form_refuses_a_missing_or_forged_csrf_token(app, ctx, actors):
    ctx.limits["login"] = RateLimiter(limit=1000, per_seconds=300)
    admin, real = signed_in(app, "root")
    _, other = signed_in(app, "boss")  # a valid token, of someone else's session
    rules = _form_rules(app)
    assert len(rules) >= 20 and "/admin/users" in rules
    before = snapshot(ctx.db)
    problems = []
    fields = {
        "name": "Tên mới",
        "kind": "kiosk",
        "username": "moi.nv",
        "role": "staff",
        "password": "password123",
        "label": "x",
        "status": "received",
        "reason": "x",
    }
    for rule in rules:
        url = _fill(rule)
        for csrf in (None, "", "forged-" + real[:-7], other):
            data = dict(fields)
            if csrf is not None:
                data["csrf"] = csrf
            resp = admin.post(url, data=data)
            if resp.status_code != 403:
                problems.append(f"{url} csrf={csrf!r}: {resp.status_code}")
    after = snapshot(ctx.db)
    # refused forms leave no trace but the audit of who tried
    changed = sorted(t for t in before if before[t] != after.get(t) and t != "audit")
    assert not problems, "\n".join(problems)
    assert not changed, changed
    assert admin.get("/admin").status_code == 200  # still signed in: nothing was ended
