"""Failed sign-ins block the guessing address, not the account: the owner at another
computer always gets in, an unknown name is answered exactly like a known one, the
block doubles up to 15 minutes, lives in the database, and `motcua user unlock` lifts
it.  Also: where a sign-in may lead afterwards (never to another site)."""

from __future__ import annotations

import re
import threading

import pytest
from click.testing import CliRunner

from server import accounts, logins
from server.app import create_app
from server.cli import main
from server.store import accounts as account_store
from tests.conftest import ROOT
from tests.staff_fixtures import PASSWORD, csrf_of, fast_hashes, login, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]

GUESSER = "203.0.113.7"
OWNER = "198.51.100.20"


@pytest.fixture
def people(ctx):
    now = ctx.now()
    accounts.add_user(ctx.db, "canbo1", "staff", PASSWORD, now, counters=[1])
    accounts.add_user(ctx.db, "giamsat", "supervisor", PASSWORD, now)
    accounts.add_user(ctx.db, "quantri", "admin", PASSWORD, now)


def attempt(app, username: str, password: str, address: str, **fields: str):
    """One sign-in from `address`, in a fresh browser (with the form's CSRF token)."""
    client = app.test_client()
    token = csrf_of(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, **fields},
        environ_base={"REMOTE_ADDR": address},
    )


def answer(resp, username: str) -> tuple[int, str, str | None]:
    """What a visitor sees, with the name typed in taken out."""
    body = re.sub(r'value="[^"]*"', "", text(resp)).replace(username, "NAME")
    message = re.search(r'role="alert">([^<]*)<', body)
    return resp.status_code, message.group(1) if message else "", resp.headers.get("Retry-After")


def test_a_guesser_blocks_only_itself(app, people):
    for _ in range(5):
        assert attempt(app, "canbo1", "wrong-guess", GUESSER).status_code == 401
    r = attempt(app, "canbo1", PASSWORD, GUESSER)
    assert r.status_code == 429 and "Quá nhiều lần đăng nhập sai từ máy này" in text(r)
    assert "1 phút" in text(r) and r.headers["Retry-After"] == "60"
    # The owner, from the computer at their counter, is not locked out (it was: 403 for 15 min).
    assert attempt(app, "canbo1", PASSWORD, OWNER).status_code == 303


def test_one_address_cannot_keep_accounts_locked_for_others(app, ctx, people):
    for name in ("canbo1", "giamsat", "quantri"):
        for _ in range(6):
            attempt(app, name, "wrong-guess", GUESSER)
    for name in ("canbo1", "giamsat", "quantri"):
        assert attempt(app, name, PASSWORD, OWNER).status_code == 303
        assert attempt(app, name, PASSWORD, GUESSER).status_code == 429
    with ctx.db.connection() as conn:
        actions = [r["action"] for r in account_store.audit(conn)]
    assert actions.count("login_blocked") == 3  # once per block, not once per refused try


def test_unknown_names_are_answered_like_known_ones(app, people, monkeypatch):
    checked = []
    real = accounts.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    known = [answer(attempt(app, "canbo1", "wrong", "192.0.2.1"), "canbo1") for _ in range(7)]
    hashes_known = len(checked)
    unknown = [answer(attempt(app, "khongco", "wrong", "192.0.2.2"), "khongco") for _ in range(7)]
    assert known == unknown
    assert [k[0] for k in known] == [401] * 5 + [429] * 2
    assert known[0][1] == "Sai tên đăng nhập hoặc mật khẩu."
    # The same password check runs for an unknown name (against a dummy hash), so the
    # answer takes as long: one hash per attempt that is not blocked, for both.
    assert hashes_known == 5 and len(checked) == 10
    assert checked[-1] == logins._DUMMY["password_hash"]


