"""The kiosk agent end to end against a live server, printing to the file backend: the
ticket's bytes and preview appear, decode to the tracking link and the number; a restart
loses and duplicates nothing; a revoked token stops it; heartbeats report the printer."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from kiosk.agent import KioskAgent, Outcome
from kiosk.browser import KioskBrowser, pairing_url
from kiosk.client import KioskClient
from kiosk.escpos_decode import Qr, Raster, Size, Text, decode
from kiosk.journal import PrintedJournal
from kiosk.printers import PAPER_OUT_FLAG, FilePrinter
from server import accounts
from server.cli import main
from server.store import printjobs as job_store
from tests.sio_helpers import wake_connect_late

TIMEOUT = 8.0


def wait_for(check: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class CountingPrinter(FilePrinter):
    """A file printer that also counts every job it really prints (like hardware would)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, 80)
        self.printed: list[str] = []

    def print_job(self, job_id: str, data: bytes) -> None:
        before = (self.directory / f"{job_id}.bin").exists()
        super().print_job(job_id, data)
        if not before:
            self.printed.append(job_id)


@pytest.fixture
def kiosk_token(live_server) -> str:
    return live_server.device("kiosk-1", "kiosk")


@pytest.fixture
def make_agent(live_server, kiosk_token, tmp_path) -> Iterator[Callable[..., KioskAgent]]:
    agents: list[KioskAgent] = []

    def _make(printer=None, token: str | None = None, heartbeat_s: float = 10.0) -> KioskAgent:
        agent = KioskAgent(
            live_server.url,
            token or kiosk_token,
            printer or FilePrinter(tmp_path / "tickets", 80),
            paper_mm=80,
            heartbeat_s=heartbeat_s,
            journal=PrintedJournal(tmp_path / "state" / "printed.log"),
        )
        agent.client.backoff_min = 0.1  # type: ignore[attr-defined]
        agents.append(agent)
        agent.start()
        return agent

    yield _make
    for agent in agents:
        agent.stop()


