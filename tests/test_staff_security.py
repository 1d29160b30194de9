"""Who may call what.  Every /api/v1 route and every staff/supervisor/admin page is
tried by every kind of caller; a route missing from the tables below fails the test,
so a new endpoint cannot ship without someone deciding who may use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from server import accounts
from server.protocol import NS_COUNTER, NS_DISPLAY, NS_KIOSK
from server.ratelimit import RateLimiter
from tests.staff_fixtures import PASSWORD, fast_hashes, login, signed_in

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]

ROLES = ("anonymous", "kiosk", "display", "staff_elsewhere", "staff_1", "supervisor", "admin")
OK = "ok"  # reached the handler: not 401/403, no server error


def _exp(**kw: Any) -> dict[str, Any]:
    return {role: kw.get(role, OK) for role in ROLES}


PUBLIC = _exp()
STAFF_AT_1 = _exp(anonymous=401, kiosk=403, display=403, staff_elsewhere=403)
STAFF_ANY = _exp(anonymous=401, kiosk=403, display=403)
SUPERVISOR = _exp(anonymous=401, kiosk=403, display=403, staff_elsewhere=403, staff_1=403)
KIOSK_OR_STAFF = _exp(anonymous=401, display=403)
KIOSK_ONLY = _exp(
    anonymous=401, display=403, staff_elsewhere=403, staff_1=403, supervisor=403, admin=403
)
#: a department key with scope "remote" (a portal): no role here holds one
PORTAL = _exp(
    anonymous=401,
    kiosk=403,
    display=403,
    staff_elsewhere=403,
    staff_1=403,
    supervisor=403,
    admin=403,
)


@dataclass
class Row:
    url: str
    who: dict[str, Any]
    body: Any = None
    kw: dict[str, Any] = field(default_factory=dict)


def api_table(s: dict[str, Any]) -> dict[tuple[str, str], Row]:
    """(method, rule) → the URL to try and who may use it.  `s` holds real ids."""
    t, tok, done = s["ticket_id"], s["token"], s["done_token"]
    return {
        ("GET", "/api/v1/health"): Row("/api/v1/health", PUBLIC),
        ("GET", "/api/v1/openapi.json"): Row("/api/v1/openapi.json", PUBLIC),
        ("GET", "/api/v1/services"): Row("/api/v1/services", PUBLIC),
        ("GET", "/api/v1/counters"): Row("/api/v1/counters", PUBLIC),
        ("GET", "/api/v1/calls"): Row("/api/v1/calls?after=0", PUBLIC),
        ("GET", "/api/v1/tickets/<token>"): Row(f"/api/v1/tickets/{tok}", PUBLIC),
        ("GET", "/api/v1/audio/chime.wav"): Row("/api/v1/audio/chime.wav", PUBLIC),
        ("GET", "/api/v1/audio/<key>.wav"): Row("/api/v1/audio/0123abcd.wav", PUBLIC),
        ("POST", "/api/v1/tickets"): Row("/api/v1/tickets", KIOSK_OR_STAFF, {"service": "HT"}),
        ("POST", "/api/v1/counters/<int:number>/next"): Row("/api/v1/counters/1/next", STAFF_AT_1),
        ("POST", "/api/v1/counters/<int:number>/recall"): Row(
            "/api/v1/counters/1/recall", STAFF_AT_1
        ),
        ("POST", "/api/v1/counters/<int:number>/call"): Row(
            "/api/v1/counters/1/call", STAFF_AT_1, {"label": "1004"}
        ),
        ("POST", "/api/v1/counters/<int:number>/pause"): Row(
            "/api/v1/counters/1/pause", STAFF_AT_1, {"reason": "break"}
        ),
        ("POST", "/api/v1/counters/<int:number>/resume"): Row(
            "/api/v1/counters/1/resume", STAFF_AT_1
        ),
        ("POST", "/api/v1/counters/<int:number>/close"): Row(
            "/api/v1/counters/1/close", STAFF_AT_1
        ),
        ("GET", "/api/v1/counters/<int:number>/queue"): Row("/api/v1/counters/1/queue", STAFF_AT_1),
        ("GET", "/api/v1/counters/<int:number>/history"): Row(
            "/api/v1/counters/1/history", STAFF_AT_1
        ),
        ("POST", "/api/v1/tickets/<int:ticket_id>/start"): Row(
            f"/api/v1/tickets/{t}/start", STAFF_AT_1
        ),
        ("POST", "/api/v1/tickets/<int:ticket_id>/finish"): Row(
            f"/api/v1/tickets/{t}/finish", STAFF_AT_1, {"dossiers": ["KD-1"]}
        ),
        ("POST", "/api/v1/tickets/<int:ticket_id>/no-show"): Row(
            f"/api/v1/tickets/{t}/no-show", STAFF_AT_1
        ),
        ("POST", "/api/v1/tickets/<int:ticket_id>/transfer"): Row(
            f"/api/v1/tickets/{t}/transfer", STAFF_AT_1, {"service": "XD"}
        ),
        ("POST", "/api/v1/tickets/<int:ticket_id>/cancel"): Row(
            f"/api/v1/tickets/{s['waiting_id']}/cancel", SUPERVISOR
        ),
        # supervisor actions on the hall (server/api/admin.py)
        ("GET", "/api/v1/hall"): Row("/api/v1/hall", SUPERVISOR),
        ("POST", "/api/v1/counters/<int:number>/services"): Row(
            "/api/v1/counters/9/services", SUPERVISOR, {"services": ["LD", "GT"]}
        ),
        ("POST", "/api/v1/services/<code>/close"): Row("/api/v1/services/TKQ/close", SUPERVISOR),
        ("POST", "/api/v1/services/<code>/open"): Row("/api/v1/services/TKQ/open", SUPERVISOR),
        # kiosk floods (server/api/floods.py): alerts, cancelling a device's waiting tickets
        ("GET", "/api/v1/alerts"): Row("/api/v1/alerts", SUPERVISOR),
        ("POST", "/api/v1/devices/<int:device_id>/cancel-waiting"): Row(
            "/api/v1/devices/1/cancel-waiting",
            SUPERVISOR,
            {
                "since": "2026-11-25T08:00:00+07:00",
                "until": "2026-11-25T09:00:00+07:00",
                "reason": "kiểm thử",
            },
        ),
        # kiosks' health (kiosk area)
        ("GET", "/api/v1/devices/status"): Row("/api/v1/devices/status", SUPERVISOR),
        # a hall board's test sound (boards area; 409 when the board is not connected)
        ("POST", "/api/v1/devices/<int:device_id>/sound-test"): Row(
            "/api/v1/devices/1/sound-test", SUPERVISOR
        ),
        # ratings (ratings area): public with a finished ticket's token, or a counter pad
        ("POST", "/api/v1/ratings"): Row(
            "/api/v1/ratings", PUBLIC, {"ticket": done, "level": "satisfied"}
        ),
        ("GET", "/api/v1/ratings/options"): Row("/api/v1/ratings/options", PUBLIC),
        ("GET", "/api/v1/ratings/<token>"): Row(f"/api/v1/ratings/{done}", PUBLIC),
        # reports (reports area)
        ("GET", "/api/v1/reports/<kind>"): Row("/api/v1/reports/queue", SUPERVISOR),
        ("GET", "/api/v1/reports/live"): Row("/api/v1/reports/live", SUPERVISOR),
        # dossiers (dossier area): public lookup; staff write; supervisors watch and correct
        ("GET", "/api/v1/dossiers/<code>"): Row("/api/v1/dossiers/KD-231027-0001", PUBLIC),
        ("PUT", "/api/v1/dossiers/<code>"): Row("/api/v1/dossiers/KD-231027-0001", STAFF_ANY, {}),
        ("POST", "/api/v1/dossiers/<code>/events"): Row(
            "/api/v1/dossiers/KD-231027-0001/events", STAFF_ANY, {}
        ),
        ("GET", "/api/v1/dossiers/<code>/detail"): Row(
            "/api/v1/dossiers/KD-231027-0001/detail", STAFF_ANY
        ),
        ("POST", "/api/v1/dossiers/<code>/correction"): Row(
            "/api/v1/dossiers/KD-231027-0001/correction", SUPERVISOR, {}
        ),
        ("GET", "/api/v1/dossiers/watch"): Row("/api/v1/dossiers/watch", SUPERVISOR),
        ("GET", "/api/v1/dossiers/export"): Row("/api/v1/dossiers/export", SUPERVISOR),
        ("POST", "/api/v1/dossiers/imports"): Row("/api/v1/dossiers/imports", SUPERVISOR, {}),
        ("GET", "/api/v1/dossiers/imports/<job_id>"): Row(
            "/api/v1/dossiers/imports/nojob", SUPERVISOR
        ),
        ("POST", "/api/v1/notifications/<int:notification_id>/retry"): Row(
            "/api/v1/notifications/999/retry", SUPERVISOR
        ),
        # numbers taken from home (remote area): the phone page is public (codes are
        # rate-limited, takes need a confirmed phone); portals use a key with scope remote
        ("POST", "/api/v1/remote/code"): Row(
            "/api/v1/remote/code", PUBLIC, {"phone": "0912345678"}
        ),
        ("POST", "/api/v1/remote/verify"): Row(
            "/api/v1/remote/verify", PUBLIC, {"phone": "0912345678", "code": "000000"}
        ),
        ("POST", "/api/v1/remote/tickets"): Row(
            "/api/v1/remote/tickets", PUBLIC, {"service": "DD", "proof": "x"}
        ),
        ("POST", "/api/v1/remote/tickets/<token>/cancel"): Row(
            f"/api/v1/remote/tickets/{tok}/cancel", PUBLIC
        ),
        ("POST", "/api/v1/portal/tickets"): Row(
            "/api/v1/portal/tickets", PORTAL, {"service": "DD", "phone": "0912345678"}
        ),
        ("GET", "/api/v1/portal/tickets/<token>"): Row(f"/api/v1/portal/tickets/{tok}", PORTAL),
        ("POST", "/api/v1/portal/tickets/<token>/cancel"): Row(
            f"/api/v1/portal/tickets/{tok}/cancel", PORTAL
        ),
        ("POST", "/api/v1/tickets/<int:ticket_id>/check-in"): Row(
            f"/api/v1/tickets/{s['waiting_id']}/check-in", STAFF_ANY
        ),
        ("POST", "/api/v1/kiosk/check-in"): Row(
            "/api/v1/kiosk/check-in", KIOSK_ONLY, {"scan": "xin chao"}
        ),
        ("GET", "/api/v1/remote/summary"): Row("/api/v1/remote/summary", SUPERVISOR),
        ("POST", "/api/v1/remote/services/<code>/close"): Row(
            "/api/v1/remote/services/TKQ/close", SUPERVISOR
        ),
        ("POST", "/api/v1/remote/services/<code>/open"): Row(
            "/api/v1/remote/services/TKQ/open", SUPERVISOR
        ),
        ("GET", "/api/v1/reports/channels"): Row("/api/v1/reports/channels", SUPERVISOR),
    }


def _rules(app, prefix: str) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                out.append((method, rule.rule))
    return sorted(out)


def _verdict(expected: Any, status: int) -> bool:
    if expected == OK:
        return status not in (401, 403, 405) and status < 500
    return status == expected


@pytest.fixture
def world(app, ctx, actors, issue, client):
    """Real objects for the URLs: a ticket at counter 1, a waiting one, a finished one."""
    for _ in range(4):
        issue("DD")
    waiting = issue("HT")
    staff1 = actors.h(actors.staff[1])
    at_1 = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
    done = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
    client.post(f"/api/v1/tickets/{done['id']}/finish", headers=staff1)
    at_1 = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
    with ctx.db.connection() as conn:
        tokens = dict(conn.execute("SELECT id, token FROM ticket").fetchall())
    headers = {
        "anonymous": {},
        "kiosk": actors.h(actors.kiosk),
        "display": actors.h(actors.board),
        "staff_elsewhere": actors.h(actors.staff[2]),
        "staff_1": staff1,
        "supervisor": actors.h(actors.supervisor),
        "admin": actors.h(actors.admin),
    }
    ids = {
        "ticket_id": at_1["id"],
        "token": tokens[at_1["id"]],
        "done_token": tokens[done["id"]],
        "waiting_id": waiting["id"],
    }
    return headers, ids


def test_every_api_route_checks_role_and_device_kind(app, client, world):
    headers, ids = world
    table = api_table(ids)
    problems = []
    routes = _rules(app, "/api/v1/")
    for key in routes:
        row = table.get(key)
        if row is None:
            problems.append(f"{key[0]} {key[1]}: not in the role table of {__name__}")
            continue
        for role in ROLES:  # denied callers first: they must not change anything
            r = client.open(row.url, method=key[0], json=row.body, headers=headers[role])
            if not _verdict(row.who[role], r.status_code):
                problems.append(
                    f"{key[0]} {row.url} as {role}: got {r.status_code}, want {row.who[role]}"
                )
    stale = sorted(set(table) - set(routes))
    assert not problems, "\n".join(problems)
    assert not stale, f"routes in the table that no longer exist: {stale}"


# --- pages ------------------------------------------------------------------------------------
PAGE_STAFF = _exp(anonymous="login", kiosk="login", display="login")
PAGE_SUPERVISOR = _exp(
    anonymous="login", kiosk="login", display="login", staff_elsewhere=403, staff_1=403
)
PAGE_ADMIN = {**PAGE_SUPERVISOR, "supervisor": 403}
PAGE_PUBLIC = _exp()


def page_table() -> dict[tuple[str, str], Row]:
    p = {
        ("GET", "/login"): ("/login", PAGE_PUBLIC),
        ("POST", "/login"): ("/login", PAGE_PUBLIC),
        # without a session there is no CSRF token to send: refused, nothing to end
        ("POST", "/logout"): ("/logout", _exp(anonymous=403, kiosk=403, display=403)),
        ("GET", "/account/password"): ("/account/password", PAGE_STAFF),
        ("POST", "/account/password"): ("/account/password", PAGE_STAFF),
        ("GET", "/account/tokens"): ("/account/tokens", PAGE_STAFF),
        ("POST", "/account/tokens"): ("/account/tokens", PAGE_STAFF),
        ("POST", "/account/tokens/<int:token_id>/revoke"): (
            "/account/tokens/999/revoke",
            PAGE_STAFF,
        ),
        ("GET", "/staff"): ("/staff", PAGE_STAFF),
        ("GET", "/staff/<int:number>"): (
            "/staff/1",
            {**PAGE_STAFF, "staff_elsewhere": 403},
        ),
        ("GET", "/supervisor"): ("/supervisor", PAGE_SUPERVISOR),
        ("GET", "/supervisor/audit"): ("/supervisor/audit", PAGE_SUPERVISOR),
        ("GET", "/admin"): ("/admin", PAGE_ADMIN),
        ("GET", "/admin/services"): ("/admin/services", PAGE_ADMIN),
        ("POST", "/admin/services"): ("/admin/services", PAGE_ADMIN),
        ("GET", "/admin/services/new"): ("/admin/services/new", PAGE_ADMIN),
        ("GET", "/admin/services/<code>"): ("/admin/services/DD", PAGE_ADMIN),
        ("POST", "/admin/services/<code>"): ("/admin/services/DD", PAGE_ADMIN),
        ("GET", "/admin/counters"): ("/admin/counters", PAGE_ADMIN),
        ("POST", "/admin/counters"): ("/admin/counters", PAGE_ADMIN),
        ("GET", "/admin/counters/new"): ("/admin/counters/new", PAGE_ADMIN),
        ("GET", "/admin/counters/<int:number>"): ("/admin/counters/1", PAGE_ADMIN),
        ("POST", "/admin/counters/<int:number>"): ("/admin/counters/1", PAGE_ADMIN),
        ("GET", "/admin/priorities"): ("/admin/priorities", PAGE_ADMIN),
        ("POST", "/admin/priorities"): ("/admin/priorities", PAGE_ADMIN),
        ("GET", "/admin/days"): ("/admin/days", PAGE_ADMIN),
        ("POST", "/admin/days"): ("/admin/days", PAGE_ADMIN),
        ("GET", "/admin/templates"): ("/admin/templates", PAGE_ADMIN),
        ("POST", "/admin/templates"): ("/admin/templates", PAGE_ADMIN),
        ("GET", "/admin/users"): ("/admin/users", PAGE_ADMIN),
        ("POST", "/admin/users"): ("/admin/users", PAGE_ADMIN),
        ("GET", "/admin/users/new"): ("/admin/users/new", PAGE_ADMIN),
        ("GET", "/admin/users/<username>"): ("/admin/users/tamthoi", PAGE_ADMIN),
        ("POST", "/admin/users/<username>"): ("/admin/users/tamthoi", PAGE_ADMIN),
        ("POST", "/admin/users/<username>/password"): ("/admin/users/tamthoi/password", PAGE_ADMIN),
        ("POST", "/admin/users/<username>/active"): ("/admin/users/tamthoi/active", PAGE_ADMIN),
        ("GET", "/admin/devices"): ("/admin/devices", PAGE_ADMIN),
        ("POST", "/admin/devices"): ("/admin/devices", PAGE_ADMIN),
        ("POST", "/admin/devices/<name>/revoke"): ("/admin/devices/spare/revoke", PAGE_ADMIN),
        ("POST", "/admin/devices/<name>/rotate"): ("/admin/devices/spare/rotate", PAGE_ADMIN),
    }
    return {k: Row(url, who) for k, (url, who) in p.items()}


MY_PAGES = ("login.", "staff.", "supervisor.", "admin.", "admin_people.")


def test_every_staff_page_checks_the_role(app, ctx, actors):
    ctx.limits["login"] = RateLimiter(limit=1000, per_seconds=300)  # many sign-ins here
    now = ctx.now()
    accounts.add_user(ctx.db, "tamthoi", "staff", PASSWORD, now, counters=[3])
    accounts.add_device(ctx.db, "spare", "display", now)
    clients = {}
    for role, username in (
        ("staff_elsewhere", "staff2"),
        ("staff_1", "staff1"),
        ("supervisor", "boss"),
        ("admin", "root"),
    ):
        clients[role] = signed_in(app, username)
    for role, token in (("kiosk", actors.kiosk), ("display", actors.board)):
        c = app.test_client()
        page = "kiosk" if role == "kiosk" else "board"
        assert c.get(f"/{page}/pair?token={token}").status_code == 303
        clients[role] = (c, "")
    clients["anonymous"] = (app.test_client(), "")
    table = page_table()
    mine = sorted(
        (m, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(MY_PAGES)
        for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )
    problems = []
    for key in mine:
        row = table.get(key)
        if row is None:
            problems.append(f"{key[0]} {key[1]}: not in the page table of {__name__}")
            continue
        for role in ROLES:
            c, csrf = clients[role]
            if key == ("POST", "/logout"):
                c, csrf = signed_in(app, "staff1") if csrf else (app.test_client(), "")
            r = c.open(row.url, method=key[0], data={"csrf": csrf} if key[0] == "POST" else None)
            want = row.who[role]
            if want == "login":
                ok = r.status_code == 302 and r.headers["Location"].startswith("/login")
            elif want == OK:
                ok = (
                    r.status_code < 500
                    and r.status_code != 403
                    and not (r.status_code == 302 and r.headers["Location"].startswith("/login"))
                )
            else:
                ok = r.status_code == want
            if not ok:
                problems.append(f"{key[0]} {row.url} as {role}: got {r.status_code}, want {want}")
    assert not problems, "\n".join(problems)
    # the throwaway targets above were not harmed by anyone but an admin
    assert sorted(set(table) - set(mine)) == []


# --- CSRF on cookie-authenticated writes ------------------------------------------------------
def test_cookie_api_writes_need_the_csrf_header(app, actors, issue):
    issue("DD")
    c, csrf = signed_in(app, "staff1")
    r = c.post("/api/v1/counters/1/next")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    r = c.post("/api/v1/counters/1/next", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert c.post("/api/v1/counters/1/next", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert c.get("/api/v1/counters/1/queue").status_code == 200  # reads need no token


@pytest.mark.parametrize(
    "path",
    [
        "/admin/services/DD",
        "/admin/users",
        "/admin/devices",
        "/admin/days",
        "/account/tokens",
        "/account/password",
    ],
)
def test_forms_without_csrf_are_refused_with_a_readable_page(app, actors, path):
    c, _ = signed_in(app, "root")
    r = c.post(path, data={"name": "kiosk-9", "kind": "kiosk", "label": "x"})
    assert r.status_code == 403
    assert "Biểu mẫu đã hết hạn" in r.get_data(as_text=True)


# --- Socket.IO namespaces ---------------------------------------------------------------------
def test_socket_namespaces_check_who_connects(app, actors, socketio):
    def connects(ns, token):
        c = socketio.test_client(app, namespace=ns, auth={"token": token} if token else None)
        ok = c.is_connected(ns)
        if ok:
            c.disconnect(namespace=ns)
        return ok

    # devices cannot act as staff: no kiosk or board on the counter namespace
    assert not connects(NS_COUNTER, None)
    assert not connects(NS_COUNTER, actors.kiosk)
    assert not connects(NS_COUNTER, actors.board)
    assert connects(NS_COUNTER, actors.staff[1])
    assert not connects(NS_KIOSK, actors.staff[1])
    assert not connects(NS_DISPLAY, actors.kiosk)
    assert connects(NS_DISPLAY, actors.supervisor)
    staff2 = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": actors.staff[2]})
    ack = staff2.emit("join", {"counter": 1}, namespace=NS_COUNTER, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


def test_login_does_not_work_for_devices(app, actors):
    c = app.test_client()
    assert c.get(f"/kiosk/pair?token={actors.kiosk}").status_code == 303
    assert c.get("/staff").status_code == 302
    assert login(c, "kiosk-1", actors.kiosk).status_code == 401
