"""Users, devices and their secrets.  Secrets are shown once and stored only as hashes.

Bearer tokens are 32 random bytes, so a plain SHA-256 is a sound hash for them (no
dictionary to attack); passwords are low-entropy and get werkzeug's scrypt."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from .clock import iso
from .errors import BadRequest, Conflict, NotFound
from .protocol import DeviceKind, Role
from .store import Database, accounts
from .store import dossier_keys as key_store

#: A department's API key's Identity.kind (server.dossiers.apikeys issues them).
APIKEY = "apikey"
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,40}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Identity:
    """Who is calling: a staff account or a paired device."""

    kind: str  # "user" | "device"
    id: int
    name: str
    role: str | None = None  # users
    device_kind: str | None = None  # devices
    counters: tuple[int, ...] = ()
    zone: str | None = None
    counter: int | None = None  # a counter-pad device's counter
    extra: dict[str, Any] = field(default_factory=dict)
    department: str | None = None  # api keys: the department whose dossiers it may touch
    scopes: tuple[str, ...] = ()  # api keys: e.g. ("dossiers:read", "dossiers:write")
    #: What proved it, checked again while a Socket.IO connection lasts
    #: (logins.still_valid): "token" (a bearer token's hash), "session" (a staff
    #: session's id hash) or "paired" (a paired device's token fingerprint).
    via: str = ""
    credential: str = field(default="", repr=False)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"

    def has_role(self, *roles: str) -> bool:
        return self.kind == "user" and self.role in roles

    def may_use_counter(self, number: int) -> bool:
        if self.kind != "user":
            return False
        if self.role in (Role.SUPERVISOR, Role.ADMIN):
            return True
        return number in self.counters


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # surrogatepass: a token sent over Socket.IO may hold lone surrogates; it then simply
    # matches nothing instead of raising (real tokens are ASCII, hashed the same as before)
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_password_strength(password: Any) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise BadRequest(f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.", code="weak_password")
    return password


def add_user(
    db: Database,
    username: str,
    role: str,
    password: str,
    now: datetime,
    *,
    full_name: str = "",
    counters: tuple[int, ...] | list[int] = (),
) -> int:
    if not _USERNAME.match(username or ""):
        raise BadRequest(
            "Tên đăng nhập chỉ gồm chữ thường, số, . _ - (2–40 ký tự).", code="bad_username"
        )
    if role not in {str(r) for r in Role}:
        raise BadRequest(f"Vai trò không hợp lệ: {role!r}.", code="bad_role")
    check_password_strength(password)
    with db.write() as conn:
        if accounts.user_by_name(conn, username):
            raise Conflict(f"Tài khoản {username} đã tồn tại.", code="user_exists")
        return accounts.insert_user(
            conn,
            {
                "username": username,
                "full_name": full_name,
                "role": role,
                "password_hash": generate_password_hash(password),
                "counters": list(counters),
                "created_at": iso(now),
            },
        )


def verify_password(user: dict[str, Any], password: str) -> bool:
    return check_password_hash(user["password_hash"], password)


def issue_user_token(db: Database, username: str, now: datetime) -> str:
    secret = new_secret()
    with db.write() as conn:
        u = accounts.user_by_name(conn, username)
        if u is None or not u["active"]:
            raise NotFound(f"Không có tài khoản {username}.", code="unknown_user")
        accounts.insert_user_token(conn, u["id"], token_hash(secret), iso(now))
    return secret


def add_device(
    db: Database,
    name: str,
    kind: str,
    now: datetime,
    *,
    zone: str | None = None,
    counter: int | None = None,
    replace: bool = False,
) -> str:
    """Create a device (or, with replace, rotate its token) and return the new token."""
    if kind not in {str(k) for k in DeviceKind}:
        raise BadRequest(f"Loại thiết bị không hợp lệ: {kind!r}.", code="bad_device_kind")
    if not name or len(name) > 60:
        raise BadRequest("Tên thiết bị 1–60 ký tự.", code="bad_device_name")
    secret = new_secret()
    with db.write() as conn:
        existing = accounts.device_by_name(conn, name)
        if existing and not replace:
            raise Conflict(f"Thiết bị {name} đã tồn tại.", code="device_exists")
        if existing:
            accounts.update_device(
                conn,
                existing["id"],
                token_hash=token_hash(secret),
                kind=kind,
                zone=zone,
                counter=counter,
                revoked_at=None,
            )
        else:
            accounts.insert_device(
                conn,
                {
                    "name": name,
                    "kind": kind,
                    "zone": zone,
                    "counter": counter,
                    "token_hash": token_hash(secret),
                    "created_at": iso(now),
                },
            )
    return secret


def revoke_device(db: Database, name: str, now: datetime) -> dict[str, Any]:
    with db.write() as conn:
        d = accounts.device_by_name(conn, name)
        if d is None:
            raise NotFound(f"Không có thiết bị {name}.", code="unknown_device")
        accounts.update_device(conn, d["id"], revoked_at=iso(now))
        return {**d, "revoked_at": iso(now)}


def identify(db: Database, token: str) -> Identity | None:
    """Resolve a bearer token to a user or a device (None when unknown or revoked)."""
    if not token or len(token) > 200:
        return None
    h = token_hash(token)
    with db.connection() as conn:
        d = accounts.device_by_token(conn, h)
        if d is not None:
            return device_identity(d, via="token", credential=h)
        u = accounts.user_by_token(conn, h)
        if u is None:
            return key_identity(conn, h)
    return user_identity(u, via="token", credential=h)


def key_identity(conn: Any, hashed: str) -> Identity | None:
    """The identity of a bearer token that is a live department API key (None otherwise)."""
    k = key_store.api_key_by_token(conn, hashed)
    if k is None:
        return None
    return Identity(
        APIKEY,
        k["id"],
        f"{k['department']}#{k['id']}",
        department=k["department"],
        scopes=tuple(k["scopes"]),
    )


def device_identity(d: dict[str, Any], *, via: str, credential: str) -> Identity:
    return Identity(
        "device",
        d["id"],
        d["name"],
        device_kind=d["kind"],
        zone=d["zone"],
        counter=d["counter"],
        via=via,
        credential=credential,
    )


def user_identity(u: dict[str, Any], *, via: str = "", credential: str = "") -> Identity:
    return Identity(
        "user",
        u["id"],
        u["username"],
        role=u["role"],
        counters=tuple(u["counters"]),
        extra={"full_name": u["full_name"]},
        via=via,
        credential=credential,
    )


def audit(
    db: Database,
    now: datetime,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    with db.write() as conn:
        accounts.add_audit(conn, iso(now), actor, action, target, detail, ip)
