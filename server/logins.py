"""Signing staff in and out, throttling guessers, server-side sessions, changing
passwords, personal API tokens, and whether a live connection's credential still holds.

Throttle: failed sign-ins are counted in the database per (address, account) and per
address over all accounts.  Five failures on one account from one address, or twenty
from one address in all, block that address (for that account, or for every account)
for a minute, then twice as long after each further failure, up to 15 minutes.  So a
guesser only ever blocks itself: the owner signing in from another address is never
refused.  An unknown name is counted, hashed and answered exactly like a known one, so
neither the answer nor its timing tells which names exist.

Password hashes (scrypt: ~0.1–0.2 s of a core and 32 MB each) run off the event loop,
in the server's thread pool (`db.offload`), so a sign-in never stops the kiosks and
boards meanwhile; at most MAX_HASHING_PER_ADDRESS of one address's sign-ins and
MAX_HASHING of all are checked at once — beyond, the attempt is answered "busy, try again
in a few seconds" without hashing, so a burst cannot queue minutes of work.

Sessions: a staff browser's signed cookie carries a random session id, and the server
keeps its SHA-256 in `staff_session`; signing out, a password change, an admin's reset
or deactivation revoke it there, so even a copy of the cookie stops working at once."""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from werkzeug.security import generate_password_hash

from .accounts import Identity, check_password_strength, new_secret, token_hash, verify_password
from .clock import iso, parse_iso
from .errors import BadRequest, NotFound
from .store import Database
from .store import accounts as store
from .store import sessions as session_store
from .store import staff as staff_store
from .store.sessions import ANY_ACCOUNT

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_BLOCK_S = 60
MAX_BLOCK_S = 15 * 60
#: A count of failures starts again after a day without one.
FORGET_FAILURES = timedelta(hours=24)
#: A session lasts as long as its signed cookie can (Flask's 31 days).
SESSION_LIFETIME = timedelta(days=31)
#: How stale a session's last_seen may get before a request writes it again.
SESSION_TOUCH = timedelta(minutes=5)
MAX_TOKEN_LABEL = 60
MAX_ADDRESS = 64
MAX_HASHING = 4
MAX_HASHING_PER_ADDRESS = 2
BUSY_RETRY_S = 5
_DUMMY = {"password_hash": generate_password_hash("motcua-timing-equaliser")}


class LoginFailed(Exception):
    """Wrong name or password, or a deactivated account — one answer for all three.

    `blocked_s` is set when this failure started a block of the address."""

    def __init__(self, blocked_s: int = 0) -> None:
        super().__init__("bad_credentials")
        self.blocked_s = blocked_s


class Busy(Exception):
    """Too many sign-ins being checked right now (from this address, or in all)."""

    seconds = BUSY_RETRY_S


class _InFlight:
    """Sign-ins whose password is being checked, per address.  Its lock is held only to
    count (never while hashing), so it is safe on the event loop's thread too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_address: dict[str, int] = {}
        self._total = 0

    def enter(self, address: str) -> bool:
        with self._lock:
            mine = self._by_address.get(address, 0)
            if self._total >= MAX_HASHING or mine >= MAX_HASHING_PER_ADDRESS:
                return False
            self._by_address[address] = mine + 1
            self._total += 1
            return True

    def leave(self, address: str) -> None:
        with self._lock:
            self._total -= 1
            left = self._by_address.pop(address, 1) - 1
            if left:
                self._by_address[address] = left


_in_flight = _InFlight()


def off_loop(db: Database, work: Callable[[], Any]) -> Any:
    """Run CPU-heavy work (a password hash) where it does not stop the event loop: the
    server's thread pool when it has one (`db.offload`; hashlib releases the GIL)."""
    return work() if db.offload is None else db.offload(work)


def _check(db: Database, user: dict[str, Any], password: str) -> bool:
    return bool(off_loop(db, lambda: verify_password(user, password)))


def _new_hash(db: Database, password: str) -> str:
    return str(off_loop(db, lambda: generate_password_hash(password)))


