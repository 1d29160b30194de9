"""What a sender may make the outbox send: how many messages, and what typed text.

A department's key or a staff account writes text that goes out in an SMS in the
center's name — what a supplement request is missing, why a dossier was refused or is
late.  Without limits one caller could text any number, as often as it likes, with
any link in it.  So:

- the free text is checked where it enters (``check_free_text``): at most
  ``sms.free_text.max_length`` characters, and no link unless ``sms.free_text.links``
  is true or its host is one of ``sms.free_text.allowed_hosts`` (a 400 naming it);
- each queued SMS is counted against its sender (``per_sender_hour``) and its phone
  number (``per_number_day``, the center's local day) in the database, inside the
  transaction that queues it (``take``), so every process counts the same and a
  refused event leaves no count behind.  Past a limit the write is kept (a status is
  worth more than its SMS); the SMS is stored failed with the reason (``SmsLimit``'s
  message) and the API's answer lists it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.clock import iso
from server.config import Config
from server.errors import BadRequest, RateLimited
from server.i18n import t
from server.notify.config import sms_settings
from server.store import notifications as store

#: Top-level domains phones turn into links when written bare ("evil.com", "bit.ly");
#: with a scheme or "www." any host is a link.  Kept to real, common ones so Vietnamese
#: abbreviations with a dot ("TP.HCM", "v.v.") are not taken for links.
_TLDS = (
    "vn|com|net|org|info|biz|io|co|me|ly|xyz|top|site|online|app|dev|link|click|shop|"
    "store|cc|tk|ml|ga|cf|gq|ru|cn|to|gl|gd|be|us|uk|in|asia|pro|live|win|vip|club|gov|"
    "edu|int|tv|ws|su|pw|icu|buzz|fun|space|website|tech|cloud|page|goo|gle|so|sh|ai|gg"
)
_LINK = re.compile(
    r"(?:(?:https?|ftp)://|www\.)([^\s/?#:]+)"
    rf"|(?<![\w.@-])((?:[a-z0-9-]+\.)+(?:{_TLDS}))(?![\w-])",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\D")


def links(text: str) -> list[str]:
    """The hosts of the links in a text, lower case."""
    return [(m[1] or m[2]).lower().rstrip(".") for m in _LINK.finditer(text)]


def _allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == a or host.endswith("." + a) for a in allowed)


def check_free_text(cfg: Config, field: str, text: str | None) -> None:
    """Refuse typed text that an SMS would carry beyond the configured policy."""
    if not text:
        return
    settings = sms_settings(cfg)
    if len(text) > settings.text_max_length:
        raise BadRequest(
            t(
                "dossier.error.text_too_long",
                "vi",
                field=t(f"dossier.field.{field}", "vi"),
                max=settings.text_max_length,
                n=len(text),
            ),
            code="text_too_long",
            field=field,
            max=settings.text_max_length,
        )
    if settings.links_allowed:
        return
    banned = [h for h in links(text) if not _allowed(h, settings.allowed_hosts)]
    if banned:
        allowed = ", ".join(settings.allowed_hosts) or t("dossier.error.no_hosts", "vi")
        raise BadRequest(
            t(
                "dossier.error.link_not_allowed",
                "vi",
                field=t(f"dossier.field.{field}", "vi"),
                host=banned[0],
                allowed=allowed,
            ),
            code="link_not_allowed",
            field=field,
            host=banned[0],
        )


def number_key(phone: str) -> str:
    """One key per phone number however it is written ("+84 912…" = "0912…")."""
    digits = _DIGITS.sub("", phone)
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return "phone:" + digits


def _windows(now: datetime, tz: ZoneInfo) -> tuple[str, str]:
    """(start of the current UTC hour, start of the center's local day), as UTC ISO."""
    hour = now.astimezone(ZoneInfo("UTC")).replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    return iso(hour), iso(day)


class SmsLimit(RateLimited):
    """A sender or a number has had its share of SMS.  Never raised at a caller: its
    message is the reason a held SMS is stored failed with (listed in `sms_held`)."""

    code = "sms_limit"


def over_limit(
    conn: sqlite3.Connection, cfg: Config, sender: str | None, phone: str, now: datetime
) -> SmsLimit | None:
    """The limit one more SMS from ``sender`` to ``phone`` would break (None: none)."""
    settings = sms_settings(cfg)
    hour, day = _windows(now, cfg.tz)
    if sender and store.quota_used(conn, "sender:" + sender, hour) >= settings.per_sender_hour:
        next_hour = datetime.fromisoformat(hour) + timedelta(hours=1)
        return SmsLimit(
            t("dossier.error.sms_sender_limit", "vi", n=settings.per_sender_hour),
            retry_after=max(1, int((next_hour - now).total_seconds())),
            limit="per_sender_hour",
        )
    if store.quota_used(conn, number_key(phone), day) >= settings.per_number_day:
        tomorrow = datetime.fromisoformat(day) + timedelta(days=1)
        return SmsLimit(
            t("dossier.error.sms_number_limit", "vi", n=settings.per_number_day),
            retry_after=max(1, int((tomorrow - now).total_seconds())),
            limit="per_number_day",
        )
    return None


def take(conn: sqlite3.Connection, cfg: Config, sender: str | None, phone: str, now: datetime):
    """Count one queued SMS against its sender and number (caller checked the limits)."""
    hour, day = _windows(now, cfg.tz)
    if sender:
        store.quota_take(conn, "sender:" + sender, hour)
    store.quota_take(conn, number_key(phone), day)
    store.quota_forget(conn, iso(now - timedelta(days=2)))
