"""The data folder is private (server/datadir.py): the database with names, phones and
password hashes, its -wal/-shm files, sms.log, stored import uploads, the secret key and
backups are 0600 in a 0700 folder, even under a permissive umask; a folder made by an
older version (0755 with 0644 files, as f38df03 left them) is closed at start."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.app import create_app
from server.cli import main
from server.dossiers.jobs import store_upload
from server.notify.gateways import FileGateway, Message

from .conftest import MORNING, ROOT


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read what is created (022), restored afterwards (the
    CLI sets 077 in this same process)."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


@pytest.mark.sqlite_only
def test_what_the_server_writes_is_its_own(cfg, clock, tmp_path, open_umask) -> None:
    data = tmp_path / "data"
    app = create_app(cfg, data, clock=clock, testing=True)
    try:
        ctx = app.extensions["motcua"]
        with ctx.db.write() as conn:  # a write, so the WAL holds something
            conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
        FileGateway(data / "sms.log").send(Message("e1", "received", "0912345678", "Hồ sơ"))
        upload = store_upload(data, "ho so.csv", b"code\n", MORNING)
        assert mode(data) == 0o700
        for name in ("motcua.sqlite3", "motcua.sqlite3-wal", "motcua.sqlite3-shm"):
            assert mode(data / name) == 0o600, name
        assert mode(data / "secret_key") == 0o600
        assert mode(data / "sms.log") == 0o600
        assert mode(upload.parent) == 0o700 and mode(upload) == 0o600
        assert mode(data / "audio") == 0o700
    finally:
        app.extensions["motcua"].close()


@pytest.mark.sqlite_only
def test_a_folder_left_open_is_closed_at_start_with_a_log_line(
    cfg, clock, tmp_path, open_umask, caplog
) -> None:
    data = tmp_path / "data"
    (data / "imports").mkdir(parents=True)
    sqlite3.connect(data / "motcua.sqlite3").close()
    (data / "sms.log").write_text('{"phone": "0912345678"}\n')
    (data / "imports" / "old.csv").write_text("code\n")
    for path, m in [(data, 0o755), (data / "imports", 0o755)]:
        path.chmod(m)
    for path in (data / "motcua.sqlite3", data / "sms.log", data / "imports" / "old.csv"):
        path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="server.datadir"):
        app = create_app(cfg, data, clock=clock, testing=True)
    app.extensions["motcua"].close()
    assert mode(data) == 0o700 and mode(data / "imports") == 0o700
    for path in (data / "motcua.sqlite3", data / "sms.log", data / "imports" / "old.csv"):
        assert mode(path) == 0o600, path
    [line] = [r.getMessage() for r in caplog.records if r.name == "server.datadir"]
    assert "readable by other local users" in line and "5 files or folders" in line


@pytest.mark.sqlite_only
def test_cli_commands_create_private_files(tmp_path, open_umask) -> None:
    data = tmp_path / "fresh" / "data"
    run = CliRunner()
    common = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(data)]
    out = run.invoke(main, ["device", "add", "kiosk-9", "--kind", "kiosk", *common])
    assert out.exit_code == 0, out.output
    assert mode(data) == 0o700
    assert mode(data / "motcua.sqlite3") == 0o600
    backup = tmp_path / "copy.sqlite3"
    out = run.invoke(main, ["backup", str(backup), *common])
    assert out.exit_code == 0, out.output
    assert mode(backup) == 0o600
    for path in data.rglob("*"):
        assert mode(path) & 0o077 == 0, path
