"""`motcua worker`: the slow work off the request path, in real processes, on the engine
the suite runs on (tests/engines.py).  A worker killed with SIGKILL mid-import is
replaced and the file is applied exactly once; a worker killed mid-batch of SMS leaves
no message sent twice and every other one sent by the next worker; with
`workers.mode: external` a `motcua serve` sends no SMS and runs no import itself.

On PostgreSQL each worker has a data folder of its own (another host): the upload's
bytes reach it through the database, and the scratch copy is built from PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from benchmarks import _server
from server import config as config_mod
from server.app import create_app
from server.background import Background
from server.clock import iso
from server.dbconfig import open_store
from server.dossiers import jobs
from server.notify.worker import INTERRUPTED
from server.store import imports as import_store
from server.store import migrate
from server.store import notifications as outbox_store
from server.workers_config import settings as worker_settings
from tests.conftest import ROOT
from tests.dossier_fixtures import setup_catalog
from tests.engines import ON_PG
from tests.test_dossier_import import big_csv

HEADER_LINES = 1


def write_config(path: Path, **sections: Any) -> Path:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw.update(sections)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class Worker:
    """One `motcua worker` process (its log in its data folder)."""

    def __init__(self, config: Path, data: Path) -> None:
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log = data.parent / f"{data.name}.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server.cli",
                    "worker",
                    "--config",
                    str(config),
                    "--data-dir",
                    str(data),
                ],
                stdout=out,
                stderr=out,
                env=dict(os.environ),  # MOTCUA_DATABASE_URL on PostgreSQL
            )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()


def host_data(tmp_path: Path, app_data: Path, name: str) -> Path:
    """A worker's data folder: the app's own on SQLite (one machine, one file), another
    host's on PostgreSQL."""
    return tmp_path / name if ON_PG else app_data


def wait_for(what: str, check, seconds: float = 60.0, every: float = 0.02) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


# --- config ---------------------------------------------------------------------------
def test_workers_config_is_validated_naming_the_key(cfg):
    from dataclasses import replace

    def parsed(section: Any):
        return worker_settings(replace(cfg, extra={**cfg.extra, "workers": section}))

    assert parsed(None).mode == "embedded" and parsed({}).embedded
    assert parsed({"mode": "external", "lease_seconds": 5}).lease_seconds == 5.0
    bad = {
        "workers.mode: expected embedded or external": {"mode": "cluster"},
        "workers.speed: unknown key": {"speed": 1},
        "workers.lease_seconds: expected seconds 2–3600": {"lease_seconds": 0},
        "workers.poll_seconds: expected seconds": {"poll_seconds": "1"},
        "workers.warm_report_days: expected a whole number": {"warm_report_days": -1},
        "workers.warm_every_s: expected 0 (never) or 10–86400": {"warm_every_s": 5},
        "workers: expected a mapping": ["external"],
    }
    for message, section in bad.items():
        with pytest.raises(config_mod.ConfigError, match=re.escape(message)):
            parsed(section)


def test_an_idempotent_gateway_must_send_the_id(cfg):
    from dataclasses import replace

    from server.notify.config import parse_sms

    section = sms_section("http://127.0.0.1:9/send", idempotent=True)
    section["http"]["body"] = {"to": "{phone}", "message": "{text}"}
    with pytest.raises(config_mod.ConfigError, match=r"sms.http.idempotent: .* put \{id\}"):
        parse_sms(replace(cfg, extra={**cfg.extra, "sms": section}))


def test_check_config_names_a_bad_workers_key(tmp_path):
    config = write_config(tmp_path / "c.yaml", workers={"mode": "both"})
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode != 0
    assert "workers.mode: expected embedded or external, got 'both'" in out.stderr


# --- imports --------------------------------------------------------------------------
def good_csv(n: int) -> tuple[bytes, int]:
    """``big_csv`` without its bad rows; the file and its row count."""
    lines = [ln for ln in big_csv(n).decode().splitlines(keepends=True) if "BAD-" not in ln]
    return "".join(lines).encode(), len(lines) - HEADER_LINES


def job_row(db, job_id: str) -> dict[str, Any]:
    with db.read() as conn:
        found = import_store.job(conn, job_id)
    assert found is not None
    return found


