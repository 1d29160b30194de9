"""The `sms:` section of config.yaml, validated with messages that name the key.

    sms:
      enabled: true
      gateway: file          # file (DATA/sms.log, the default) | http
      ascii_only: true       # send the text without diacritics (most gateways need it)
      max_attempts: 5
      backoff_seconds: 30    # first retry after 30 s, then 60, 120 … (capped at 1 h)
      max_age_hours: 48      # an event older than this (e.g. a backfill import) sends nothing
      worker: true           # run the sender inside the server (else: `motcua notify-worker`)
      limits:                # database-backed counts, shared by every process
        per_sender_hour: 100 # SMS one API key or staff account may cause in an hour
        per_number_day: 5    # SMS one phone number may receive in a (local) day
      free_text:             # what staff and departments type that goes into an SMS
        max_length: 300      # "missing" of a supplement request, reasons (refusal, delay)
        links: false         # true: any link; false: only allowed_hosts
        allowed_hosts: [dichvucong.gov.vn]
      templates:             # per kind: received, ready, supplement, rejected, late
        ready: "Ho so {code} da co ket qua. Moi ong/ba den {place} de nhan."
      http:
        url: "https://sms.example.vn/api/send"
        method: POST         # POST | PUT | GET
        headers: {Authorization: "Bearer …"}
        body: {to: "{phone}", message: "{text}", ref: "{id}"}   # a mapping is sent as JSON,
                             # text is sent as it is; GET puts the values in the url
        timeout: 10
        ascii_only: true     # overrides sms.ascii_only for this gateway
        idempotent: false    # true: the provider drops a message whose {id} it already took,
                             # so one interrupted while being sent is sent again (same id)
                             # instead of ending failed; needs {id} in url, headers or body

Placeholders in url, headers and body: {phone}, {text}, {id} (the outbox row's event key,
stable across retries so a gateway can drop a duplicate) and {kind}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

from server.config import Config, ConfigError, shown
from server.notify.notices import NoticeError, check_templates
from server.per_config import PerConfig

PLACEHOLDERS = frozenset({"phone", "text", "id", "kind"})
_KNOWN = {
    "enabled",
    "gateway",
    "ascii_only",
    "max_attempts",
    "backoff_seconds",
    "max_age_hours",
    "worker",
    "templates",
    "http",
    "poll_seconds",
    "lease_seconds",
    "limits",
    "free_text",
}
_LIMITS_KNOWN = {"per_sender_hour", "per_number_day"}
_FREE_TEXT_KNOWN = {"max_length", "links", "allowed_hosts"}
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HTTP_KNOWN = {"url", "method", "headers", "body", "timeout", "ascii_only", "idempotent"}


@dataclass(frozen=True)
class HttpSettings:
    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    timeout: float = 10.0
    ascii_only: bool = True
    #: The provider drops a second message with the same {id}: see ``notify.worker``.
    idempotent: bool = False


@dataclass(frozen=True)
class SmsSettings:
    enabled: bool = True
    gateway: str = "file"
    ascii_only: bool = True
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    max_age_hours: float = 48.0
    worker: bool = True
    poll_seconds: float = 2.0
    lease_seconds: float = 120.0
    templates: dict[str, str] = field(default_factory=dict)
    http: HttpSettings | None = None
    #: Volume limits (``sms.limits``) and the policy for typed text (``sms.free_text``).
    per_sender_hour: int = 100
    per_number_day: int = 5
    text_max_length: int = 300
    links_allowed: bool = False
    allowed_hosts: tuple[str, ...] = ()


def _check_placeholders(text: str, where: str) -> None:
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conv:
            raise ConfigError(
                f"{where}: unknown placeholder {{{name}}} (use {', '.join(sorted(PLACEHOLDERS))})"
            )


def _walk_body(value: Any, where: str) -> None:
    if isinstance(value, str):
        _check_placeholders(value, where)
    elif isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{where}: keys must be text, got {shown(k)}")
            _walk_body(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk_body(v, f"{where}[{i}]")
    elif value is not None and not isinstance(value, int | float | bool):
        raise ConfigError(f"{where}: expected text, a number, a list or a mapping")


def _number(raw: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float):
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: expected a number {lo:g}–{hi:g}, got {shown(value)}")
    return value


def _flag(raw: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: expected true/false, got {shown(value)}")
    return value


def _http(raw: Any, ascii_default: bool) -> HttpSettings:
    if not isinstance(raw, dict):
        raise ConfigError("sms.http: required as a mapping when sms.gateway is http")
    for key in raw:
        if key not in _HTTP_KNOWN:
            raise ConfigError(
                f"sms.http.{key}: unknown key (known: {', '.join(sorted(_HTTP_KNOWN))})"
            )
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"sms.http.url: required, must start with http:// or https://, got {shown(url)}"
        )
    _check_placeholders(url, "sms.http.url")
    method = str(raw.get("method", "POST")).upper()
    if method not in ("POST", "PUT", "GET"):
        raise ConfigError(
            f"sms.http.method: must be POST, PUT or GET, got {shown(raw.get('method'))}"
        )
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict):
        raise ConfigError("sms.http.headers: expected a mapping of header names to text")
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str | int):
            raise ConfigError(f"sms.http.headers.{name}: expected text")
        _check_placeholders(str(value), f"sms.http.headers.{name}")
    body = raw.get("body")
    if method == "GET" and body is not None:
        raise ConfigError("sms.http.body: a GET gateway takes its values in sms.http.url")
    if method != "GET" and body is None:
        raise ConfigError(
            "sms.http.body: required for POST/PUT (e.g. {to: '{phone}', message: '{text}'})"
        )
    _walk_body(body, "sms.http.body")
    blob = f"{url} {body}"
    if "{phone}" not in blob or "{text}" not in blob:
        raise ConfigError("sms.http: url or body must use both {phone} and {text}")
    idempotent = _flag(raw, "idempotent", "sms.http", False)
    if idempotent and "{id}" not in f"{blob} {headers}":
        raise ConfigError(
            "sms.http.idempotent: the provider can only drop a duplicate it can recognise: "
            "put {id} in sms.http.url, headers or body"
        )
    return HttpSettings(
        url=url,
        method=method,
        headers={str(k): str(v) for k, v in headers.items()},
        body=body,
        timeout=float(_number(raw, "timeout", "sms.http", 10, 0.1, 120)),
        ascii_only=_flag(raw, "ascii_only", "sms.http", ascii_default),
        idempotent=idempotent,
    )


def _section(raw: dict[str, Any], key: str, known: set[str]) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"sms.{key}: expected a mapping, got {type(value).__name__}")
    for name in value:
        if name not in known:
            raise ConfigError(f"sms.{key}.{name}: unknown key (known: {', '.join(sorted(known))})")
    return value


def _hosts(raw: dict[str, Any]) -> tuple[str, ...]:
    hosts = raw.get("allowed_hosts") or []
    if not isinstance(hosts, list) or len(hosts) > 50:
        raise ConfigError("sms.free_text.allowed_hosts: expected a list of at most 50 host names")
    out = []
    for i, host in enumerate(hosts):
        name = host.strip().lower().rstrip(".") if isinstance(host, str) else ""
        if not _HOST.match(name):
            raise ConfigError(
                f"sms.free_text.allowed_hosts[{i}]: expected a host name such as "
                f"dichvucong.gov.vn, got {shown(host)}"
            )
        out.append(name)
    return tuple(out)


def parse_sms(cfg: Config) -> SmsSettings:
    raw = cfg.extra.get("sms") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"sms: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in _KNOWN:
            raise ConfigError(f"sms.{key}: unknown key (known: {', '.join(sorted(_KNOWN))})")
    gateway = raw.get("gateway", "file")
    if gateway not in ("file", "http"):
        raise ConfigError(f"sms.gateway: must be file or http, got {shown(gateway)}")
    ascii_only = _flag(raw, "ascii_only", "sms", True)
    templates = raw.get("templates") or {}
    if not isinstance(templates, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in templates.items()
    ):
        raise ConfigError("sms.templates: expected a mapping of kind to text")
    try:
        check_templates(templates)
    except NoticeError as exc:
        raise ConfigError(f"sms.templates: {exc.message}") from None
    limits = _section(raw, "limits", _LIMITS_KNOWN)
    free_text = _section(raw, "free_text", _FREE_TEXT_KNOWN)
    return SmsSettings(
        enabled=_flag(raw, "enabled", "sms", True),
        gateway=gateway,
        ascii_only=ascii_only,
        max_attempts=int(_number(raw, "max_attempts", "sms", 5, 1, 50)),
        backoff_seconds=float(_number(raw, "backoff_seconds", "sms", 30, 0, 86400)),
        max_age_hours=float(_number(raw, "max_age_hours", "sms", 48, 0, 24 * 365)),
        worker=_flag(raw, "worker", "sms", True),
        poll_seconds=float(_number(raw, "poll_seconds", "sms", 2, 0.05, 600)),
        lease_seconds=float(_number(raw, "lease_seconds", "sms", 120, 1, 86400)),
        templates=dict(templates),
        http=_http(raw.get("http"), ascii_only) if gateway == "http" else None,
        per_sender_hour=int(_number(limits, "per_sender_hour", "sms.limits", 100, 1, 100_000)),
        per_number_day=int(_number(limits, "per_number_day", "sms.limits", 5, 1, 1000)),
        text_max_length=int(_number(free_text, "max_length", "sms.free_text", 300, 20, 1000)),
        links_allowed=_flag(free_text, "links", "sms.free_text", False),
        allowed_hosts=_hosts(free_text),
    )


_parsed: PerConfig[SmsSettings] = PerConfig(parse_sms)


def sms_settings(cfg: Config) -> SmsSettings:
    """Parsed once per Config object."""
    return _parsed(cfg)
