"""`motcua worker`: SMS sending, dossier imports and the report day cache, in a process of
their own beside `motcua serve` (config `workers.mode: external`; see server/background.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Any

import click


def register(main: click.Group) -> None:
    from ..cli import db_options, open_database

    @main.command(
        "worker",
        help="Send SMS, run dossier imports and keep the report cache, for every server of "
        "this database (workers.mode: external); stop with Ctrl+C or SIGTERM.",
    )
    @click.option("--once", is_flag=True, help="Do what is due now and exit.")
    @db_options
    def worker_cmd(once, cfg, config_path, data_dir) -> None:
        from ..background import Background
        from ..config import ConfigError

        with contextlib.suppress(OSError):
            os.nice(10)  # on a shared host the servers' requests go first
        db = open_database(cfg, data_dir)
        try:
            work = Background(db, cfg, data_dir)
        except ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from None
        if once:
            imports = work.imports_once()
            sent = work.sms_once()
            days = work.warm_reports()
            click.echo(f"{imports} imports run, {sent} messages attempted, {days} days warmed")
            return
        done = threading.Event()

        def stop(_signum: int, _frame: Any) -> None:
            done.set()

        signal.signal(signal.SIGTERM, stop)
        work.start()
        try:
            while not done.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        work.stop()
        click.echo("stopped", err=True)
