"""SMS outbox end to end: the HTTP gateway against a local test server on 127.0.0.1, a
failing gateway with retries and backoff, no duplicate when a worker dies mid-batch,
config validation, admin templates, the file gateway and the server's own worker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server import accounts
from server.app import create_app
from server.config import ConfigError
from server.notify.config import parse_sms
from server.notify.gateways import HttpGateway
from server.notify.worker import INTERRUPTED, Worker, make_worker
from server.store import catalog as catalog_store
from tests.dossier_fixtures import CODE, event, outbox, put, setup_catalog


class Gateway:
    """A provider's SMS API: answers with the next queued status (200 when none)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append(
                    {"auth": self.headers.get("Authorization"), "json": json.loads(body)}
                )
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                reply = json.dumps({"message_id": f"m{len(gateway.requests)}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def refs(self) -> list[str]:
        return [r["json"]["ref"] for r in self.requests]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.server.shutdown()
    g.server.server_close()


def sms_config(cfg, url: str, **extra):
    sms = {
        "gateway": "http",
        "backoff_seconds": 30,
        "max_attempts": 4,
        "lease_seconds": 60,
        "http": {
            "url": url,
            "headers": {"Authorization": "Bearer sms-secret"},
            "body": {"to": "{phone}", "message": "{text}", "ref": "{id}"},
            "timeout": 5,
        },
        **extra,
    }
    return replace(cfg, extra={**cfg.extra, "sms": sms})


@pytest.fixture
def sms_app(cfg, clock, tmp_path, gateway):
    app = create_app(sms_config(cfg, gateway.url), tmp_path / "data", clock=clock, testing=True)
    setup_catalog(app.extensions["motcua"].db, clock.now())
    yield app
    app.extensions["motcua"].db.close()


@pytest.fixture
def sms(sms_app):
    return sms_app.extensions["motcua"]


@pytest.fixture
def boss(sms_app, sms):
    accounts.add_user(sms.db, "boss", "supervisor", "password123", sms.now())
    token = accounts.issue_user_token(sms.db, "boss", sms.now())
    return sms_app.test_client(), {"Authorization": f"Bearer {token}"}


def worker_for(ctx) -> Worker:
    return make_worker(ctx.db, ctx.cfg, ctx.data_dir, ctx.clock)


def test_the_http_gateway_delivers_the_plain_text(sms, gateway):
    put(sms)
    assert worker_for(sms).run_once() == 1
    [req] = gateway.requests
    assert req["auth"] == "Bearer sms-secret"
    assert req["json"]["to"] == "0912345678"
    assert req["json"]["message"] == f"Ho so {CODE} da duoc tiep nhan. Ngay hen tra: 09/12/2026."
    [row] = outbox(sms)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["provider_id"] == "m1"
    assert req["json"]["ref"] == row["event_key"]
    assert worker_for(sms).run_once() == 0  # nothing left, nothing sent twice


def test_a_failing_gateway_is_retried_with_backoff(sms, gateway, clock):
    gateway.statuses = [500, 503]
    put(sms)
    w = worker_for(sms)
    assert w.run_once() == 1
    row = outbox(sms)[0]
    assert row["status"] == "queued" and row["attempts"] == 1 and "HTTP 500" in row["error"]
    assert w.run_once() == 0  # not due yet
    clock.advance(seconds=30)
    assert w.run_once() == 1
    assert outbox(sms)[0]["attempts"] == 2 and "HTTP 503" in outbox(sms)[0]["error"]
    clock.advance(seconds=59)
    assert w.run_once() == 0  # the second wait is twice as long
    clock.advance(seconds=1)
    assert w.run_once() == 1
    row = outbox(sms)[0]
    assert row["status"] == "sent" and row["attempts"] == 3 and row["error"] is None
    assert len(gateway.requests) == 3 and len(set(gateway.refs())) == 1


def test_permanent_errors_and_exhausted_retries_fail_visibly(sms, gateway, clock, boss):
    gateway.statuses = [400, 500, 500, 500, 500]
    put(sms)
    put(sms, "STP-2")
    w = worker_for(sms)
    w.run_once()
    first, second = outbox(sms)
    assert first["status"] == "failed" and "HTTP 400" in first["error"]
    for _ in range(3):
        clock.advance(hours=1)
        w.run_once()
    second = outbox(sms)[1]
    assert second["status"] == "failed" and second["attempts"] == 4
    client, token = boss
    detail = client.get(f"/api/v1/dossiers/{CODE}/detail", headers=token).get_json()["dossier"]
    assert detail["notifications"][0]["status"] == "failed"
    r = client.post(f"/api/v1/notifications/{first['id']}/retry", headers=token)
    assert r.status_code == 200
    assert w.run_once() == 1 and outbox(sms)[0]["status"] == "sent"
    again = client.post(f"/api/v1/notifications/{first['id']}/retry", headers=token)
    assert again.status_code == 409


class Crash(Exception):
    """The worker process dies here."""


def test_a_worker_that_dies_mid_batch_never_causes_a_duplicate(sms, gateway, clock):
    for n in range(5):
        put(sms, f"STP-{n}", phone=f"091234500{n}")
    http = HttpGateway(parse_sms(sms.cfg).http)  # type: ignore[arg-type]

    class DiesDuringThirdSend:
        name, ascii_only, calls = "http", True, 0

        def send(self, message):
            self.calls += 1
            result = http.send(message)  # the message leaves the machine …
            if self.calls == 3:
                raise Crash  # … and the process dies before recording it
            return result

    a = Worker(sms.db, sms.cfg, DiesDuringThirdSend(), clock, batch=5, worker_id="A")
    with pytest.raises(Crash):
        a.run_once()
    states = [n["status"] for n in outbox(sms)]
    assert states == ["sent", "sent", "sending", "claimed", "claimed"]
    b = Worker(sms.db, sms.cfg, http, clock, worker_id="B")
    assert b.recover() == (0, 0)  # A's claims are still within their lease
    assert b.run_once() == 0
    clock.advance(seconds=61)
    assert b.recover() == (2, 1)
    assert b.run_once() == 2
    rows = outbox(sms)
    assert [n["status"] for n in rows] == ["sent", "sent", "failed", "sent", "sent"]
    assert rows[2]["error"] == INTERRUPTED
    assert len(gateway.requests) == 5 and len(set(gateway.refs())) == 5  # each SMS once


@pytest.mark.parametrize(
    ("sms_section", "key"),
    [
        ({"gateway": "smpp"}, "sms.gateway"),
        ({"gateway": "http"}, "sms.http"),
        ({"gateway": "http", "http": {"url": "ftp://x", "body": {}}}, "sms.http.url"),
        ({"gateway": "http", "http": {"url": "http://x/send"}}, "sms.http.body"),
        ({"gateway": "http", "http": {"url": "http://x/{to}", "body": "{text}"}}, "sms.http.url"),
        ({"gateway": "http", "http": {"url": "http://x", "body": {"m": "{text}"}}}, "sms.http"),
        ({"max_attempts": 0}, "sms.max_attempts"),
        ({"templates": {"late": "Xin lỗi, hồ sơ {code} trễ hẹn."}}, "sms.templates"),
        ({"retries": 3}, "sms.retries"),
    ],
)
def test_sms_config_errors_name_the_key(cfg, sms_section, key):
    with pytest.raises(ConfigError) as err:
        parse_sms(replace(cfg, extra={"sms": sms_section}))
    assert str(err.value).startswith(key), str(err.value)


def test_admin_templates_override_the_config(sms, gateway):
    with sms.db.write() as conn:
        catalog_store.set_setting(
            conn, "sms_templates", json.dumps({"received": "HS {code}: đã nhận, hẹn trả {due}."})
        )
    put(sms)
    assert outbox(sms)[0]["text_ascii"] == f"HS {CODE}: da nhan, hen tra 09/12/2026."
    with sms.db.write() as conn:  # a broken override is ignored, never blocks an event
        catalog_store.set_setting(conn, "sms_templates", json.dumps({"late": "trễ {code}"}))
    out = event(sms, type="delay", reason="chờ xác minh", new_due_at="2026-12-20")
    assert out.dossier["promised_at"]
    assert outbox(sms)[-1]["text"].endswith("Ngày hẹn trả mới: 20/12/2026.")


def test_old_events_text_nobody(sms):
    put(sms, received_at="2026-11-20T08:00:00+07:00", at="2026-11-20T08:00:00+07:00")
    assert outbox(sms) == []


def test_the_server_runs_its_own_worker_with_the_file_gateway(cfg, clock, tmp_path):
    app = create_app(cfg, tmp_path / "live", clock=clock)  # not testing: the worker starts
    context = app.extensions["motcua"]
    worker = app.extensions["motcua.notify"]
    try:
        assert worker is not None and worker.gateway.name == "file"
        setup_catalog(context.db, context.now())
        put(context)
        worker.poke()
        log = tmp_path / "live" / "sms.log"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (log.exists() and log.read_text()):
            time.sleep(0.05)
        line = json.loads(log.read_text().splitlines()[0])
        assert line["phone"] == "0912345678" and line["text"].startswith(f"Ho so {CODE}")
        deadline = time.monotonic() + 5
        while outbox(context)[0]["status"] != "sent" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert outbox(context)[0]["status"] == "sent"
    finally:
        worker.stop()
        context.db.close()