def test_the_block_doubles_with_each_failure_up_to_fifteen_minutes(app, people, clock):
    for _ in range(5):
        attempt(app, "canbo1", "wrong", GUESSER)
    waits = []
    for _ in range(6):
        waits.append(int(attempt(app, "canbo1", "wrong", GUESSER).headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
        assert attempt(app, "canbo1", "wrong", GUESSER).status_code == 401  # one more try
    assert waits == [60, 120, 240, 480, 900, 900]
    clock.advance(hours=24, seconds=1)  # a day without failures: the count starts again
    assert [attempt(app, "canbo1", "wrong", GUESSER).status_code for _ in range(5)] == [401] * 5


def test_a_right_password_clears_the_count(app, people):
    for _ in range(4):
        attempt(app, "canbo1", "wrong", GUESSER)
    assert attempt(app, "canbo1", PASSWORD, GUESSER).status_code == 303
    assert [attempt(app, "canbo1", "wrong", GUESSER).status_code for _ in range(5)] == [401] * 5


def test_an_address_guessing_many_names_is_blocked_for_all(app, people):
    statuses = [
        attempt(app, f"ten{i}", "wrong", GUESSER).status_code
        for i in range(logins.ADDRESS_FREE_FAILURES + 1)
    ]
    assert statuses == [401] * logins.ADDRESS_FREE_FAILURES + [429]
    assert attempt(app, "giamsat", PASSWORD, GUESSER).status_code == 429
    assert attempt(app, "giamsat", PASSWORD, OWNER).status_code == 303


def test_the_block_is_kept_in_the_database_for_every_process(app, ctx, people, cfg, clock):
    for _ in range(5):
        attempt(app, "canbo1", "wrong", GUESSER)
    other = create_app(cfg, ctx.data_dir, clock=clock, testing=True)  # a second worker
    try:
        assert attempt(other, "canbo1", PASSWORD, GUESSER).status_code == 429
    finally:
        other.extensions["motcua"].close()


def test_user_unlock_lifts_the_block(app, ctx, people):
    for _ in range(5):
        attempt(app, "canbo1", "wrong", GUESSER)
    assert attempt(app, "canbo1", PASSWORD, GUESSER).status_code == 429
    args = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(ctx.data_dir)]
    r = CliRunner().invoke(main, ["user", "unlock", "canbo1", *args])
    assert r.exit_code == 0, r.output
    assert "unlocked canbo1" in r.stderr and r.stdout == ""
    assert attempt(app, "canbo1", PASSWORD, GUESSER).status_code == 303
    r = CliRunner().invoke(main, ["user", "unlock", "khongco", *args])
    assert r.exit_code != 0 and "Không có tài khoản khongco" in r.output


# --- where a sign-in leads ----------------------------------------------------------------------
HOSTILE_NEXT = [
    "/\t/evil.example/p",
    "/\n/evil.example/p",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    "/ /evil.example",
    "//evil.example/p",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "evil.example/p",
    "/\u3000/evil.example",
    "/\uff0f/evil.example",
    "/%09/evil.example/x\x7f",
    " //evil.example",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leads_off_site(app, people, target):
    r = attempt(app, "canbo1", PASSWORD, OWNER, next=target)
    assert r.status_code == 303 and r.headers["Location"] == "/staff"
    client = app.test_client()
    assert login(client, "canbo1").status_code == 303
    r = client.get("/login", query_string={"next": target})  # already signed in
    assert r.status_code == 302 and r.headers["Location"] == "/staff"


def test_the_reported_open_redirect_is_closed(app, people):
    client = app.test_client()
    assert login(client, "canbo1").status_code == 303
    r = client.get("/login?next=/%09/evil.example/p")
    assert r.status_code == 302 and r.headers["Location"] == "/staff"


@pytest.mark.parametrize("target", ["/staff/1", "/supervisor?tab=hall", "/admin/users/canbo1"])
def test_next_keeps_paths_of_this_site(app, people, target):
    client = app.test_client()
    r = login(client, "quantri", next=target)
    assert r.status_code == 303 and r.headers["Location"] == target
    assert client.get("/login", query_string={"next": target}).headers["Location"] == target


# --- password checks off the event loop, a bounded number at once -------------------------------
def test_the_password_check_runs_in_the_servers_thread_pool(app, ctx, people):
    ran: list[str] = []

    def offload(work):
        ran.append(threading.current_thread().name)
        return work()

    ctx.db.offload = offload  # what `motcua serve` sets to gevent's thread pool
    assert attempt(app, "canbo1", "wrong", GUESSER).status_code == 401
    hashes = len(ran)
    assert attempt(app, "khongco", "wrong", GUESSER).status_code == 401
    assert hashes >= 1 and len(ran) == 2 * hashes  # a check each, unknown names too


def test_only_a_few_sign_ins_are_checked_at_once(app, ctx, people):
    gate = threading.Event()
    held: set[threading.Thread] = set()
    real_offload = ctx.db.offload

    def offload(work):
        if threading.current_thread() in held:
            assert gate.wait(10)
        return work() if real_offload is None else real_offload(work)

    ctx.db.offload = offload
    results: list[int] = []

    def hold(address: str) -> threading.Thread:
        th = threading.Thread(
            target=lambda: results.append(attempt(app, "canbo1", "wrong", address).status_code)
        )
        held.add(th)
        th.start()
        return th

    def in_flight() -> int:
        return logins._in_flight._total

    threads = [hold(GUESSER), hold(GUESSER)]
    for _ in range(1000):  # bounded: until both are being checked
        if in_flight() == 2:
            break
        threading.Event().wait(0.005)
    r = attempt(app, "canbo1", PASSWORD, GUESSER)
    assert r.status_code == 429 and r.headers["Retry-After"] == "5"
    assert "Máy chủ đang kiểm tra nhiều lần đăng nhập" in text(r)
    threads += [hold("192.0.2.1"), hold("192.0.2.2")]
    for _ in range(1000):
        if in_flight() == logins.MAX_HASHING:
            break
        threading.Event().wait(0.005)
    assert attempt(app, "giamsat", PASSWORD, OWNER).status_code == 429  # all four busy
    gate.set()
    for th in threads:
        th.join(10)
    assert sorted(results) == [401] * 4 and in_flight() == 0
    assert attempt(app, "canbo1", PASSWORD, OWNER).status_code == 303
