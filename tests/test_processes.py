"""Several server processes: two real `motcua serve` on two loopback ports, one data
folder (SQLite is safe across processes: WAL, writes under BEGIN IMMEDIATE) and one
Redis as Flask-SocketIO's message queue.  A call made through one process reaches the
boards connected to the other, in `seq` order, and `resync` works on either.

The tests needing Redis read MOTCUA_TEST_REDIS_URL (CI sets it and fails when Redis is
unreachable); without it they are skipped, and the one-process default is tested alone.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio as sio_lib
import yaml
from flask_socketio import SocketIO
from socketio.pubsub_manager import PubSubManager

from benchmarks import _server
from server import config as config_mod
from server.protocol import (
    EV_CALL,
    EV_ERROR,
    EV_PRINT,
    EV_SNAPSHOT,
    EV_SOUND_TEST,
    NS_DISPLAY,
    NS_KIOSK,
)

REDIS = os.environ.get("MOTCUA_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS, reason="MOTCUA_TEST_REDIS_URL is not set")


def realtime_section() -> dict[str, Any]:
    """A channel of this test's own: two test runs sharing one Redis never meet."""
    return {"realtime": {"message_queue": REDIS, "channel": f"test-{secrets.token_hex(6)}"}}


class Pair:
    """Process A and process B: one config, one data folder, two ports."""

    def __init__(self) -> None:
        self.a = _server.Server(counters=2, every_service=True, extra=realtime_section())
        self.b = _server.Server(counters=2, every_service=True)
        self.b.config, self.b.data = self.a.config, self.a.data  # the same center
        self.kiosk = self.a.device("kiosk-1", "kiosk")
        self.board = self.a.device("board-1", "display")
        self.boss = self.a.user_token("boss")

    def issue(self, srv: _server.Server, service: str = "DD") -> dict[str, Any]:
        status, body = srv.request("POST", "/api/v1/tickets", {"service": service}, self.kiosk)
        assert status == 201, body
        return body

    def call(self, srv: _server.Server, counter: int) -> dict[str, Any]:
        status, body = srv.request("POST", f"/api/v1/counters/{counter}/next", {}, self.boss)
        assert status == 200, body
        return body["call"]

    def stop(self) -> None:
        self.b.stop()
        self.a.cleanup()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_server, "NICE", 0)
        p = Pair()
        try:
            p.a.start()
            p.b.start()
            yield p
        finally:
            p.stop()


def board(srv: _server.Server, token: str) -> sio_lib.SimpleClient:
    client = sio_lib.SimpleClient()
    client.connect(
        f"http://{_server.HOST}:{srv.port}",
        namespace=NS_DISPLAY,
        transports=["websocket"],
        auth={"token": token},
    )
    return client


def calls_seen(client: sio_lib.SimpleClient, n: int, timeout: float = 10.0) -> list[dict]:
    """The next `n` calls this board receives (other events are passed over)."""
    got: list[dict] = []
    while len(got) < n:
        event, *args = client.receive(timeout=timeout)
        if event == EV_CALL:
            got.append(args[0])
    return got


@needs_redis
def test_a_call_through_one_process_reaches_a_board_on_the_other(pair: Pair) -> None:
    with board(pair.b, pair.board) as on_b:
        event, snap = on_b.receive(timeout=10)
        assert event == EV_SNAPSHOT
        for _ in range(6):
            pair.issue(pair.a)
        # Counters 1 and 2 call through A and B in turn, A last: one stream, one order,
        # and the last calls reach B's board with nothing done through B after them.
        route = [(pair.a, 1), (pair.b, 2), (pair.a, 1), (pair.b, 2), (pair.a, 1), (pair.a, 2)]
        made = [pair.call(srv, counter) for srv, counter in route]
        seen = calls_seen(on_b, 6)
    seqs = [c["seq"] for c in made]
    assert seqs == list(range(snap["seq"] + 1, snap["seq"] + 7))  # global, gap-free
    assert [(c["seq"], c["label"], c["counter"]) for c in seen] == [
        (c["seq"], c["label"], c["counter"]) for c in made
    ]
    # Each call names the one before it on the board's stream: nothing missed between.
    assert [c["prev_seq"] for c in seen] == [snap["seq"], *seqs[:-1]]


