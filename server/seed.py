"""Fill the database from config.yaml's `seed` (first start, or `motcua apply-config`),
and create the demo accounts and devices that `motcua demo` prints."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from . import accounts
from .config import Config
from .errors import Conflict
from .hours import hours_to_json
from .protocol import DeviceKind, Role
from .store import Database, catalog
from .store import accounts as account_store

log = logging.getLogger(__name__)


def apply_config(db: Database, cfg: Config, now: datetime) -> None:
    """Upsert services and counters from the config (existing rows are updated in place)."""
    with db.write() as conn:
        for pos, s in enumerate(cfg.services):
            catalog.upsert_service(
                conn,
                {
                    "code": s.code,
                    "name_vi": s.name_vi,
                    "name_en": s.name_en,
                    "prefix": s.prefix,
                    "width": s.width,
                    "first_number": s.first,
                    "last_number": s.last,
                    "daily_cap": s.daily_cap,
                    "hours": hours_to_json(s.hours) if s.hours else None,
                    "active": True,
                    "position": pos,
                },
            )
        for c in cfg.counters:
            catalog.upsert_counter(
                conn,
                {"number": c.number, "name": c.name, "zone": c.zone, "services": list(c.services)},
            )
    for u in cfg.users:
        try:
            accounts.add_user(
                db, u.username, u.role, u.password, now, full_name=u.full_name, counters=u.counters
            )
        except Conflict:
            log.info("user %s already exists; seed leaves it as it is", u.username)


def seed_if_empty(db: Database, cfg: Config, now: datetime) -> bool:
    with db.connection() as conn:
        empty = catalog.is_empty(conn)
    if empty:
        apply_config(db, cfg, now)
        log.info("seeded an empty database from the config")
    return empty


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    counters: tuple[int, ...]
    full_name: str = ""


@dataclass(frozen=True)
class DemoDevice:
    name: str
    kind: str
    token: str
    zone: str | None = None
    counter: int | None = None


DEMO_PASSWORD = "motcua-demo"
#: The names demo_accounts gives its logins (canbo<n> for the first counters).
_DEMO_NAME = re.compile(r"^(admin|giamsat|canbo[0-9]+)$")


def working_demo_logins(db: Database) -> list[str]:
    """The demo accounts (see demo_accounts) that still sign in with the demo password,
    printed on every demo start: a folder that once ran `motcua demo` keeps them."""
    with db.connection() as conn:
        users = account_store.users(conn)
    return [
        u["username"]
        for u in users
        if u["active"]
        and _DEMO_NAME.match(u["username"])
        and accounts.verify_password(u, DEMO_PASSWORD)
    ]


#: Full names reports and the staff console show (cán bộ, công chức of the demo center).
DEMO_NAMES = {
    "admin": "Quản trị hệ thống",
    "giamsat": "Trần Thị Minh Hương",
    "canbo1": "Nguyễn Văn An",
    "canbo2": "Lê Thị Thu Hà",
    "canbo3": "Phạm Quốc Bảo",
    "canbo4": "Hoàng Thị Lan",
}


def demo_accounts(
    db: Database, cfg: Config, now: datetime
) -> tuple[list[DemoLogin], list[DemoDevice]]:
    """Demo logins (created once) and demo devices (tokens rotated on every demo start,
    since only their hashes are kept and the pairing links must be printed again)."""
    numbers = [c.number for c in cfg.counters]
    staff = [(f"canbo{n}", (n,)) for n in numbers[:4]]
    logins = [
        DemoLogin(name, DEMO_PASSWORD, role, counters, DEMO_NAMES.get(name, name))
        for name, role, counters in [
            ("admin", Role.ADMIN, ()),
            ("giamsat", Role.SUPERVISOR, ()),
            *[(name, Role.STAFF, counters) for name, counters in staff],
        ]
    ]
    with db.connection() as conn:
        existing = {u["username"]: u for u in account_store.users(conn)}
    for login in logins:
        user = existing.get(login.username)
        if user is None:
            accounts.add_user(
                db,
                login.username,
                login.role,
                login.password,
                now,
                full_name=login.full_name,
                counters=login.counters,
            )
        elif not user["full_name"]:  # a demo database from before the names
            with db.write() as conn:
                account_store.update_user(conn, user["id"], full_name=login.full_name)
    zones = sorted({c.zone for c in cfg.counters})
    specs: list[tuple[str, str, str | None, int | None]] = [
        ("kiosk-1", DeviceKind.KIOSK, None, None),
        ("board-all", DeviceKind.DISPLAY, None, None),
        *[(f"board-{z}", DeviceKind.DISPLAY, z, None) for z in zones],
        ("screen-1", DeviceKind.DISPLAY, None, numbers[0]),  # the screen above counter 1
        ("lookup-1", DeviceKind.LOOKUP, None, None),
        *[(f"pad-{n}", DeviceKind.COUNTER, None, n) for n in numbers[:4]],
    ]
    devices = [
        DemoDevice(
            name,
            kind,
            accounts.add_device(db, name, kind, now, zone=zone, counter=counter, replace=True),
            zone,
            counter,
        )
        for name, kind, zone, counter in specs
    ]
    return logins, devices