class Throttled(Exception):
    """This address is blocked (for this account, or for all): try again in `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__("throttled")
        self.seconds = seconds

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))


def normal_username(username: str | None) -> str:
    return (username or "").strip().lower()[:40]


def block_seconds(failures: int, free: int) -> int:
    """How long `failures` in a row block the address: none before `free`, then a minute,
    doubling with each further failure, at most MAX_BLOCK_S."""
    if failures < free:
        return 0
    return min(MAX_BLOCK_S, FIRST_BLOCK_S * 2 ** min(failures - free, 16))


def authenticate(
    db: Database, username: str, password: str, now: datetime, *, address: str = "local"
) -> dict[str, Any]:
    """The user row when the password is right; raises Throttled while this address is
    blocked for this account (or for all), Busy while too many sign-ins are being
    checked, LoginFailed otherwise."""
    name = normal_username(username)
    address = (address or "unknown")[:MAX_ADDRESS]
    with db.connection() as conn:
        until = session_store.blocked_until(conn, address, [name, ANY_ACCOUNT])
        u = store.user_by_name(conn, name)
    if until is not None and parse_iso(until) > now:
        raise Throttled((parse_iso(until) - now).total_seconds())
    if not _in_flight.enter(address):
        raise Busy()
    try:
        ok = _check(db, u or _DUMMY, password or "")
    finally:
        _in_flight.leave(address)
    if u is not None and u["active"] and ok:
        with db.write() as conn:
            session_store.clear_failures(conn, address, name)
        return u
    with db.write() as conn:
        blocked = max(
            _count_failure(conn, address, name, ACCOUNT_FREE_FAILURES, now),
            _count_failure(conn, address, ANY_ACCOUNT, ADDRESS_FREE_FAILURES, now),
        )
        session_store.prune_failures(conn, iso(now - FORGET_FAILURES))
    raise LoginFailed(blocked)


def _count_failure(conn: Any, address: str, name: str, free: int, now: datetime) -> int:
    row = session_store.failures(conn, address, name)
    fresh = row is not None and parse_iso(row["last_failure"]) > now - FORGET_FAILURES
    count = row["failures"] + 1 if row is not None and fresh else 1
    wait = block_seconds(count, free)
    until = iso(now + timedelta(seconds=wait)) if wait else None
    session_store.save_failures(conn, address, name, count, until, iso(now))
    return wait


def unlock(db: Database, username: str) -> int:
    """Forget the failed sign-ins on this account from every address (`motcua user
    unlock`); returns how many addresses were blocked or counting."""
    name = normal_username(username)
    with db.write() as conn:
        if store.user_by_name(conn, name) is None:
            raise NotFound(f"Không có tài khoản {name}.", code="unknown_user")
        return session_store.clear_account(conn, name)


# --- sessions -------------------------------------------------------------------------------
def start_session(db: Database, user_id: int, now: datetime, address: str | None = None) -> str:
    """A new session for the user; returns its id (for the signed cookie, never stored)."""
    raw = secrets.token_urlsafe(32)
    with db.write() as conn:
        session_store.prune_sessions(conn, iso(now - SESSION_LIFETIME))
        session_store.insert_session(
            conn, token_hash(raw), user_id, iso(now), (address or "")[:MAX_ADDRESS] or None
        )
    return raw


def session_user(db: Database, raw: Any, now: datetime) -> dict[str, Any] | None:
    """The user row of a live session (its `session_id` and `session_hash` added), or
    None when the session was revoked, has expired or never existed."""
    if not isinstance(raw, str) or not raw or len(raw) > 100:
        return None
    h = token_hash(raw)
    with db.connection() as conn:
        row = session_store.live_session(conn, h, iso(now - SESSION_LIFETIME))
    if row is None:
        return None
    if parse_iso(row["session_seen"]) < now - SESSION_TOUCH:
        with db.write() as conn:
            session_store.touch_session(conn, row["session_id"], iso(now))
    return {**row, "session_hash": h}


def end_session(db: Database, raw: Any, now: datetime) -> str | None:
    """Revoke this session (signing out); returns its hash, to drop its connections."""
    if not isinstance(raw, str) or not raw:
        return None
    h = token_hash(raw)
    with db.write() as conn:
        session_store.revoke_session(conn, h, iso(now))
    return h


def end_all_sessions(db: Database, user_id: int, now: datetime) -> int:
    with db.write() as conn:
        return session_store.revoke_user_sessions(conn, user_id, iso(now))


# --- passwords ------------------------------------------------------------------------------
def change_password(
    db: Database, user_id: int, current: str, new: str, confirm: str, now: datetime
) -> dict[str, Any]:
    """Check the current password and store the new one (returns the updated row).

    Every session and personal API token of the account ends with this change (see
    set_password_by_id); the caller opens a new session for the browser that asked."""
    with db.connection() as conn:
        u = store.user(conn, user_id)
    if u is None or not u["active"]:
        raise NotFound("Tài khoản không còn hoạt động.", code="unknown_user")
    if not _check(db, u, current or ""):
        raise BadRequest("Mật khẩu hiện tại không đúng.", code="wrong_password")
    if new != confirm:
        raise BadRequest("Mật khẩu mới và mật khẩu nhập lại không khớp.", code="password_mismatch")
    check_password_strength(new)
    if _check(db, u, new):
        raise BadRequest("Mật khẩu mới phải khác mật khẩu hiện tại.", code="password_unchanged")
    return set_password_by_id(db, user_id, new, now)


def set_password_by_id(db: Database, user_id: int, password: str, now: datetime) -> dict[str, Any]:
    """Store a new password.  Whoever held the old one may have signed in or made tokens
    with it, so every session and personal API token of the account is revoked in the
    same transaction, and the account's failed sign-ins are forgotten."""
    check_password_strength(password)
    new_hash = _new_hash(db, password)
    with db.write() as conn:
        store.update_user(conn, user_id, password_hash=new_hash)
        session_store.revoke_user_sessions(conn, user_id, iso(now))
        store.revoke_user_tokens(conn, user_id, iso(now))
        u = store.user(conn, user_id)
        if u is None:
            raise NotFound("Không có tài khoản này.", code="unknown_user")
        session_store.clear_account(conn, u["username"])
    return u


