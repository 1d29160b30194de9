"""The `motcua` command: secrets alone on stdout, passwords from stdin, help everywhere."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from server import accounts
from server.cli import main
from tests.conftest import ROOT
from tests.engines import open_db

CFG = str(ROOT / "config.yaml")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in _commands(main)], ids=" ".join)
def test_every_command_has_help(path):
    cmd = main
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    assert cmd.help, f"motcua {' '.join(path)} has no help"
    r = CliRunner().invoke(main, [*path, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


def test_device_add_prints_only_the_token_on_stdout(tmp_path):
    runner = CliRunner()
    r = runner.invoke(
        main,
        [
            "device",
            "add",
            "kiosk-9",
            "--kind",
            "kiosk",
            "--config",
            CFG,
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    assert "\n" not in token and len(token) >= 40
    db = open_db(tmp_path)
    who = accounts.identify(db, token)
    assert who is not None and who.device_kind == "kiosk" and who.name == "kiosk-9"
    with db.connection() as conn:
        stored = conn.execute("SELECT token_hash FROM device").fetchone()[0]
    assert token not in stored  # only the hash is kept
    db.close()


def test_user_add_reads_password_from_stdin_and_token_works(tmp_path):
    runner = CliRunner()
    args = ["--config", CFG, "--data-dir", str(tmp_path)]
    r = runner.invoke(
        main,
        ["user", "add", "lan", "--role", "staff", "--counter", "3", *args],
        input="mat-khau-dai\n",
    )
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    r = runner.invoke(main, ["user", "token", "lan", *args])
    token = r.stdout.strip()
    db = open_db(tmp_path)
    who = accounts.identify(db, token)
    assert who is not None and who.role == "staff" and who.counters == (3,)
    db.close()
    r = runner.invoke(main, ["user", "add", "lan", *args], input="another-password\n")
    assert r.exit_code != 0 and "đã tồn tại" in r.output
    r = runner.invoke(main, ["user", "add", "ngan", *args], input="short\n")
    assert r.exit_code != 0 and "ít nhất 8" in r.output


def test_check_config_names_the_bad_key(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text(
        (ROOT / "config.yaml")
        .read_text(encoding="utf-8")
        .replace("recall_limit: 3", "recall_limit: 99"),
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, ["check-config", "--config", str(bad)])
    assert r.exit_code != 0
    assert "queue.recall_limit: must be between 0 and 20" in r.output
    r = CliRunner().invoke(main, ["check-config", "--config", CFG])
    assert r.exit_code == 0 and "OK" in r.output


def test_environment_variables_choose_config_and_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_CONFIG", CFG)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "envdata"))
    r = CliRunner().invoke(main, ["device", "add", "b1", "--kind", "display", "--zone", "A"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "envdata").is_dir()
    db = open_db(tmp_path / "envdata")  # the device is in the store that folder names
    with db.read() as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM device")] == ["b1"]
    db.close()


def test_simulate_prints_wait_statistics(tmp_path):
    r = CliRunner().invoke(
        main, ["simulate", "--visitors", "120", "--config", CFG, "--data-dir", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    assert "estimate MAE (min)" in r.stdout and "wait p90 (min)" in r.stdout
    served = int(
        next(line.split()[-1] for line in r.stdout.splitlines() if line.startswith("served"))
    )
    assert served >= 110
