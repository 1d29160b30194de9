"""The link a ticket's QR code opens on a phone (issue 16.2): `center.public_url` when
set, else the address the kiosk reached the server at, "localhost" replaced by the
machine's LAN address; and the warning `serve`/`demo` print when the link would not open."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from click.testing import CliRunner

from kiosk.escpos_decode import Qr, decode
from kiosk.ticket import TicketJob, render_ticket
from server import public_url
from server.app import create_app
from server.cli import main, qr_warnings
from server.config import load
from server.protocol import NS_KIOSK
from tests.conftest import ROOT, drain
from tests.kiosk_fixtures import KioskActors, make_actors

LAN = "192.168.1.10"


@pytest.fixture(autouse=True)
def lan(monkeypatch) -> None:
    monkeypatch.setattr(public_url, "lan_ipv4", lambda: LAN)


@pytest.fixture
def kactors(ctx) -> KioskActors:
    return make_actors(ctx)


def test_the_shipped_config_leaves_public_url_unset(cfg) -> None:
    assert cfg.public_url is None
    assert "\n  public_url:" not in (ROOT / "config.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("configured", "reached", "expected"),
    [
        (None, "http://10.0.0.7:8080/", "http://10.0.0.7:8080"),
        (None, "http://localhost:5000/", f"http://{LAN}:5000"),
        (None, "http://127.0.0.1:5791/", f"http://{LAN}:5791"),
        (None, "http://[::1]:5000/", f"http://{LAN}:5000"),
        (None, "http://0.0.0.0:5000/", f"http://{LAN}:5000"),
        (None, "https://motcua.tinh.gov.vn/", "https://motcua.tinh.gov.vn"),
        (None, "http://kiosk.local:80/", "http://kiosk.local"),
        (None, "http://[fd00::5]:5000/", "http://[fd00::5]:5000"),
        (None, "http://bad<host>:5000/", f"http://{LAN}:5000"),
        (None, "http://x:notaport/", f"http://{LAN}"),
        (None, None, f"http://{LAN}"),
        ("https://motcua.example.vn/", "http://127.0.0.1:5000/", "https://motcua.example.vn"),
    ],
)
def test_public_base(configured, reached, expected) -> None:
    assert public_url.public_base(configured, reached) == expected


def test_without_a_lan_address_the_reached_address_is_kept(monkeypatch) -> None:
    monkeypatch.setattr(public_url, "lan_ipv4", lambda: None)
    assert public_url.public_base(None, "http://127.0.0.1:5000/") == "http://127.0.0.1:5000"


def test_the_lan_probe_sends_nothing_and_falls_back_cleanly(monkeypatch) -> None:
    """A UDP connect only asks the routing table; with no route at all there is no LAN
    address (and no exception)."""
    sent: list[object] = []

    class NoRoute:
        def __init__(self, *args: object) -> None:
            pass

        def __enter__(self) -> NoRoute:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def connect(self, address: object) -> None:
            raise OSError(101, "Network is unreachable")

        def send(self, data: bytes) -> None:
            sent.append(data)

    monkeypatch.setattr(socket, "socket", NoRoute)
    assert public_url._probe_lan_ipv4() is None and sent == []


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("10.0.0.7:8080", "http://10.0.0.7:8080/t/"),
        ("localhost:5000", f"http://{LAN}:5000/t/"),
        ("127.0.0.1:5791", f"http://{LAN}:5791/t/"),
        ("motcua.local", "http://motcua.local/t/"),
    ],
)
def test_the_issued_ticket_links_to_the_address_the_kiosk_reached(
    client, kactors, host, expected
) -> None:
    r = client.post(
        "/api/v1/tickets",
        json={"service": "DD"},
        headers={**kactors.h(kactors.kiosk), "Host": host},
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["tracking_url"] == expected + body["token"]


def test_a_configured_public_url_wins(cfg, clock, tmp_path) -> None:
    app = create_app(
        dataclasses.replace(cfg, public_url="https://motcua.example.vn"),
        tmp_path / "data",
        clock=clock,
        testing=True,
    )
    try:
        kiosk = make_actors(app.extensions["motcua"]).kiosk
        r = app.test_client().post(
            "/api/v1/tickets",
            json={"service": "DD"},
            headers={"Authorization": f"Bearer {kiosk}", "Host": "127.0.0.1:5000"},
        )
        assert r.get_json()["tracking_url"].startswith("https://motcua.example.vn/t/")
    finally:
        app.extensions["motcua"].close()


def _printed_qr(job: dict) -> str:
    """The link in the QR code of the ticket the agent would print, read back from bytes."""
    commands = decode(render_ticket(TicketJob.from_payload(job), 80))
    (qr,) = [c for c in commands if isinstance(c, Qr)]
    return qr.data


@pytest.mark.parametrize(
    ("agent_host", "expected"),
    [("127.0.0.1:5791", f"http://{LAN}:5791"), ("10.1.2.3:8000", "http://10.1.2.3:8000")],
)
def test_the_printed_qr_opens_where_the_agent_reached_the_server(
    socketio, app, client, kactors, agent_host, expected
) -> None:
    agent = socketio.test_client(
        app,
        namespace=NS_KIOSK,
        auth={"token": kactors.kiosk, "agent": True},
        headers={"Host": agent_host},
        flask_test_client=client,
    )
    drain(agent, NS_KIOSK)
    r = client.post(
        "/api/v1/tickets",
        json={"service": "HT"},
        headers={**kactors.h(kactors.kiosk), "Host": "localhost:5000"},
    )
    token = r.get_json()["token"]
    [job] = [p["job"] for n, p in drain(agent, NS_KIOSK) if n == "print"]
    assert _printed_qr(job) == f"{expected}/t/{token}"

    # a job re-sent when the agent reconnects carries the same link
    agent.disconnect(namespace=NS_KIOSK)
    agent = socketio.test_client(
        app,
        namespace=NS_KIOSK,
        auth={"token": kactors.kiosk, "agent": True},
        headers={"Host": agent_host},
        flask_test_client=client,
    )
    [again] = [p["job"] for n, p in drain(agent, NS_KIOSK) if n == "print"]
    assert again["tracking_url"] == f"{expected}/t/{token}"


@pytest.mark.parametrize(
    ("configured", "host", "port", "expected"),
    [
        (None, "127.0.0.1", 5000, ["listens on 127.0.0.1 only", f"http://{LAN}:5000"]),
        (None, "localhost", 5000, ["listens on localhost only"]),
        (None, "0.0.0.0", 5000, []),
        (None, "192.168.1.10", 5000, []),
        ("http://localhost:5000", "0.0.0.0", 5000, ["point at this machine itself"]),
        ("http://127.0.0.1:5000", "0.0.0.0", 5000, ["point at this machine itself"]),
        ("http://192.168.1.10:5000", "0.0.0.0", 8080, ["listens on port 8080"]),
        ("http://192.168.1.10", "0.0.0.0", 8080, ["(port 80)", "listens on port 8080"]),
        ("http://192.168.1.10:8080", "0.0.0.0", 8080, []),
    ],
)
def test_start_warnings(configured, host, port, expected) -> None:
    warnings = public_url.start_warnings(configured, host, port)
    text = " ".join(warnings)
    assert bool(warnings) == bool(expected)
    for part in expected:
        assert part in text


def test_no_port_warning_behind_a_proxy() -> None:
    assert (
        public_url.start_warnings("https://motcua.vn", "127.0.0.1", 5000, behind_proxy=True) == []
    )


def test_no_lan_address_is_said(monkeypatch) -> None:
    monkeypatch.setattr(public_url, "lan_ipv4", lambda: None)
    [warning] = public_url.start_warnings(None, "0.0.0.0", 5000)
    assert "no LAN address" in warning


def test_serve_prints_the_warning_before_starting(monkeypatch, tmp_path) -> None:
    """`motcua serve` on loopback says the QR will not open (the server itself is not
    started here: its start is replaced)."""
    started: list[tuple[str, int]] = []
    monkeypatch.setattr(
        "server.cli.serve_app", lambda cfg, data_dir, host, port, dev: started.append((host, port))
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        (ROOT / "config.yaml")
        .read_text(encoding="utf-8")
        .replace("  # public_url:", "  public_url: http://localhost:5000 #"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main,
        ["serve", "--config", str(config), "--data-dir", str(tmp_path / "d"), "--port", "5791"],
    )
    assert result.exit_code == 0, result.output
    assert started == [("127.0.0.1", 5791)]
    assert "WARNING: center.public_url is http://localhost:5000" in result.stderr
    assert "listens on port 5791" in result.stderr
    assert load(config).public_url == "http://localhost:5000"
    assert qr_warnings(load(config), "127.0.0.1", 5000)  # the loopback link alone
