"""The shipped load balancer: HAProxy with `deploy/haproxy.cfg` (only its ports changed,
benchmarks/_cluster.py) on a loopback port, in front of three real `motcua serve`
processes on one PostgreSQL schema and one Redis channel.  Kiosks issue through it, a
board connected through it (with the Socket.IO transports the real clients use) hears
every call made through any process in `seq` order, and a staff member's session
cookie works whichever process answers.

When it runs: tests/lb_fixtures.py (PostgreSQL, Redis and haproxy)."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio as sio_lib

from benchmarks import _cluster, _server
from server.protocol import EV_CALL, EV_SNAPSHOT, NS_DISPLAY
from tests.engines import fresh_schema
from tests.lb_fixtures import DB, REDIS, needs_cluster

PROCESSES = 3

pytestmark = needs_cluster()


class Hall:
    """The cluster and the tokens its tests use."""

    def __init__(self, cluster: _cluster.Cluster) -> None:
        self.cluster = cluster
        self.kiosk = cluster.first.device("kiosk-1", "kiosk")
        self.board = cluster.first.device("board-1", "display")
        self.boss = cluster.first.user_token("boss")

    def via(self, app: int, method: str, path: str, token: str) -> tuple[int, Any]:
        """A request through the balancer, sent to process `app` (1…) by its cookie."""
        return _server.request(
            self.cluster.port, method, path, {}, token, headers={"Cookie": f"MOTCUA_LB=app{app}"}
        )


@pytest.fixture(scope="module")
def hall() -> Iterator[Hall]:
    assert DB and REDIS
    with pytest.MonkeyPatch.context() as mp, fresh_schema() as url:
        mp.setattr(_server, "NICE", 0)
        cluster = _cluster.Cluster(PROCESSES, database_url=url, redis_url=REDIS, counters=3)
        try:
            h = Hall(cluster)
            cluster.start()
            yield h
        finally:
            cluster.cleanup()


def test_the_shipped_config_is_what_runs_with_only_its_ports_changed(hall: Hall) -> None:
    shipped = _cluster.SHIPPED.read_text(encoding="utf-8")
    ran = hall.cluster.balancer.path.read_text(encoding="utf-8")
    assert "option httpchk GET /api/v1/health" in shipped
    assert "cookie MOTCUA_LB insert indirect" in shipped
    assert "option forwardfor" in shipped
    assert "timeout tunnel" in shipped

    def kept(text: str) -> list[str]:
        return [
            line
            for line in text.splitlines()
            if line.split()[:1] not in (["bind"], ["server"], ["user"], ["group"])
        ]

    assert kept(ran) == kept(shipped)
    ports = [s.port for s in hall.cluster.servers]
    assert re.findall(r"server app\d 127\.0\.0\.1:(\d+) check cookie app\d", ran) == [
        str(p) for p in ports
    ]


def _issue_fresh(port: int, token: str) -> tuple[int, dict[str, Any], str | None]:
    """A kiosk's POST on a new connection with no cookie: (status, body, process)."""
    conn = http.client.HTTPConnection(_server.HOST, port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/v1/tickets",
            '{"service": "DD"}',
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        resp = conn.getresponse()
        body = resp.read()
        cookie = resp.getheader("Set-Cookie") or ""
        m = re.match(r"MOTCUA_LB=(app\d)", cookie)
        return resp.status, json.loads(body), (m.group(1) if m else None)
    finally:
        conn.close()


def test_kiosks_issue_through_the_balancer_on_every_process(hall: Hall) -> None:
    got = [_issue_fresh(hall.cluster.port, hall.kiosk) for _ in range(12)]
    assert [status for status, _, _ in got] == [201] * 12, got
    # no cookie yet: the balancer spreads them, and names the process that answered
    assert {app for _, _, app in got} == {f"app{i}" for i in range(1, PROCESSES + 1)}
    numbers = [body["number"] for _, body, _ in got]
    assert numbers == list(range(numbers[0], numbers[0] + 12))  # one center, one sequence
    for _, body, _ in got:
        status, ticket = hall.cluster.request("GET", f"/api/v1/tickets/{body['token']}")
        assert status == 200 and ticket["ticket"]["label"] == body["label"]


def _board(port: int, token: str, transports: list[str] | None) -> sio_lib.SimpleClient:
    client = sio_lib.SimpleClient()
    client.connect(
        f"http://{_server.HOST}:{port}",
        namespace=NS_DISPLAY,
        transports=transports,
        auth={"token": token},
        wait_timeout=10,
    )
    return client


def _calls(client: sio_lib.SimpleClient, n: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < n:
        event, *args = client.receive(timeout=15)
        if event == EV_CALL:
            got.append(args[0])
    return got


@pytest.mark.parametrize(
    "transports",
    [None, ["polling"]],
    ids=["polling-then-websocket", "polling-only"],
)
def test_a_board_through_the_balancer_hears_every_call_in_order(
    hall: Hall, transports: list[str] | None
) -> None:
    """python-socketio's default (as the pygame board and the kiosk agent connect: a
    long-poll, then the upgrade) and long-polling alone (a browser whose WebSocket is
    blocked): each request of the session reaches the process that holds it."""
    for _ in range(9):
        assert _issue_fresh(hall.cluster.port, hall.kiosk)[0] == 201
    with _board(hall.cluster.port, hall.board, transports) as board:
        event, snap = board.receive(timeout=15)
        assert event == EV_SNAPSHOT
        made = []
        for i in range(9):  # through process 1, 2, 3, 1, 2, 3 … at counters 1, 2, 3
            app, counter = i % PROCESSES + 1, i % 3 + 1
            status, body = hall.via(app, "POST", f"/api/v1/counters/{counter}/next", hall.boss)
            assert status == 200, body
            made.append(body["call"])
        seen = _calls(board, 9)
    assert [c["seq"] for c in made] == list(range(snap["seq"] + 1, snap["seq"] + 10))
    assert [(c["seq"], c["label"], c["counter"]) for c in seen] == [
        (c["seq"], c["label"], c["counter"]) for c in made
    ]
    assert [c["prev_seq"] for c in seen] == [snap["seq"], *[c["seq"] for c in made[:-1]]]


def test_a_staff_session_works_whichever_process_answers(hall: Hall) -> None:
    base = f"http://{_server.HOST}:{hall.cluster.port}"
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert form.status_code == 200 and csrf
    signed_in = browser.post(
        f"{base}/login",
        data={"username": "boss", "password": "bench-password-123", "csrf": csrf.group(1)},
        timeout=10,
    )
    assert signed_in.status_code == 200 and signed_in.url.endswith("/supervisor")
    session = {k: v for k, v in browser.cookies.items() if k != "MOTCUA_LB"}
    assert session, "no session cookie"
    for app in range(1, PROCESSES + 1):  # through the balancer, to each process in turn
        page = requests.get(
            f"{base}/supervisor",
            cookies={**session, "MOTCUA_LB": f"app{app}"},
            allow_redirects=False,
            timeout=10,
        )
        assert page.status_code == 200, (app, page.status_code, page.headers.get("Location"))
    for srv in hall.cluster.servers:  # and straight to each process, no balancer at all
        page = requests.get(
            f"http://{_server.HOST}:{srv.port}/supervisor",
            cookies=session,
            allow_redirects=False,
            timeout=10,
        )
        assert page.status_code == 200, (srv.port, page.status_code)
    # a stranger's request is still sent to the sign-in page, by every process
    for app in range(1, PROCESSES + 1):
        page = requests.get(
            f"{base}/supervisor",
            cookies={"MOTCUA_LB": f"app{app}"},
            allow_redirects=False,
            timeout=10,
        )
        assert page.status_code in (302, 303) and "/login" in page.headers["Location"]


def test_links_name_the_host_the_client_reached_never_its_forwarded_headers(
    hall: Hall,
) -> None:
    """With `security.trusted_proxies: 1` the server believes HAProxy's X-Forwarded-*
    only: HAProxy sets Host, proto and port from what it received, so a client's own
    X-Forwarded-Host/-Proto cannot put another site on a ticket's QR code."""
    conn = http.client.HTTPConnection(_server.HOST, hall.cluster.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/v1/tickets",
            '{"service": "DD"}',
            {
                "Host": f"hall.example.vn:{hall.cluster.port}",
                "Content-Type": "application/json",
                "Authorization": f"Bearer {hall.kiosk}",
                "X-Forwarded-Host": "evil.example",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Port": "444",
            },
        )
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 201, body
    assert body["tracking_url"].startswith(f"http://hall.example.vn:{hall.cluster.port}/t/")
