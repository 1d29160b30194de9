"""A data folder that once ran `motcua demo` keeps the demo logins (admin/motcua-demo
…): `motcua serve` refuses to start while any of them still works, says which and how
to fix it; `motcua demo` itself still runs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from server import cli as cli_mod
from server.cli import main, open_database
from server.seed import demo_accounts
from tests.conftest import ROOT
from tests.staff_fixtures import fast_hashes

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]


@pytest.fixture
def served(monkeypatch):
    """Record the servers started instead of starting them."""
    started: list[tuple] = []
    monkeypatch.setattr(cli_mod, "serve_app", lambda *args, **kw: started.append(args))
    return started


@pytest.fixture
def demo_folder(cfg, tmp_path, clock):
    data = tmp_path / "data"
    db = open_database(cfg, data)
    demo_accounts(db, cfg, clock.now())
    db.close()
    return data


def run(data, *args: str, stdin: str | None = None):
    paths = ["--config", str(ROOT / "config.yaml"), "--data-dir", str(data)]
    return CliRunner().invoke(main, [*args, *paths], input=stdin)


def test_serve_refuses_while_demo_logins_work(demo_folder, served):
    r = run(demo_folder, "serve")
    assert r.exit_code == 1 and served == []
    assert "refusing to serve" in r.stderr
    for name in ("admin", "giamsat", "canbo1", "canbo4"):
        assert name in r.stderr
    assert "motcua user passwd admin" in r.stderr and "--allow-demo-logins" in r.stderr


def test_serve_starts_once_every_demo_password_is_changed(demo_folder, served):
    for name in ("admin", "giamsat", "canbo1", "canbo2", "canbo3"):
        assert run(demo_folder, "user", "passwd", name, stdin="a-real-password\n").exit_code == 0
    r = run(demo_folder, "serve")
    assert r.exit_code == 1 and "canbo4" in r.stderr and "admin," not in r.stderr
    assert run(demo_folder, "user", "passwd", "canbo4", stdin="a-real-password\n").exit_code == 0
    r = run(demo_folder, "serve")
    assert r.exit_code == 0, r.output
    assert len(served) == 1


def test_serve_may_be_told_to_allow_them(demo_folder, served):
    r = run(demo_folder, "serve", "--allow-demo-logins")
    assert r.exit_code == 0, r.output
    assert len(served) == 1


def test_a_fresh_folder_serves(tmp_path, served):
    r = run(tmp_path / "fresh", "serve")
    assert r.exit_code == 0, r.output
    assert len(served) == 1


def test_demo_itself_still_runs_in_its_folder(demo_folder, served, monkeypatch):
    from server.commands import kiosk

    monkeypatch.setattr(kiosk, "start_demo_agent", lambda *a, **kw: demo_folder / "tickets")
    r = run(demo_folder, "demo")
    assert r.exit_code == 0, r.output
    assert len(served) == 1