def count(db, sql: str) -> int:
    with db.read() as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_a_worker_killed_mid_import_is_replaced_and_the_file_applies_once(
    cfg, clock, tmp_path, workers
):
    config = write_config(tmp_path / "worker.yaml", workers={"lease_seconds": 3})
    app = create_app(config_mod.load(config), tmp_path / "data", clock=clock, testing=True)
    ctx = app.extensions["motcua"]
    try:
        setup_catalog(ctx.db, ctx.now())
        # long enough to be killed mid-apply (PostgreSQL's batches are slower)
        raw, rows = good_csv(3_000 if ON_PG else 12_000)
        job = jobs.create(
            ctx.db,
            ctx.cfg,
            ctx.data_dir,
            "ho-so.csv",
            raw,
            actor="supervisor:boss",
            now=ctx.now(),
            policy="all-or-nothing",  # tried in the scratch copy first (built from the engine)
            dry_run=False,
            scope=None,
            notify=False,
        )
        a = Worker(config, host_data(tmp_path, ctx.data_dir, "host-a"))
        workers.append(a)
        at_kill = wait_for(
            "the first worker to apply some batches",
            lambda: (
                (j := job_row(ctx.db, job["id"]))["phase"] == "applying"
                and 0 < j["applied"] < rows
                and j
            ),
            seconds=120,
        )
        a.kill()
        killed = job_row(ctx.db, job["id"])
        assert killed["status"] == "running" and 0 < killed["applied"] < rows, a.output()
        assert killed["lease_owner"] is not None  # held by a dead worker until its lease ends
        b = Worker(config, host_data(tmp_path, ctx.data_dir, "host-b"))
        workers.append(b)
        done = wait_for(
            "the second worker to finish the job",
            lambda: (j := job_row(ctx.db, job["id"]))["status"] != "running" and j,
            seconds=300,
            every=0.2,
        )
        assert done["status"] == "done", (done, b.output())
        assert done["attempts"] == 2 and at_kill["applied"] <= killed["applied"]
        report = done["report"]
        assert report["committed"] and report["rows"] == rows
        # Every row created once: none applied twice (a second time would be "unchanged")
        assert (report["created"], report["updated"], report["unchanged"]) == (rows, 0, 0)
        assert count(ctx.db, "SELECT COUNT(*) FROM dossier") == rows
        assert count(ctx.db, "SELECT COUNT(DISTINCT code) FROM dossier") == rows
        assert count(ctx.db, "SELECT COUNT(*) FROM dossier_event") == report["events"]
        # The upload's bytes stay in the database until the next upload (the job ended).
        jobs.create(ctx.db, ctx.cfg, ctx.data_dir, "b.csv", raw[:300], **_dry(ctx))
        assert count(ctx.db, "SELECT COUNT(*) FROM import_upload") == 1
    finally:
        ctx.db.close()


def _dry(ctx) -> dict[str, Any]:
    return {
        "actor": "supervisor:boss",
        "now": ctx.now(),
        "policy": "all-or-nothing",
        "dry_run": True,
        "scope": None,
        "notify": False,
    }


# --- the report day cache -------------------------------------------------------------
def test_a_worker_groups_the_past_days_of_the_queue_report_ahead(ctx, clock, issue):
    for _ in range(3):
        issue("DD")
    clock.advance(days=2)
    work = Background(ctx.db, ctx.cfg, ctx.data_dir, ctx.clock)
    assert work.warm_reports() == 62
    with ctx.db.read() as conn:
        days = [r[0] for r in conn.execute("SELECT day FROM report_day ORDER BY day")]
    assert len(days) == 62 and "2026-11-25" in days
    assert "2026-11-27" not in days  # today is always read fresh


