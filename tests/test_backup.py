"""Backup while serving, restore, and the CLI that drives them."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from click.testing import CliRunner

from server import tickets
from server.cli import main
from tests.conftest import ROOT

#: `motcua backup` copies the SQLite file; PostgreSQL is backed up with its own tools.
pytestmark = pytest.mark.sqlite_only


def _rows(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, label, status FROM ticket ORDER BY id").fetchall()
    finally:
        conn.close()


def test_backup_while_writing_then_restore_gives_the_same_rows(ctx, tmp_path):
    for _ in range(50):
        tickets.issue(ctx.db, ctx.cfg, service="DD", now=ctx.now())
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            tickets.issue(ctx.db, ctx.cfg, service="HT", now=ctx.now())

    th = threading.Thread(target=writer)
    th.start()
    try:
        from server.store.backup import backup, check

        path = backup(ctx.db, tmp_path / "b.sqlite3")
    finally:
        stop.set()
        th.join()
    counts = check(path)
    assert counts["ticket"] >= 50
    snapshot = _rows(path)
    labels = [r[1] for r in snapshot]
    assert len(labels) == len(set(labels)) and labels[:50] == [f"1{n:03d}" for n in range(1, 51)]

    runner = CliRunner()
    data = tmp_path / "restored"
    cfg = str(ROOT / "config.yaml")
    r = runner.invoke(
        main, ["restore", str(path), "--yes", "--config", cfg, "--data-dir", str(data)]
    )
    assert r.exit_code == 0, r.output
    assert _rows(data / "motcua.sqlite3") == snapshot


def test_backup_cli_and_restore_refuses_garbage(tmp_path):
    runner = CliRunner()
    cfg = str(ROOT / "config.yaml")
    data = tmp_path / "d"
    r = runner.invoke(
        main, ["backup", str(tmp_path / "x.sqlite3"), "--config", cfg, "--data-dir", str(data)]
    )
    assert r.exit_code == 0, r.output
    assert "backup written" in r.output
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    r = runner.invoke(
        main, ["restore", str(junk), "--yes", "--config", cfg, "--data-dir", str(data)]
    )
    assert r.exit_code != 0 and "not a valid SQLite database" in r.output
    assert (data / "motcua.sqlite3").exists()
