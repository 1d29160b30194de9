"""A production install serves: a fresh venv gets a plain `pip install .` (no dev extras,
so nothing the tests need hides a missing dependency), then that install's own `motcua`
makes a kiosk token, serves on a free loopback port with a temporary data folder, and
issues a ticket over HTTP.  On f38df03 `motcua serve` died at start with
`ModuleNotFoundError: No module named 'packaging'` (gunicorn's gevent worker imports it
without declaring it).

It builds from a copy of what the distribution holds, so the build never writes into the
working tree; pip may use its cache and PIP_FIND_LINKS (about 30 s in all)."""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from benchmarks import _server

ROOT = Path(__file__).resolve().parent.parent
#: What `pip install .` packages (pyproject.toml's packages and readme).
SHIPPED = ("pyproject.toml", "README.md", "server", "kiosk", "display")

pytestmark = pytest.mark.install


def _pip(python: Path, *args: str) -> str:
    out = subprocess.run(
        [str(python), "-m", "pip", *args], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, f"pip {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh venv holding a plain install of this tree."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SHIPPED:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=skip)
        else:
            shutil.copy2(path, source / name)
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _pip(python, "install", "--quiet", str(source))
    return python.parent


def test_a_plain_install_declares_what_it_needs(installed: Path) -> None:
    python = installed / "python"
    listed = _pip(python, "list", "--format=freeze").lower()
    assert "pytest" not in listed  # no dev extras: they would hide a missing dependency
    assert "packaging==" in listed
    _pip(python, "check")  # every installed requirement is satisfied
    for module in ("server.wsgi", "kiosk.agent", "display.app", "gunicorn.workers.ggevent"):
        out = subprocess.run(
            [str(python), "-c", f"import {module}"],
            capture_output=True,
            text=True,
            cwd=installed,  # not the repo: the installed copy is imported
            env={"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert out.returncode == 0, f"import {module}: {out.stderr[-1500:]}"


def test_a_plain_install_serves_a_ticket(installed: Path) -> None:
    with _server.Server(motcua=str(installed / "motcua")) as srv:
        kiosk = srv.device("kiosk-install", "kiosk")
        srv.start(timeout=60)
        status, ticket = srv.request("POST", "/api/v1/tickets", {"service": "DD"}, token=kiosk)
        assert status == 201, ticket
        assert ticket["service"] == "DD" and ticket["status"] == "waiting"
        assert ticket["number"] == 1 and ticket["label"]
        assert ticket["tracking_url"].endswith(ticket["token"])
        status, health = srv.request("GET", "/api/v1/health")
        assert status == 200 and health["status"] == "ok"
        assert srv.motcua.startswith(str(installed))  # the fresh install served
