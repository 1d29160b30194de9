"""`motcua kiosk`: the agent next to a kiosk's thermal printer (and, with --browser,
the kiosk page full screen).  `motcua demo` starts one printing to a folder."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)

TOKEN_ENV = "MOTCUA_KIOSK_TOKEN"


def default_state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(base) / "motcua-kiosk")


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def run_agent(
    server_url: str,
    token: str,
    printer_spec: str,
    paper: int,
    state_dir: Path,
    heartbeat: float,
    browser: bool,
) -> int:
    from kiosk.agent import KioskAgent
    from kiosk.browser import KioskBrowser, find_chromium
    from kiosk.journal import PrintedJournal
    from kiosk.printers import open_printer

    try:
        printer = open_printer(printer_spec, paper)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--printer") from None
    state_dir.mkdir(parents=True, exist_ok=True)
    agent = KioskAgent(
        server_url,
        token,
        printer,
        paper_mm=paper,
        heartbeat_s=heartbeat,
        journal=PrintedJournal(state_dir / "printed.log"),
    )
    window = None
    if browser:
        chromium = find_chromium()
        if chromium is None:
            click.echo(
                "chromium was not found (apt-get install chromium); the agent prints without "
                f"a screen. Open {server_url}/kiosk/pair?token=<this kiosk's token> in a "
                "browser to pair the kiosk page.",
                err=True,
            )
        else:
            window = KioskBrowser(chromium, server_url, token, state_dir / "browser")
            window.start()
    log.info(
        "kiosk agent for %s: printer %s, %d mm paper, state in %s",
        server_url,
        printer_spec,
        paper,
        state_dir,
    )
    try:
        code = agent.run_forever()
    finally:
        if window is not None:
            window.stop()
    if code:
        click.echo(
            f"The server refused this kiosk: {agent.client.refused}. "
            "Ask an administrator for a new token (motcua device add NAME --kind kiosk --rotate).",
            err=True,
        )
    return code


def _wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def start_demo_agent(host: str, port: int, token: str, data_dir: Path, paper: int) -> Path:
    """Start `motcua kiosk` printing to DATA/tickets once the server listens; returns that
    folder.  A child process rather than a thread, so it works the same beside gunicorn's
    gevent worker; the token goes through the environment, not the command line."""
    tickets = (data_dir / "tickets").resolve()
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    cmd = [
        sys.executable,
        "-c",
        "from server.cli import main; main()",
        "kiosk",
        "--server",
        f"http://{host}:{port}",
        "--printer",
        f"file:{tickets}",
        "--paper",
        str(paper),
        "--state-dir",
        str((data_dir / "kiosk-agent").resolve()),
    ]
    owner = os.getpid()
    procs: list[subprocess.Popen[bytes]] = []

    def launch() -> None:
        if not _wait_for_port(host, port, timeout=60):
            log.error("the server did not start listening on %s:%d; no kiosk agent", host, port)
            return
        procs.append(subprocess.Popen(cmd, env={**os.environ, TOKEN_ENV: token}))

    def stop() -> None:
        for proc in procs:
            if os.getpid() == owner and proc.poll() is None:  # not from a forked worker
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()

    threading.Thread(target=launch, name="demo-kiosk-agent", daemon=True).start()
    atexit.register(stop)
    return tickets


def register(main: click.Group) -> None:
    @main.command(
        "kiosk",
        help="Run the kiosk agent: take print jobs from the server, print them, report the "
        "printer's state. Reconnects by itself; stops with exit code 2 when the server "
        "refuses the token.",
    )
    @click.option(
        "--server",
        "server_url",
        required=True,
        envvar="MOTCUA_SERVER",
        help="The server's address, e.g. http://10.0.0.2:5000 (env MOTCUA_SERVER).",
    )
    @click.option(
        "--token",
        required=True,
        envvar=TOKEN_ENV,
        help=f"The kiosk device's token (env {TOKEN_ENV}, preferred: command lines are "
        "visible to other users of the machine).",
    )
    @click.option(
        "--printer",
        "printer_spec",
        default="file:tickets",
        show_default=True,
        help="file:DIR, usb:VID:PID (hex), tcp:HOST[:PORT], or serial:DEVICE[:BAUD].",
    )
    @click.option("--paper", type=click.Choice(["58", "80"]), default="80", show_default=True)
    @click.option(
        "--browser", is_flag=True, help="Also open the kiosk page full screen in chromium."
    )
    @click.option(
        "--state-dir",
        type=click.Path(file_okay=False),
        default=default_state_dir,
        show_default="$XDG_STATE_HOME/motcua-kiosk",
        help="Where the agent keeps its journal of printed jobs and the browser profile.",
    )
    @click.option(
        "--heartbeat",
        type=click.FloatRange(1, 300),
        default=10.0,
        show_default=True,
        help="Seconds between printer status reports.",
    )
    def kiosk(server_url, token, printer_spec, paper, browser, state_dir, heartbeat) -> None:
        if not server_url.startswith(("http://", "https://")):
            raise click.BadParameter("must start with http:// or https://", param_hint="--server")
        _stop_on_sigterm()
        code = run_agent(
            server_url.rstrip("/"),
            token,
            printer_spec,
            int(paper),
            Path(state_dir),
            heartbeat,
            browser,
        )
        sys.exit(code)
