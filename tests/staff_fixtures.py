"""Helpers for the staff-area tests: signing in through the real login form, reading
a page's CSRF token, and the Socket.IO client of a signed-in browser."""

from __future__ import annotations

import functools
import re

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from server import accounts, logins

PASSWORD = "password123"
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheap password hashes for these tests (scrypt costs ~0.1 s a hash, and the
    fixtures create seven accounts per test); checking still runs the real code."""
    cheap = functools.partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr(accounts, "generate_password_hash", cheap)
    monkeypatch.setattr(logins, "generate_password_hash", cheap)


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = _CSRF.search(html)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD, **fields: str):
    """Post the real login form (with the page's CSRF token, like a browser)."""
    token = csrf_of(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf": token, **fields}
    )


def signed_in(app, username: str, password: str = PASSWORD) -> tuple[FlaskClient, str]:
    """A new browser signed in as `username`, and its session's CSRF token."""
    client = app.test_client()
    r = login(client, username, password)
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    return client, csrf_of(client, "/account/password")


def form(client: FlaskClient, path: str, csrf: str, **data):
    return client.post(path, data={"csrf": csrf, **data})


def text(resp) -> str:
    return resp.get_data(as_text=True)