@needs_redis
def test_resync_against_the_other_process_replays_the_missed_calls(pair: Pair) -> None:
    for _ in range(3):
        pair.issue(pair.b)
    made = [pair.call(pair.b, 2) for _ in range(3)]
    # A board that knew calls up to before these reconnects to process A and asks.
    with board(pair.a, pair.board) as on_a:
        event, snap = on_a.receive(timeout=10)
        assert event == EV_SNAPSHOT and snap["seq"] == made[-1]["seq"]
        on_a.emit("resync", {"after": made[0]["seq"] - 1})
        replayed = calls_seen(on_a, 3)
    assert [c["seq"] for c in replayed] == [c["seq"] for c in made]
    assert [c["label"] for c in replayed] == [c["label"] for c in made]


@needs_redis
def test_every_process_uses_the_queue(pair: Pair) -> None:
    """Both processes read the same config: the second one joined A's channel (a board
    on A gets B's calls too)."""
    with board(pair.a, pair.board) as on_a:
        assert on_a.receive(timeout=10)[0] == EV_SNAPSHOT
        pair.issue(pair.b)
        made = pair.call(pair.b, 1)
        [seen] = calls_seen(on_a, 1)
    assert (seen["seq"], seen["label"]) == (made["seq"], made["label"])


def agent(srv: _server.Server, token: str) -> sio_lib.SimpleClient:
    """A kiosk's printing agent (the kiosk/ agent's own connection, without a printer)."""
    client = sio_lib.SimpleClient()
    client.connect(
        f"http://{_server.HOST}:{srv.port}",
        namespace=NS_KIOSK,
        transports=["websocket"],
        auth={"token": token, "agent": True},
    )
    return client


def next_event(client: sio_lib.SimpleClient, name: str, timeout: float = 10.0) -> Any:
    while True:
        event, *args = client.receive(timeout=timeout)
        if event == name:
            return args[0] if args else None


def jobs_until(client: sio_lib.SimpleClient, ticket_id: int) -> list[int]:
    """The tickets of the print jobs an agent gets, up to `ticket_id`'s (a new agent
    first gets the day's tickets whose printing nobody confirmed)."""
    got: list[int] = []
    while not got or got[-1] != ticket_id:
        got.append(next_event(client, EV_PRINT)["job"]["ticket_id"])
    return got


@needs_redis
def test_a_ticket_issued_through_one_process_prints_on_an_agent_of_the_other(pair: Pair) -> None:
    with agent(pair.b, pair.kiosk) as on_b:
        ticket = pair.issue(pair.a)
        # The page is told at once that a printer has it: the agent is known on A too.
        assert ticket["print"]["agent"] is True and ticket["print"]["status"] == "sent"
        assert jobs_until(on_b, ticket["id"])[-1] == ticket["id"]
        status, body = pair.a.request("GET", "/api/v1/devices/status", token=pair.boss)
        assert status == 200
        [kiosk] = [d for d in body["devices"] if d["name"] == "kiosk-1"]
        assert kiosk["agent_connected"] is True
        # A second agent on A replaces the one on B: a job is never handed to two printers.
        with agent(pair.a, pair.kiosk) as on_a:
            error = next_event(on_b, EV_ERROR)
            assert error["error"]["code"] == "replaced"
            second = pair.issue(pair.b)
            # The new agent gets the job nobody confirmed printing, then the new one.
            printed = jobs_until(on_a, second["id"])
            assert ticket["id"] in printed[:-1]


def device_on(srv: _server.Server, token: str, name: str) -> dict[str, Any]:
    status, body = srv.request("GET", "/api/v1/devices/status", token=token)
    assert status == 200
    [device] = [d for d in body["devices"] if d["name"] == name]
    return device


