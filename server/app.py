"""The application factory (Flask tutorial style): nothing is built at import time."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import apikey_limit, datadir, remote_config
from . import config as config_mod
from .clock import Clock
from .config import Config
from .context import Context
from .dbconfig import open_store
from .ratelimit import limiter
from .store import migrate
from .store.dialect import is_pg

log = logging.getLogger(__name__)

#: The `setting` row of the session secret on a shared (PostgreSQL) database.
SECRET_SETTING = "secret_key"


class BoundedInt(IntegerConverter):
    """`<int:…>` in every URL, stopped at SQLite's largest integer: a larger id is simply
    not found (404), instead of an OverflowError deep in a query (a 500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def _secret_key(data_dir: Path, cfg: Config, db: Any) -> str:
    """MOTCUA_SECRET_KEY, else the one every process of this database shares: kept in the
    shared PostgreSQL database (a session signed by one host is good on the next), or in
    the data folder beside the embedded SQLite file."""
    if cfg.secret_key:
        return cfg.secret_key
    if is_pg(db):
        from .store import catalog

        with db.write() as conn:
            key = catalog.setting(conn, SECRET_SETTING)
            if key is None:
                key = secrets.token_hex(32)
                catalog.set_setting(conn, SECRET_SETTING, key)
        return key
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    datadir.write_private(path, key.encode())
    return key


def create_app(
    config: Config | str | Path = "config.yaml",
    data_dir: str | Path = "data",
    *,
    clock: Clock | None = None,
    async_mode: str = "threading",
    testing: bool = False,
    seed: bool = True,
) -> Flask:
    cfg = config if isinstance(config, Config) else config_mod.load(config)
    # Every file the server serves or writes lives under this folder; a relative one is
    # the working directory's (Flask would resolve it against the package: issue 16.1).
    data = datadir.prepare(Path(data_dir).expanduser().resolve())  # 0700, files 0600
    db = open_store(cfg, data)
    migrate(db)
    clk = clock or Clock()
    if seed:
        from .seed import seed_if_empty

        seed_if_empty(db, cfg, clk.now())

    app = Flask(__name__, static_folder="web/static", template_folder="web/templates")
    app.url_map.converters["int"] = BoundedInt
    app.config.update(
        SECRET_KEY=_secret_key(data, cfg, db),
        TESTING=testing,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    context = Context(cfg=cfg, db=db, clock=clk, data_dir=data)
    # In this process's memory, or in Redis when several processes share a message queue.
    windows: dict[str, tuple[int, float]] = {
        "public": (120, 60),
        "login": (10, 300),
        "lookup": (30, 60),
        "rating": (20, 60),
    }
    remote = remote_config.settings(cfg)  # config remote: codes per phone, per address
    windows["remote_phone"] = (remote.otp_per_phone, remote.otp_window_s)
    windows["remote_address"] = (remote.otp_per_address, remote.otp_window_s)
    windows["remote_verify"] = (30, 600)
    key_limit = apikey_limit.settings(cfg)  # config api_keys: requests per department key
    if not key_limit.off:
        windows["apikey"] = (key_limit.requests, key_limit.per_s)
    context.limits = {
        name: limiter(cfg.message_queue, cfg.realtime_channel, name, limit, per)
        for name, (limit, per) in windows.items()
    }
    app.extensions["motcua"] = context

    from . import security, settings

    settings.apply(app)  # admin-saved priority classes, days off, SMS templates
    security.install(app, cfg)  # trusted proxies, Secure cookie over HTTPS

    from .announce import Announcer

    texts = None
    if cfg.message_queue:  # several processes: any of them renders any call's audio
        from . import redis_client
        from .announce import SharedTexts

        texts = SharedTexts(redis_client.client(cfg.message_queue), cfg.realtime_channel)
    context.announcer = Announcer(cfg, data / "audio", texts)

    from .api import register as register_api

    register_api(app)

    from .web import register as register_web

    register_web(app)

    from .realtime import init_realtime

    context.realtime = init_realtime(app, async_mode=async_mode)

    from .notify.worker import start_in_app
    from .workers_config import embedded

    if embedded(cfg):  # else `motcua worker` processes do this work (see server/background.py)
        start_in_app(app)  # the SMS outbox sender (not in testing: tests drive it themselves)
        if not testing:
            from .api.dossiers_files import launcher

            launcher(app).resume()  # dossier imports a stop interrupted finish now
    else:
        app.extensions["motcua.notify"] = None
    return app