# --- SMS ------------------------------------------------------------------------------
class HoldingGateway:
    """A provider's SMS API that records every message it receives and holds its answer
    to the `hold_at`-th request until released (the moment a worker is killed)."""

    def __init__(self, hold_at: int) -> None:
        self.refs: list[str] = []
        self.hold_at = hold_at
        self.held = threading.Event()
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.refs.append(body["ref"])
                if len(gateway.refs) == gateway.hold_at:
                    gateway.held.set()
                    gateway.release.wait(30)
                reply = json.dumps({"message_id": f"m{len(gateway.refs)}"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:  # the worker died meanwhile
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def sms_section(url: str, idempotent: bool = False) -> dict[str, Any]:
    body = {"to": "{phone}", "message": "{text}", "ref": "{id}"}
    return {
        "gateway": "http",
        "lease_seconds": 2,
        "poll_seconds": 0.1,
        "http": {"url": url, "body": body, "idempotent": idempotent},
    }


def queue_sms(db, n: int, now) -> None:
    with db.write() as conn:
        for i in range(n):
            outbox_store.insert(
                conn,
                {
                    "kind": "received",
                    "phone": f"09123450{i:02d}",
                    "text": f"Tin nhắn {i}",
                    "text_ascii": f"Tin nhan {i}",
                    "status": "queued",
                    "next_attempt_at": iso(now),
                    "event_key": f"test:{i:02d}",
                    "created_at": iso(now),
                    "updated_at": iso(now),
                },
            )


def statuses(db) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute("SELECT event_key, status FROM notification ORDER BY event_key")
        return {r["event_key"]: r["status"] for r in rows}


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
def test_a_worker_killed_mid_batch_sends_no_sms_twice_and_the_next_sends_the_rest(
    cfg, clock, tmp_path, workers, idempotent
):
    """Plain provider: the message with the gateway when its worker died is never sent
    again (it may have left): it ends failed, every other one is sent once.  A provider
    that drops a duplicate {id} (`sms.http.idempotent`): it is sent again under the same
    id, and the provider keeps one."""
    gateway = HoldingGateway(hold_at=4)
    try:
        section = sms_section(gateway.url, idempotent)
        config = write_config(tmp_path / "worker.yaml", sms=section)
        app = create_app(config_mod.load(config), tmp_path / "data", clock=clock, testing=True)
        ctx = app.extensions["motcua"]
        try:
            queue_sms(ctx.db, 12, ctx.now() - timedelta(days=1))
            a = Worker(config, host_data(tmp_path, ctx.data_dir, "host-a"))
            workers.append(a)
            assert gateway.held.wait(60), a.output()  # the 4th message is with the gateway …
            a.kill()  # … when its worker dies, before hearing back
            gateway.release.set()
            before = statuses(ctx.db)
            assert sorted(before.values()) == ["claimed"] * 8 + ["sending"] + ["sent"] * 3
            b = Worker(config, host_data(tmp_path, ctx.data_dir, "host-b"))
            workers.append(b)
            after = wait_for(
                "the second worker to send the rest",
                lambda: (
                    (s := statuses(ctx.db))
                    and not {"queued", "claimed", "sending"} & set(s.values())
                    and s
                ),
                seconds=60,
                every=0.1,
            )
            interrupted = [k for k, v in before.items() if v == "sending"]
            with ctx.db.read() as conn:
                row = conn.execute(
                    "SELECT error FROM notification WHERE event_key = ?", interrupted
                ).fetchone()
            if idempotent:
                assert set(after.values()) == {"sent"} and row["error"] is None
                assert gateway.refs.count(interrupted[0]) == 2  # sent again, same id
                # the provider got it twice under one id and keeps one: each SMS once
                again = sorted(gateway.refs)
                again.remove(interrupted[0])
                assert again == sorted(after), gateway.refs
            else:
                assert [k for k, v in after.items() if v != "sent"] == interrupted
                assert row["error"] == INTERRUPTED  # outcome unknown: never resent by itself
                # Every message reached the gateway, none twice.
                assert sorted(gateway.refs) == sorted(after), gateway.refs
        finally:
            ctx.db.close()
    finally:
        gateway.close()


# --- external mode --------------------------------------------------------------------
def test_with_external_workers_the_server_sends_nothing_and_runs_no_import(
    tmp_path, workers, monkeypatch
):
    monkeypatch.setattr(_server, "NICE", 0)
    env = {"MOTCUA_DATABASE_URL": os.environ["MOTCUA_DATABASE_URL"]} if ON_PG else {}
    srv = _server.Server(env=env, extra={"workers": {"mode": "external", "poll_seconds": 0.1}})
    try:
        srv.start()
        boss = srv.user_token("boss")
        db = open_store(config_mod.load(srv.config), srv.data)
        migrate(db)
        try:
            setup_catalog(db, _server_now())
            queue_sms(db, 3, _server_now())
            r = requests.post(
                f"http://{_server.HOST}:{srv.port}/api/v1/dossiers/imports",
                files={"file": ("ho-so.csv", big_csv(50))},
                data={"policy": "skip-bad", "notify": "0"},
                headers={"Authorization": f"Bearer {boss}"},
                timeout=10,
            )
            assert r.status_code == 202, r.text
            job_id = r.json()["job"]["id"]
            time.sleep(3)  # the server's own SMS worker polls every 2 s: time to act
            job = job_row(db, job_id)
            assert (job["phase"], job["lease_owner"], job["attempts"]) == ("queued", None, 0)
            assert set(statuses(db).values()) == {"queued"}
            assert not (srv.data / "sms.log").exists()
            worker_data = tmp_path / "worker-host" if ON_PG else srv.data
            w = Worker(srv.config, worker_data)
            workers.append(w)
            done = wait_for(
                "the worker to run the import",
                lambda: (j := job_row(db, job_id))["status"] != "running" and j,
                seconds=60,
                every=0.1,
            )
            assert done["status"] == "done" and done["report"]["created"] == 50, w.output()
            wait_for(
                "the worker to send the SMS",
                lambda: set(statuses(db).values()) == {"sent"},
                seconds=30,
                every=0.1,
            )
            log = (worker_data / "sms.log").read_text(encoding="utf-8").splitlines()
            assert sorted(json.loads(line)["id"] for line in log) == [
                "test:00",
                "test:01",
                "test:02",
            ]
        finally:
            db.close()
    finally:
        srv.cleanup()


def _server_now():
    from server.clock import Clock

    return Clock().now()
