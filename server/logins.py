"""Signing staff in, locking out guessers, changing passwords, and personal API tokens.

Lockout is per account (5 wrong passwords → 15 minutes), on top of the per-address rate
limit the web layer applies, so neither a botnet spreading guesses over addresses nor
one address trying many accounts gets far.  An unknown user name costs the same
password hash as a known one, so timing does not tell which names exist."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from werkzeug.security import generate_password_hash

from .accounts import check_password_strength, new_secret, token_hash, verify_password
from .clock import iso, parse_iso
from .errors import BadRequest, NotFound
from .store import Database
from .store import accounts as store
from .store import staff as staff_store

MAX_FAILURES = 5
LOCK_MINUTES = 15
MAX_TOKEN_LABEL = 60
_DUMMY = {"password_hash": generate_password_hash("motcua-timing-equaliser")}


class LoginFailed(Exception):
    """Wrong name or password, a deactivated account, or a locked one."""

    def __init__(self, reason: str, *, user_id: int | None = None, minutes: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason  # "bad_credentials" | "locked"
        self.user_id = user_id
        self.minutes = minutes


def authenticate(db: Database, username: str, password: str, now: datetime) -> dict[str, Any]:
    """The user row when the password is right; raises LoginFailed otherwise.

    Each wrong password counts towards the lockout; the fifth locks the account for
    LOCK_MINUTES and the counter starts again.  A right password clears the count."""
    with db.connection() as conn:
        u = store.user_by_name(conn, (username or "").strip().lower())
    if u is not None and u["locked_until"] and parse_iso(u["locked_until"]) > now:
        left = parse_iso(u["locked_until"]) - now
        raise LoginFailed(
            "locked", user_id=u["id"], minutes=max(1, math.ceil(left.total_seconds() / 60))
        )
    ok = verify_password(u or _DUMMY, password or "")
    if u is None or not u["active"]:
        raise LoginFailed("bad_credentials", user_id=u["id"] if u else None)
    with db.write() as conn:
        fresh = store.user(conn, u["id"])
        assert fresh is not None
        if ok:
            store.update_user(conn, u["id"], failed_logins=0, locked_until=None)
            return {**fresh, "failed_logins": 0, "locked_until": None}
        failures = fresh["failed_logins"] + 1
        locked = failures >= MAX_FAILURES
        if locked:  # (raised after the commit: the lock must be saved)
            until = iso(now + timedelta(minutes=LOCK_MINUTES))
            store.update_user(conn, u["id"], failed_logins=0, locked_until=until)
        else:
            store.update_user(conn, u["id"], failed_logins=failures)
    if locked:
        raise LoginFailed("locked", user_id=u["id"], minutes=LOCK_MINUTES)
    raise LoginFailed("bad_credentials", user_id=u["id"])


def change_password(
    db: Database, user_id: int, current: str, new: str, confirm: str
) -> dict[str, Any]:
    """Check the current password and store the new one (returns the updated row).

    Sessions carry a fingerprint of the password hash, so every other session of the
    account ends with this change; the caller re-signs the current one."""
    with db.connection() as conn:
        u = store.user(conn, user_id)
    if u is None or not u["active"]:
        raise NotFound("Tài khoản không còn hoạt động.", code="unknown_user")
    if not verify_password(u, current or ""):
        raise BadRequest("Mật khẩu hiện tại không đúng.", code="wrong_password")
    if new != confirm:
        raise BadRequest("Mật khẩu mới và mật khẩu nhập lại không khớp.", code="password_mismatch")
    check_password_strength(new)
    if verify_password(u, new):
        raise BadRequest("Mật khẩu mới phải khác mật khẩu hiện tại.", code="password_unchanged")
    return set_password_by_id(db, user_id, new)


def set_password_by_id(db: Database, user_id: int, password: str) -> dict[str, Any]:
    check_password_strength(password)
    with db.write() as conn:
        store.update_user(
            conn,
            user_id,
            password_hash=generate_password_hash(password),
            failed_logins=0,
            locked_until=None,
        )
        u = store.user(conn, user_id)
    assert u is not None
    return u


def session_fingerprint(user: dict[str, Any]) -> str:
    """What a session keeps of the password hash (auth.session_user compares it)."""
    return str(user["password_hash"])[-16:]


# --- personal API tokens ----------------------------------------------------------------------
def create_token(db: Database, user_id: int, label: str, now: datetime) -> tuple[int, str]:
    """A new bearer token for the user: (token id, the secret — shown once, never stored)."""
    label = " ".join((label or "").split())
    if not label:
        raise BadRequest("Hãy đặt tên cho mã truy cập (ví dụ: máy tính quầy 3).", code="bad_label")
    if len(label) > MAX_TOKEN_LABEL:
        raise BadRequest(
            f"Tên mã truy cập tối đa {MAX_TOKEN_LABEL} ký tự.", code="bad_label", field="label"
        )
    secret = new_secret()
    with db.write() as conn:
        u = store.user(conn, user_id)
        if u is None or not u["active"]:
            raise NotFound("Tài khoản không còn hoạt động.", code="unknown_user")
        token_id = staff_store.insert_token(conn, user_id, token_hash(secret), label, iso(now))
    return token_id, secret


def tokens(db: Database, user_id: int) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return staff_store.tokens(conn, user_id)


def revoke_token(db: Database, user_id: int, token_id: int, now: datetime) -> None:
    with db.write() as conn:
        if staff_store.revoke_token(conn, user_id, token_id, iso(now)) == 0:
            raise NotFound("Không có mã truy cập này (hoặc đã thu hồi).", code="unknown_token")


def revoke_all_tokens(db: Database, user_id: int, now: datetime) -> int:
    with db.write() as conn:
        return store.revoke_user_tokens(conn, user_id, iso(now))