def set_password_by_name(db: Database, username: str, password: str, now: datetime) -> dict:
    name = normal_username(username)
    with db.connection() as conn:
        u = store.user_by_name(conn, name)
    if u is None:
        raise NotFound(f"Không có tài khoản {name}.", code="unknown_user")
    return set_password_by_id(db, u["id"], password, now)


# --- do open connections still hold? --------------------------------------------------------
def still_valid(db: Database, identities: Sequence[Identity], now: datetime) -> list[bool]:
    """For each identity a Socket.IO connection was accepted with: does what proved it
    still hold?  A revoked or rotated device token, a revoked session or personal token,
    a deactivated account or changed rights all say no — whichever process made the
    change (the admin pages, or `motcua` on the command line)."""
    users = sorted({w.id for w in identities if w.kind == "user"})
    devices = sorted({w.id for w in identities if w.kind == "device"})
    tokens = sorted({w.credential for w in identities if w.kind == "user" and w.via == "token"})
    sessions = sorted({w.credential for w in identities if w.via == "session"})
    with db.read() as conn:
        user_rows = store.users_by_ids(conn, users) if users else {}
        device_rows = store.devices_by_ids(conn, devices) if devices else {}
        live_tokens = store.live_token_hashes(conn, tokens) if tokens else set()
        live_sessions = (
            session_store.live_session_hashes(conn, sessions, iso(now - SESSION_LIFETIME))
            if sessions
            else {}
        )

    def holds(w: Identity) -> bool:
        if w.kind == "device":
            d = device_rows.get(w.id)
            return d is not None and not d["revoked_at"] and d["token_hash"].endswith(w.credential)
        if w.kind != "user":
            return True
        u = user_rows.get(w.id)
        if u is None or not u["active"] or u["role"] != w.role:
            return False
        if tuple(u["counters"]) != w.counters:
            return False
        if w.via == "token":
            return w.credential in live_tokens
        if w.via == "session":
            return live_sessions.get(w.credential) == w.id
        return True

    return [holds(w) for w in identities]


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
