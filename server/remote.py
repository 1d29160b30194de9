"""Taking a number from home: a phone confirmed by a one-time code, the limits per
person and per service, cancelling, and checking in at the kiosk or the counter.

Every limit is counted inside the write transaction that issues the ticket — one
writer at a time on either engine — so simultaneous takes for one person can never
pass it.  A CCCD number is kept only as its keyed hash (`remote_config.cccd_hash`).

No Flask here: rate limits per phone and per address are the API's (`ctx().limits`)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from . import remote_queue
from .clock import business_day, iso
from .config import Config
from .errors import BadRequest, Conflict, NotFound, RateLimited
from .i18n import t as tr
from .notify import remote as sms
from .notify.policy import number_key
from .protocol import Channel, TicketAction, TicketStatus
from .remote_config import settings
from .store import Database, catalog
from .store import accounts as audit_store
from .store import remote as store
from .store import tickets as tickets_store
from .tickets import Issued, _issue, _move, _service_code

_PHONE = re.compile(r"^0[35789][0-9]{8}$")
_CCCD = re.compile(r"^[0-9]{12}$")
_CODE = re.compile(r"^[0-9]{6}$")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
_TRACK_URL = re.compile(r"/t/([A-Za-z0-9_-]{8,64})(?:[?#].*)?$")


def _err(key: str, **params: Any) -> str:
    return tr(f"remote.error.{key}", "vi", **params)


def phone_number(raw: Any) -> str:
    """A Vietnamese mobile number as 10 digits (0xxxxxxxxx); +84/84 accepted."""
    if not isinstance(raw, str):
        raise BadRequest(_err("bad_phone"), code="bad_phone")
    digits = re.sub(r"[\s.\-]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _PHONE.match(digits):
        raise BadRequest(_err("bad_phone"), code="bad_phone")
    return digits


def cccd_number(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _CCCD.match(raw.strip()):
        raise BadRequest(_err("bad_cccd"), code="bad_cccd")
    return raw.strip()


def cccd_from_qr(raw: str) -> str | None:
    """The ID number on a CCCD chip card's QR: `id|old id|name|birth|sex|address|issued`."""
    parts = raw.strip().split("|")
    if len(parts) >= 7 and _CCCD.match(parts[0].strip()):
        return parts[0].strip()
    return None


def token_from_scan(raw: str) -> str | None:
    """A ticket token from what a scanner typed: the tracking URL or the token alone."""
    raw = raw.strip()
    m = _TRACK_URL.search(raw)
    if m:
        return m.group(1)
    return raw if _TOKEN.fullmatch(raw) else None


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _require_enabled(cfg: Config) -> None:
    if not settings(cfg).enabled:
        raise Conflict(_err("off"), code="remote_off")


# --- the one-time code --------------------------------------------------------------------
def send_code(db: Database, cfg: Config, phone: str, now: datetime) -> dict[str, Any]:
    """Text a new 6-digit code to `phone` (replacing any earlier one)."""
    _require_enabled(cfg)
    s = settings(cfg)
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    key = number_key(phone)
    with db.write() as conn:
        store.put_otp(
            conn,
            key,
            f"{salt}${_hash(salt + code)}",
            iso(now),
            iso(now + timedelta(seconds=s.otp_ttl_s)),
        )
        sms.queue(
            conn,
            cfg,
            kind="otp",
            phone=phone,
            key=f"{key}:{secrets.token_hex(6)}",
            params={"center": cfg.center_name, "otp": code},
            now=now,
            must=True,
        )
    return {"sent": True, "expires_in_s": s.otp_ttl_s}


