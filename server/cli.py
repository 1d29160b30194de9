"""The `motcua` command.  Secrets a command creates go alone to stdout (so scripts can
capture them); every other message goes to stderr."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import accounts, datadir
from . import config as config_mod
from .clock import Clock
from .errors import MotcuaError

log = logging.getLogger(__name__)


def _say(message: str) -> None:
    click.echo(message, err=True)


def db_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--config and --data-dir, defaulting to MOTCUA_CONFIG / MOTCUA_DATA_DIR."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=lambda: os.environ.get("MOTCUA_CONFIG", "config.yaml"),
        show_default="config.yaml",
        help="Configuration file (env MOTCUA_CONFIG).",
    )
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=lambda: os.environ.get("MOTCUA_DATA_DIR", "data"),
        show_default="data",
        help="Folder of the SQLite database, generated secrets and audio cache (env MOTCUA_DATA_DIR).",
    )
    @functools.wraps(fn)
    def inner(*args: Any, config_path: str, data_dir: str, **kwargs: Any) -> Any:
        datadir.restrict_umask()  # what the command writes is the server account's alone
        try:
            cfg = config_mod.load(config_path)
        except config_mod.ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from None
        # Resolved once, here: a relative --data-dir means the working directory's folder,
        # whatever later code (Flask's send_file resolves against the package) does with it.
        return fn(*args, cfg=cfg, config_path=config_path, data_dir=absolute(data_dir), **kwargs)

    return inner


def absolute(path: str | Path) -> Path:
    """``path`` made absolute against the working directory (``~`` expanded)."""
    return Path(path).expanduser().resolve()


def open_database(cfg: config_mod.Config, data_dir: Path):
    from .dbconfig import open_store
    from .seed import seed_if_empty
    from .store import migrate

    datadir.prepare(data_dir)
    db = open_store(cfg, data_dir)
    migrate(db)
    seed_if_empty(db, cfg, Clock().now())
    return db


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MotcuaError as exc:
            raise click.ClickException(exc.message) from None

    return inner


@click.group(help="motcua — queue tickets, hall boards and dossier status for one-stop centers.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command("check-config", help="Validate the configuration file and exit.")
@db_options
def check_config(cfg, config_path, data_dir) -> None:
    from .apikey_limit import settings as apikey_settings
    from .connlimits import settings as connection_settings
    from .dbconfig import settings as database_settings
    from .dossiers.settings import parse_settings
    from .notify.config import sms_settings
    from .security import settings as security_settings
    from .workers_config import settings as worker_settings

    # The sections their own modules validate (security, connections, sms, dossiers,
    # api_keys, database, workers) are checked here too, so a bad key is reported before the
    # server is started.
    checks = (security_settings, connection_settings, sms_settings, parse_settings)
    for validate in (*checks, apikey_settings, database_settings, worker_settings):
        try:
            validate(cfg)
        except config_mod.ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from None
    _say(
        f"{config_path}: OK — {len(cfg.services)} services, {len(cfg.counters)} counters, "
        f"time zone {cfg.timezone}"
    )


@main.command(
    help="Create or update the database schema (PostgreSQL: safe on several hosts at once)."
)
@db_options
def migrate(cfg, config_path, data_dir) -> None:
    from .dbconfig import database_url, open_store
    from .store import migrate as apply_migrations
    from .store.pg import redact

    datadir.prepare(data_dir)
    try:
        url = database_url(cfg)
        db = open_store(cfg, data_dir)
    except config_mod.ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    except Exception as exc:  # psycopg.OperationalError: unreachable, refused, no such db
        raise click.ClickException(f"cannot open the database: {exc}") from None
    try:
        applied = apply_migrations(db)
    finally:
        db.close()
    where = redact(url) if url else str(data_dir / "motcua.sqlite3")
    if applied:
        _say(f"{where}: applied {len(applied)} migrations ({applied[0]} … {applied[-1]})")
    else:
        _say(f"{where}: up to date")


@main.command(
    "apply-config", help="Re-apply the config's seed (services, counters) to the database."
)
@db_options
@domain_errors
def apply_config(cfg, config_path, data_dir) -> None:
    from .seed import apply_config as apply

    db = open_database(cfg, data_dir)
    apply(db, cfg, Clock().now())
    _say(f"applied {len(cfg.services)} services and {len(cfg.counters)} counters")


@main.group(help="Staff accounts.")
def user() -> None:
    pass


@user.command(
    "add", help="Create a staff account. The password is read from stdin when it is not a terminal."
)
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["staff", "supervisor", "admin"]),
    default="staff",
    show_default=True,
)
@click.option("--name", "full_name", default="", help="Full name shown in reports.")
@click.option(
    "--counter",
    "counters",
    type=int,
    multiple=True,
    help="A counter this staff member works at (repeatable).",
)
@click.option("--password", default=None, help="The password (prefer stdin or the prompt).")
@db_options
@domain_errors
def user_add(username, role, full_name, counters, password, cfg, config_path, data_dir) -> None:
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    db = open_database(cfg, data_dir)
    accounts.add_user(
        db, username, role, password, Clock().now(), full_name=full_name, counters=counters
    )
    _say(f"created {role} {username}")


@user.command("token", help="Create an API token for a user; prints it once on stdout.")
@click.argument("username")
@db_options
@domain_errors
def user_token(username, cfg, config_path, data_dir) -> None:
    db = open_database(cfg, data_dir)
    click.echo(accounts.issue_user_token(db, username, Clock().now()))


@main.group(help="Kiosks, boards, lookup screens and counter pads.")
def device() -> None:
    pass


@device.command("add", help="Register a device; prints its token once on stdout.")
@click.argument("name")
@click.option("--kind", type=click.Choice(["kiosk", "display", "lookup", "counter"]), required=True)
@click.option("--zone", default=None, help="The zone a display shows (all zones when omitted).")
@click.option(
    "--counter",
    type=int,
    default=None,
    help="The counter a counter pad (kind counter) or a counter screen (kind display) belongs to.",
)
@click.option("--rotate", is_flag=True, help="Replace the token of an existing device.")
@db_options
@domain_errors
def device_add(name, kind, zone, counter, rotate, cfg, config_path, data_dir) -> None:
    db = open_database(cfg, data_dir)
    click.echo(
        accounts.add_device(
            db, name, kind, Clock().now(), zone=zone, counter=counter, replace=rotate
        )
    )


@device.command(
    "revoke", help="Revoke a device's token (a running server drops its connections too)."
)
@click.argument("name")
@db_options
@domain_errors
def device_revoke(name, cfg, config_path, data_dir) -> None:
    db = open_database(cfg, data_dir)
    accounts.revoke_device(db, name, Clock().now())
    _say(f"revoked {name}; a running server drops its connections within seconds")


def _use_thread_pool(application: Any) -> None:
    """Under gevent, commits wait for fsync in the hub's thread pool (sqlite releases the
    GIL there), so other requests go on meanwhile; writes still run one at a time (the
    write lock is held until the commit returns).  Speech synthesis and its file writes
    go there too (10–30 ms that would stop every board's socket); the voice cache keeps
    its gevent locks on the loop's side, the engine's locks are native ones."""
    import gevent

    context = application.extensions["motcua"]
    context.db.offload = gevent.get_hub().threadpool.apply
    context.announcer.cache.offload = gevent.get_hub().threadpool.apply


def serve_app(
    cfg, data_dir: Path, host: str, port: int, dev: bool, banner: Callable[[], None] | None = None
) -> None:
    from .app import create_app

    if dev:
        app = create_app(cfg, data_dir, async_mode="threading")
        if banner:
            banner()
        app.extensions["motcua.socketio"].run(
            app,
            host=host,
            port=port,
            allow_unsafe_werkzeug=True,
            use_reloader=False,
            log_output=False,
        )
        return
    from gunicorn.app.base import BaseApplication

    from .connlimits import fit_descriptors
    from .connlimits import settings as connection_settings

    try:
        limits = connection_settings(cfg)
    except config_mod.ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    # The worker inherits the raised open-file limit (or fewer connections, logged).
    connections = fit_descriptors(limits.max_connections)

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "server.wsgi.Worker")
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("worker_connections", connections)
            self.cfg.set("accesslog", None)
            self.cfg.set("loglevel", "warning")

        def load(self):
            application = create_app(cfg, data_dir, async_mode="gevent")
            _use_thread_pool(application)
            if banner:
                banner()
            return application

    _Gunicorn().run()


def qr_warnings(cfg: config_mod.Config, host: str, port: int) -> list[str]:
    """Why a ticket's QR code would not open on a phone, with this host and port."""
    from .public_url import start_warnings
    from .security import settings as security_settings

    try:
        behind_proxy = security_settings(cfg).trusted_proxies > 0
    except config_mod.ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    return start_warnings(cfg.public_url, host, port, behind_proxy=behind_proxy)


@main.command(help="Run the server (gunicorn, one gevent worker; --dev for the Flask runner).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Use the threaded development server.")
@click.option(
    "--allow-demo-logins",
    is_flag=True,
    help="Serve even though demo accounts still sign in with the demo password.",
)
@db_options
def serve(host, port, dev, allow_demo_logins, cfg, config_path, data_dir) -> None:
    from .seed import DEMO_PASSWORD, working_demo_logins

    db = open_database(cfg, data_dir)
    demo_logins = working_demo_logins(db)
    if demo_logins and not allow_demo_logins:
        names = ", ".join(demo_logins)
        raise click.ClickException(
            f"refusing to serve: {names} still sign in with the demo password "
            f"{DEMO_PASSWORD!r} (this data folder ran `motcua demo`). Give each a real "
            f"password with `motcua user passwd NAME` (for example `motcua user passwd "
            f"{demo_logins[0]}`) or switch it off on the admin pages; or start with "
            "--allow-demo-logins to serve anyway."
        )
    if demo_logins:
        log.warning(
            "demo accounts still sign in with the demo password: %s", ", ".join(demo_logins)
        )
    for warning in qr_warnings(cfg, host, port):
        _say(f"WARNING: {warning}")
    serve_app(cfg, data_dir, host, port, dev)


@main.command(
    help="Replay a simulated day through the real queue engine and print wait statistics."
)
@click.option("--visitors", default=300, show_default=True, type=int)
@click.option("--seed", "rng_seed", default=7, show_default=True, type=int)
@db_options
def simulate(visitors, rng_seed, cfg, config_path, data_dir) -> None:
    from .simulate import format_report, run_day

    report = run_day(cfg, data_dir / "simulation", visitors=visitors, seed=rng_seed)
    click.echo(format_report(report))


def _load_commands() -> None:
    """Each area adds its commands in a module of server.commands with `register(main)`."""
    import importlib
    import pkgutil

    from . import commands

    for mod in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{mod.name}").register(main)


_load_commands()

if __name__ == "__main__":
    main()
