"""Socket.IO takes browsers' connections only from the server's own pages: the host
asked for, `center.public_url` and `security.allowed_origins`.  Another site's page
cannot open a socket with a staff member's cookie; clients that send no Origin (the
kiosk agent, the pygame board) connect as before."""

from __future__ import annotations

import dataclasses
import re

import pytest

from server.app import create_app
from server.config import ConfigError
from server.protocol import NS_KIOSK

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def handshake(client, origin: str | None, **headers: str):
    if origin is not None:
        headers["Origin"] = origin
    return client.get(HANDSHAKE, headers=headers)


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://evil.example",
        "http://localhost.evil.example",
        "http://evil.example:5000",
        "null",
        "http://localhost:5001",
    ],
)
def test_a_foreign_origin_is_refused(client, origin):
    r = handshake(client, origin)
    assert r.status_code == 400 and "Not an accepted origin" in r.get_data(as_text=True)


@pytest.mark.parametrize("origin", [None, "http://localhost", "https://localhost"])
def test_same_origin_and_no_origin_connect(client, origin):
    r = handshake(client, origin)
    assert r.status_code == 200 and r.get_data(as_text=True).startswith("0{")


def test_the_host_asked_for_is_same_origin(client):
    r = handshake(client, "http://10.0.0.5:8080", Host="10.0.0.5:8080")
    assert r.status_code == 200
    assert handshake(client, "http://10.0.0.5:8080", Host="10.0.0.6:8080").status_code == 400


def test_public_url_and_configured_origins_are_accepted(cfg, clock, tmp_path):
    configured = dataclasses.replace(
        cfg,
        public_url="https://motcua.example.gov.vn",
        extra={
            **cfg.extra,
            "security": {"allowed_origins": ["https://Tra-Cuu.example.gov.vn/", "http://tv:81"]},
        },
    )
    app = create_app(configured, tmp_path / "d", clock=clock, testing=True)
    try:
        c = app.test_client()
        for origin in (
            "https://motcua.example.gov.vn",
            "https://tra-cuu.example.gov.vn",
            "http://tv:81",
        ):
            assert handshake(c, origin).status_code == 200, origin
        assert handshake(c, "http://tv:82").status_code == 400
    finally:
        app.extensions["motcua"].close()


def test_forwarded_host_counts_only_behind_trusted_proxies(cfg, clock, tmp_path):
    def status(trusted: int) -> int:
        config = dataclasses.replace(
            cfg, extra={**cfg.extra, "security": {"trusted_proxies": trusted}}
        )
        app = create_app(config, tmp_path / f"p{trusted}", clock=clock, testing=True)
        try:
            r = handshake(
                app.test_client(),
                "https://center.example",
                **{"X-Forwarded-Host": "center.example", "X-Forwarded-Proto": "https"},
            )
            return r.status_code
        finally:
            app.extensions["motcua"].close()

    assert status(0) == 400 and status(1) == 200


@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ("https://a.example", "security.allowed_origins: expected a list of origins"),
        (["a.example"], "security.allowed_origins[0]: expected an origin such as"),
        (["https://a.example/path"], "security.allowed_origins[0]: expected an origin"),
        (["ftp://a.example"], "security.allowed_origins[0]: expected an origin"),
        (["https://ok.example", 5], "security.allowed_origins[1]: expected an origin"),
        (["https://a.example:99999"], "security.allowed_origins[0]: expected an origin"),
        (["https://x.example"] * 51, "security.allowed_origins: at most 50 origins"),
    ],
)
def test_allowed_origins_are_validated_naming_the_key(cfg, clock, tmp_path, origins, message):
    bad = dataclasses.replace(cfg, extra={**cfg.extra, "security": {"allowed_origins": origins}})
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app(bad, tmp_path / "bad", clock=clock, testing=True)


def test_real_socketio_clients_connect_and_foreign_pages_do_not(live_server):
    """python-socketio (the kiosk agent's and the board's client) over a real server:
    its WebSocket sends an Origin naming the host it dials, which is the server's own."""
    import socketio as sio_lib

    token = live_server.device("kiosk-9", "kiosk")
    agent = sio_lib.Client(reconnection=False)
    agent.connect(live_server.url, namespaces=[NS_KIOSK], auth={"token": token}, wait_timeout=10)
    try:
        assert agent.connected and agent.transport() == "websocket"
    finally:
        agent.disconnect()
    page = sio_lib.Client(reconnection=False)
    with pytest.raises(sio_lib.exceptions.ConnectionError):
        page.connect(
            live_server.url,
            namespaces=[NS_KIOSK],
            auth={"token": token},
            headers={"Origin": "http://evil.example"},
            wait_timeout=10,
        )
    assert not page.connected