def issue(live_server, token: str, service: str = "DD", **body: Any) -> dict[str, Any]:
    r = requests.post(
        live_server.url + "/api/v1/tickets",
        json={"service": service, **body},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return r.json()


def job_row(live_server, job_id: str) -> dict[str, Any] | None:
    with live_server.ctx.db.connection() as conn:
        return job_store.job(conn, job_id)


def connected(agent: KioskAgent) -> None:
    assert agent.client.wait_connected(TIMEOUT)  # type: ignore[attr-defined]


def test_an_issued_ticket_is_printed_with_its_qr_and_number(
    live_server, kiosk_token, make_agent, tmp_path
):
    agent = make_agent()
    connected(agent)
    body = issue(live_server, kiosk_token, "HT", lang="vi")
    job_id = body["print"]["job_id"]
    assert body["print"]["status"] == "sent"
    out = tmp_path / "tickets"
    wait_for(lambda: (out / f"{job_id}.bin").exists(), what="the ticket's .bin")
    assert (out / f"{job_id}.png").stat().st_size > 2000
    commands = decode((out / f"{job_id}.bin").read_bytes())
    (qr,) = [c for c in commands if isinstance(c, Qr)]
    assert qr.data == body["tracking_url"]
    assert qr.data.endswith("/t/" + body["token"])
    texts = [c.text for c in commands if isinstance(c, Text)]
    assert body["label"] in texts  # the number in the printer's own font …
    assert any(isinstance(c, Size) and c.width > 1 for c in commands)  # … scaled up
    assert sum(isinstance(c, Raster) for c in commands) >= 5  # Vietnamese lines as images
    row = wait_for(
        lambda: (r := job_row(live_server, job_id)) and r["status"] == "printed" and r,
        what="the acknowledgement",
    )
    assert row["attempts"] == 1 and row["error"] is None
    assert agent.outcomes == [Outcome(job_id, True)]


def test_a_restart_loses_nothing_and_prints_nothing_twice(
    live_server, kiosk_token, make_agent, tmp_path
):
    printer = CountingPrinter(tmp_path / "tickets")
    first = make_agent(printer)
    connected(first)
    t1 = issue(live_server, kiosk_token)
    wait_for(lambda: job_row(live_server, t1["print"]["job_id"])["status"] == "printed")

    # the next ticket prints but its acknowledgement is lost (agent killed right after)
    first.client.printed = lambda *a, **k: False  # type: ignore[method-assign]
    t2 = issue(live_server, kiosk_token)
    wait_for(lambda: t2["print"]["job_id"] in printer.printed, what="t2 printed")
    first.stop()
    assert job_row(live_server, t2["print"]["job_id"])["status"] == "sent"

    # tickets issued while no agent runs wait for it
    t3 = issue(live_server, kiosk_token, "CC")
    t4 = issue(live_server, kiosk_token, "KD")
    assert t3["print"]["status"] == t4["print"]["status"] == "queued"

    second = make_agent(printer)
    connected(second)
    ids = [t["print"]["job_id"] for t in (t1, t2, t3, t4)]
    wait_for(
        lambda: all(job_row(live_server, i)["status"] == "printed" for i in ids),
        what="every job printed",
    )
    assert sorted(printer.printed) == sorted(ids), "each ticket printed exactly once"
    assert len(list((tmp_path / "tickets").glob("*.bin"))) == 4
    assert [o.reprint for o in second.outcomes if o.job_id == t2["print"]["job_id"]] == [True]


def test_agent_reconnects_by_itself_after_the_server_drops_it(
    live_server, kiosk_token, make_agent, tmp_path
):
    agent = make_agent()
    connected(agent)
    ident = next(w for w in live_server.ctx.realtime.identities.values() if w.name == "kiosk-1")
    assert live_server.ctx.realtime.disconnect_identity("device", ident.id) == 1
    wait_for(lambda: agent.client.connections >= 2, what="a reconnection")  # type: ignore[attr-defined]
    body = issue(live_server, kiosk_token)
    wait_for(lambda: job_row(live_server, body["print"]["job_id"])["status"] == "printed")
    assert (tmp_path / "tickets" / f"{body['print']['job_id']}.bin").exists()
    assert agent.client.refused is None


def test_a_drop_while_the_connection_is_still_being_set_up_is_noticed(live_server, kiosk_token):
    """The server drops the agent from inside its connect handler, before the library
    has finished connect(): the library reports no disconnect then, yet the client must
    notice and come back rather than sit on a dead connection."""
    rt = live_server.ctx.realtime
    drops: list[int] = []

    def drop_the_first_time() -> None:
        if not drops:
            ident = next(w for w in rt.identities.values() if w.name == "kiosk-1")
            drops.append(rt.disconnect_identity("device", ident.id))

    client = KioskClient(live_server.url, kiosk_token, lambda job: None, backoff_min=0.1)
    client._on_connect = drop_the_first_time
    wake_connect_late(client._sio)
    client.start()
    try:
        wait_for(lambda: client.connections >= 2 and client.connected, what="a reconnection")
        assert drops == [1] and client.refused is None
        assert any(w.name == "kiosk-1" for w in rt.identities.values())
    finally:
        client.stop()


def test_heartbeats_report_paper_out_and_the_job_fails(
    live_server, kiosk_token, make_agent, tmp_path
):
    supervisor = live_server.user("boss", "supervisor")
    out = tmp_path / "tickets"
    out.mkdir()
    (out / PAPER_OUT_FLAG).touch()
    agent = make_agent(heartbeat_s=0.2)
    connected(agent)

    def kiosk_status() -> dict[str, Any]:
        r = requests.get(
            live_server.url + "/api/v1/devices/status",
            headers={"Authorization": f"Bearer {supervisor}"},
            timeout=5,
        )
        return next(d for d in r.json()["devices"] if d["name"] == "kiosk-1")

    status = wait_for(lambda: (s := kiosk_status())["printer"] == "paper_out" and s)
    assert status["health"] == "fault" and status["status"] == "paper_out"
    assert PAPER_OUT_FLAG in status["printer_detail"]

    body = issue(live_server, kiosk_token)
    row = wait_for(
        lambda: (
            (r := job_row(live_server, body["print"]["job_id"])) and r["status"] == "failed" and r
        )
    )
    assert "paper_out" in row["error"] and row["printer"] == "paper_out"
    assert not list(out.glob("*.bin"))

    (out / PAPER_OUT_FLAG).unlink()
    wait_for(lambda: kiosk_status()["printer"] == "online", what="printer back online")


def test_a_revoked_token_stops_the_agent_and_is_refused_at_once(
    live_server, kiosk_token, make_agent
):
    agent = make_agent(heartbeat_s=0.2)
    connected(agent)
    accounts.revoke_device(live_server.ctx.db, "kiosk-1", live_server.ctx.now())
    assert agent.client.wait_stopped(TIMEOUT)  # type: ignore[attr-defined]
    assert "revoked" in (agent.client.refused or "")

    again = make_agent()
    assert again.client.wait_stopped(TIMEOUT)  # type: ignore[attr-defined]
    assert "refused" in (again.client.refused or "")
    assert again.run_forever() == 2


def test_the_token_is_never_logged(live_server, kiosk_token, make_agent, caplog):
    caplog.set_level(logging.DEBUG)
    agent = make_agent(heartbeat_s=0.2)
    connected(agent)
    body = issue(live_server, kiosk_token)
    wait_for(lambda: job_row(live_server, body["print"]["job_id"])["status"] == "printed")
    time.sleep(0.3)  # a heartbeat or two
    assert caplog.records, "the agent logs what it does"
    assert kiosk_token not in caplog.text
    assert kiosk_token not in repr(agent.client)


def test_a_bad_job_is_refused_without_stopping_the_agent(tmp_path):
    class NoNetwork:
        refused = None

        def printed(self, *a: Any, **k: Any) -> bool:
            return True

    agent = KioskAgent(
        "http://unused",
        "t",
        FilePrinter(tmp_path),
        client=NoNetwork(),  # type: ignore[arg-type]
    )
    outcome = agent.handle({"job_id": "j1", "label": "1001"})
    assert outcome.job_id == "j1" and not outcome.ok and "bad job" in (outcome.error or "")
    assert not list(tmp_path.glob("*.bin"))


def test_the_cli_runs_the_agent_and_explains_a_refusal(
    live_server, kiosk_token, tmp_path, monkeypatch
):
    monkeypatch.setattr("kiosk.browser.find_chromium", lambda: None)
    accounts.revoke_device(live_server.ctx.db, "kiosk-1", live_server.ctx.now())
    result = CliRunner().invoke(
        main,
        [
            "kiosk",
            "--server",
            live_server.url,
            "--printer",
            f"file:{tmp_path / 'out'}",
            "--paper",
            "58",
            "--state-dir",
            str(tmp_path / "state"),
            "--browser",
        ],
        env={"MOTCUA_KIOSK_TOKEN": kiosk_token},
    )
    assert result.exit_code == 2, result.output
    assert "chromium was not found" in result.output
    assert "refused this kiosk" in result.output
    assert kiosk_token not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "localhost:5000", "--token", "x"], "http://"),
        (["--server", "http://x", "--token", "x", "--printer", "lpt:1"], "unknown kind"),
        (["--server", "http://x"], "Missing option '--token'"),
    ],
)
def test_the_cli_rejects_bad_options(args, message, tmp_path):
    result = CliRunner().invoke(
        main, ["kiosk", *args, "--state-dir", str(tmp_path)], env={"MOTCUA_KIOSK_TOKEN": ""}
    )
    assert result.exit_code == 2 and message in result.output


def test_the_browser_opens_the_pairing_page_full_screen(tmp_path):
    args_file = tmp_path / "args.txt"
    fake = tmp_path / "fake-chromium"
    fake.write_text(
        f'#!{sys.executable}\nimport sys, time\nopen("{args_file}", "w").write("\\n".join(sys.argv[1:]))\ntime.sleep(30)\n'
    )
    fake.chmod(0o755)
    window = KioskBrowser(str(fake), "http://10.0.0.2:5000", "s3cr/t+", tmp_path / "profile")
    window.start()
    try:
        args = wait_for(lambda: args_file.exists() and args_file.read_text().splitlines())
    finally:
        window.stop()
    assert "--kiosk" in args and f"--user-data-dir={tmp_path / 'profile'}" in args
    assert args[-1] == pairing_url("http://10.0.0.2:5000", "s3cr/t+")
    assert args[-1] == "http://10.0.0.2:5000/kiosk/pair?token=s3cr%2Ft%2B"