def _code_matches(stored: str, code: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(digest, _hash(salt + code))


def verify_code(db: Database, cfg: Config, phone: str, code: Any, now: datetime) -> str:
    """A proof that `phone` is the caller's (a secret the page sends with `take`), for
    the right code.  Each try counts, committed even when wrong; after
    `remote.otp_attempts` tries the code is gone."""
    _require_enabled(cfg)
    s = settings(cfg)
    if not isinstance(code, str) or not _CODE.match(code.strip()):
        raise BadRequest(_err("bad_code"), code="bad_code")
    key = number_key(phone)
    refusal: Exception | None = None
    proof = secrets.token_urlsafe(24)
    with db.write() as conn:
        row = store.otp(conn, key)
        if row is None or row["expires_at"] < iso(now):
            refusal = BadRequest(_err("code_expired"), code="code_expired")
        elif row["attempts"] >= s.otp_attempts:
            store.drop_otp(conn, key)
            refusal = RateLimited(_err("code_locked"), code="code_locked", retry_after=60)
        else:
            store.otp_attempt(conn, key)
            if _code_matches(row["code_hash"], code.strip()):
                store.drop_otp(conn, key)
                expires = iso(now + timedelta(seconds=s.proof_ttl_s))
                store.put_proof(conn, _hash(proof), phone, expires, iso(now))
            else:
                left = s.otp_attempts - row["attempts"] - 1
                if left <= 0:
                    store.drop_otp(conn, key)
                    refusal = RateLimited(_err("code_locked"), code="code_locked", retry_after=60)
                else:
                    refusal = BadRequest(
                        _err("code_wrong", n=left), code="code_wrong", attempts_left=left
                    )
    if refusal is not None:
        raise refusal
    return proof


def proven_phone(db: Database, proof: Any, now: datetime) -> str:
    if not isinstance(proof, str) or not proof or len(proof) > 64:
        raise BadRequest(_err("no_proof"), code="phone_not_confirmed")
    with db.read() as conn:
        phone = store.proof_phone(conn, _hash(proof), iso(now))
    if phone is None:
        raise BadRequest(_err("no_proof"), code="phone_not_confirmed")
    return phone


# --- taking, cancelling -------------------------------------------------------------------
def take(
    db: Database,
    cfg: Config,
    *,
    service: Any,
    phone: str,
    cccd_hash: str | None,
    source: str,
    now: datetime,
) -> Issued:
    """Take today's next number of `service` for a confirmed `phone`: it queues now and
    is called once checked in.  The day's limits per person (phone, and CCCD when
    given) and per service are checked in the same transaction."""
    _require_enabled(cfg)
    s = settings(cfg)
    code = _service_code(service)
    day = business_day(now, cfg.tz).isoformat()
    key = number_key(phone)
    with db.write() as conn:
        if code in store.closed(conn, day):
            raise Conflict(_err("closed_today"), code="remote_closed")
        mine = store.taken(conn, day, key, cccd_hash)
        if len(mine) >= s.per_person_day:
            raise Conflict(
                _err("limit_person", n=s.per_person_day),
                code="limit_person",
                limit=s.per_person_day,
            )
        if sum(1 for r in mine if r["service"] == code) >= s.per_service_day:
            raise Conflict(
                _err("limit_service", n=s.per_service_day),
                code="limit_service",
                limit=s.per_service_day,
            )
        issued = _issue(
            conn,
            cfg,
            code=code,
            priority="normal",
            channel=str(Channel.REMOTE),
            device_id=None,
            phone=phone,
            now=now,
            pending_checkin=True,
        )
        issued.ticket["pending_checkin"] = 1
        store.insert(
            conn,
            {
                "ticket_id": issued.ticket["id"],
                "day": day,
                "service": issued.ticket["service"],
                "phone_key": key,
                "cccd_hash": cccd_hash,
                "source": source,
                "created_at": iso(now),
            },
        )
        # taken with few enough people ahead: told at once that the turn is near
        remote_queue.near_turn(
            conn, cfg, day=day, services=[issued.ticket["queue_service"]], now=now
        )
        return issued


def _remote_by_token(conn: Any, token: str) -> dict[str, Any]:
    t = tickets_store.ticket_by_token(conn, token) if _TOKEN.fullmatch(token) else None
    if t is None or t["channel"] != Channel.REMOTE:
        raise NotFound(_err("unknown_ticket"), code="unknown_ticket")
    return t


def cancel(db: Database, cfg: Config, token: str, actor: str, now: datetime) -> dict[str, Any]:
    """The holder gives the number back (only while it waits)."""
    at = iso(now)
    with db.write() as conn:
        t = _remote_by_token(conn, token)
        if t["status"] != TicketStatus.WAITING:
            raise Conflict(_err("cannot_cancel"), code="invalid_transition", status=t["status"])
        return _move(
            conn,
            t,
            TicketAction.CANCEL,
            TicketStatus.CANCELLED,
            at,
            actor,
            None,
            {"by": "citizen"},
            finished_at=at,
            pending_checkin=0,
        )


# --- check-in -----------------------------------------------------------------------------
def _checkable(t: dict[str, Any], day: str) -> None:
    if t["day"] != day:
        raise Conflict(_err("not_today"), code="not_today")
    if t["status"] == TicketStatus.LAPSED:
        raise Conflict(_err("lapsed"), code="lapsed")
    if t["status"] != TicketStatus.WAITING:
        raise Conflict(_err("cannot_check_in"), code="invalid_transition", status=t["status"])
    if not t["pending_checkin"]:
        raise Conflict(_err("already_checked_in"), code="already_checked_in")


def check_in_ticket(
    db: Database,
    cfg: Config,
    *,
    ticket_id: int | None = None,
    token: str | None = None,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Check in one remote ticket, by id (staff) or by token (its QR at the kiosk)."""
    day = business_day(now, cfg.tz).isoformat()
    with db.write() as conn:
        if token is not None:
            t = _remote_by_token(conn, token)
        else:
            found = tickets_store.ticket(conn, ticket_id or 0)
            if found is None or found["channel"] != Channel.REMOTE:
                raise NotFound(_err("unknown_ticket"), code="unknown_ticket")
            t = found
        _checkable(t, day)
        return remote_queue.check_in(conn, t, iso(now), actor)


def check_in_cccd(
    db: Database, cfg: Config, cccd_hash: str, actor: str, now: datetime
) -> list[dict[str, Any]]:
    """Check in every remote ticket of today that a CCCD's holder took."""
    day = business_day(now, cfg.tz).isoformat()
    with db.write() as conn:
        found = store.by_cccd(conn, day, cccd_hash)
        if not found:
            raise NotFound(_err("none_for_cccd"), code="no_remote_ticket")
        return [remote_queue.check_in(conn, t, iso(now), actor) for t in found]


# --- the supervisor -----------------------------------------------------------------------
def set_closed(
    db: Database, cfg: Config, service: Any, closed: bool, actor: str, now: datetime
) -> None:
    """Close (or reopen) remote issuing of a service for today; kiosks go on issuing."""
    code = _service_code(service)
    day = business_day(now, cfg.tz).isoformat()
    with db.write() as conn:
        if catalog.service(conn, code) is None:
            raise NotFound(f"Không có lĩnh vực '{code}'.", code="unknown_service")
        if closed:
            store.close(conn, code, day, actor, iso(now))
        else:
            store.reopen(conn, code, day)
        audit_store.add_audit(
            conn,
            iso(now),
            actor,
            "remote_closed" if closed else "remote_reopened",
            code,
            None,
            None,
        )


def summary(db: Database, cfg: Config, now: datetime) -> dict[str, Any]:
    """Today's remote tickets per service (taken, checked in, lapsed …) and the lapse
    rate: lapsed among those whose fate is known (called, lapsed)."""
    day = business_day(now, cfg.tz).isoformat()
    with db.read() as conn:
        rows = store.day_counts(conn, day)
        closed = store.closed(conn, day)
        near = store.near_sent(conn, day)
        services = catalog.services(conn, active_only=True)
    out = []
    for s in services:
        mine = [r for r in rows if r[0] == s["code"]]
        n = {
            k: 0 for k in ("taken", "not_checked_in", "checked_in", "lapsed", "cancelled", "called")
        }
        for _, status, pending, count in mine:
            n["taken"] += count
            if status == TicketStatus.WAITING:
                n["not_checked_in" if pending else "checked_in"] += count
            elif status == TicketStatus.LAPSED:
                n["lapsed"] += count
            elif status == TicketStatus.CANCELLED:
                n["cancelled"] += count
            else:
                n["called"] += count
        decided = n["lapsed"] + n["called"]
        out.append(
            {
                "code": s["code"],
                "name_vi": s["name_vi"],
                **n,
                "lapse_rate": round(n["lapsed"] / decided, 4) if decided else None,
                "remote_open": s["code"] not in closed,
            }
        )
    return {"day": day, "services": out, "near_sms": near}


def channel_report(db: Database, first: str, last: str) -> list[dict[str, Any]]:
    """Tickets and waits by channel (kiosk, staff, remote) over the days `first`..`last`,
    with the remote lapse rate (lapsed among tickets whose holder was called or lapsed)."""
    with db.read() as conn:
        rows = store.channel_counts(conn, first, last)
    out = []
    for channel in sorted({r["channel"] for r in rows}):
        mine = [r for r in rows if r["channel"] == channel]
        by = {r["status"]: r["n"] for r in mine}
        called = sum(r["called"] for r in mine)
        wait = sum(r["wait_min"] or 0.0 for r in mine)
        lapsed = by.get(TicketStatus.LAPSED, 0)
        reached = lapsed + called
        out.append(
            {
                "channel": channel,
                "tickets": sum(by.values()),
                "served": by.get(TicketStatus.DONE, 0),
                "no_show": by.get(TicketStatus.NO_SHOW, 0),
                "cancelled": by.get(TicketStatus.CANCELLED, 0),
                "lapsed": lapsed,
                "wait_mean_min": round(wait / called, 1) if called else None,
                "lapse_rate": round(lapsed / reached, 4)
                if reached and channel == Channel.REMOTE
                else None,
            }
        )
    return out
