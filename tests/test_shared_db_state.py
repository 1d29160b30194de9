"""What several processes share through the database alone (no Redis needed): two apps
(two `create_app`, as two server processes build them) on one data folder.  Failed
sign-ins that block an address on one block it on the other, and a session signed out
on one is over on the other — the next request may land on either."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from server import accounts
from server.app import create_app
from tests.staff_fixtures import PASSWORD, csrf_of, fast_hashes, signed_in, text

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]

GUESSER = "203.0.113.7"


@pytest.fixture
def two_apps(cfg, clock, tmp_path) -> Iterator[tuple[Flask, Flask]]:
    apps = [create_app(cfg, tmp_path / "data", clock=clock, testing=True) for _ in range(2)]
    ctx = apps[0].extensions["motcua"]
    accounts.add_user(ctx.db, "canbo1", "staff", PASSWORD, ctx.now(), counters=[1])
    yield apps[0], apps[1]
    for a in apps:
        a.extensions["motcua"].close()


def _attempt(app: Flask, password: str):
    client = app.test_client()
    return client.post(
        "/login",
        data={"username": "canbo1", "password": password, "csrf": csrf_of(client)},
        environ_base={"REMOTE_ADDR": GUESSER},
    )


def test_failed_sign_ins_on_one_process_block_the_address_on_the_other(two_apps) -> None:
    a, b = two_apps
    statuses = [_attempt(a if i % 2 else b, "wrong-guess").status_code for i in range(5)]
    assert statuses == [401] * 5
    r = _attempt(b, PASSWORD)
    assert r.status_code == 429
    assert "Quá nhiều lần đăng nhập sai từ máy này" in text(r)
    assert _attempt(a, PASSWORD).status_code == 429


def test_a_session_signed_out_on_one_process_is_over_on_the_other(two_apps) -> None:
    a, b = two_apps
    on_a, csrf = signed_in(a, "canbo1")
    cookie = on_a.get_cookie("session")
    assert cookie is not None
    on_b = b.test_client()
    on_b.set_cookie("session", cookie.value)
    assert on_b.get("/account/password").status_code == 200  # the same session, on B
    assert on_a.post("/logout", data={"csrf": csrf}).status_code in (302, 303)
    r = on_b.get("/account/password")
    assert r.status_code in (302, 303) and "/login" in r.headers["Location"]