def connected_on(srv: _server.Server, token: str, name: str) -> bool:
    return bool(device_on(srv, token, name)["connected"])


@needs_redis
def test_a_board_connected_to_one_process_shows_connected_on_the_other(pair: Pair) -> None:
    """Supervisors' device list counts every process's connections (each publishes its
    own every few seconds)."""
    with board(pair.b, pair.board) as on_b:
        assert on_b.receive(timeout=10)[0] == EV_SNAPSHOT
        deadline = time.monotonic() + 10
        while not connected_on(pair.a, pair.boss, "board-1"):
            assert time.monotonic() < deadline, "board on B never shown connected on A"
            time.sleep(0.2)
        # So a supervisor on A can make it play a test sound.
        board_id = device_on(pair.a, pair.boss, "board-1")["id"]
        status, body = pair.a.request(
            "POST", f"/api/v1/devices/{board_id}/sound-test", {}, token=pair.boss
        )
        assert status == 200, body
        assert next_event(on_b, EV_SOUND_TEST)["id"] == body["test"]["id"]
    deadline = time.monotonic() + 15
    while connected_on(pair.a, pair.boss, "board-1"):
        assert time.monotonic() < deadline, "board gone from B still shown connected on A"
        time.sleep(0.2)


# --- one process, nothing configured -------------------------------------------------------


def test_nothing_configured_means_one_process_in_memory(app, ctx) -> None:
    assert ctx.cfg.message_queue is None
    assert ctx.realtime.shared is False
    sio: SocketIO = app.extensions["motcua.socketio"]
    assert not isinstance(sio.server.manager, PubSubManager)


def test_a_call_reaches_a_board_with_no_queue(socketio, app, client, actors, issue) -> None:
    """The default, in process: the board hears the call, with its seq."""
    board_client = socketio.test_client(app, namespace=NS_DISPLAY, auth={"token": actors.board})
    board_client.get_received(NS_DISPLAY)
    issue("DD")
    status = client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1])).status_code
    assert status == 200
    calls = [m["args"][0] for m in board_client.get_received(NS_DISPLAY) if m["name"] == EV_CALL]
    assert [c["seq"] for c in calls] == [1]


def _parse(section: dict[str, Any], env: dict[str, str] | None = None) -> config_mod.Config:
    raw = yaml.safe_load((_server.ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["realtime"] = section
    return config_mod.parse(raw, env or {})


def test_the_message_queue_is_read_from_config_or_the_environment() -> None:
    assert _parse({}).message_queue is None
    url = "redis://127.0.0.1:6379/0"
    assert _parse({"message_queue": url}).message_queue == url
    env = {"MOTCUA_REDIS_URL": "redis://10.0.0.5:6380/2"}
    assert _parse({"message_queue": url}, env).message_queue == env["MOTCUA_REDIS_URL"]


@pytest.mark.parametrize(
    ("section", "env", "said"),
    [
        ({"message_queue": "localhost:6379"}, None, "realtime.message_queue: must be a Redis URL"),
        ({"message_queue": "amqp://mq/"}, None, "realtime.message_queue: must be a Redis URL"),
        ({"message_queue": "redis://h:99999/0"}, None, "realtime.message_queue: the port"),
        ({"message_queue": "redis://h/x"}, None, "realtime.message_queue: the database"),
        ({}, {"MOTCUA_REDIS_URL": "redis//h"}, "MOTCUA_REDIS_URL (realtime.message_queue)"),
        ({"channel": "a b"}, None, "realtime.channel:"),
    ],
)
def test_a_bad_message_queue_names_its_key(section, env, said) -> None:
    with pytest.raises(config_mod.ConfigError) as err:
        _parse(section, env)
    assert str(err.value).startswith(said)


def test_a_refused_url_never_repeats_its_password() -> None:
    with pytest.raises(config_mod.ConfigError) as err:
        _parse({"message_queue": "redis://:hunter2secret@h:0x1/0"})
    assert "hunter2secret" not in str(err.value)
