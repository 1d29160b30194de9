"""Transport security of the session cookie, behind a reverse proxy or not.

Centers often put nginx (with the TLS certificate) in front of the server.  Then the
server only sees plain HTTP from the proxy, and trusts X-Forwarded-For/-Proto/-Host
only from as many proxies as config `security.trusted_proxies` says (0 by default:
nobody's headers are believed, so a client cannot spoof its address to dodge the login
rate limit).  The session cookie is marked Secure whenever the request arrived over
HTTPS, so the same server works on the LAN over HTTP and on the internet over TLS.

Socket.IO connections from a browser carry an Origin: only the server's own (the host
the request was sent to, `center.public_url`, and `security.allowed_origins`) may
connect, so another site's page cannot open a staff member's socket with their
cookie.  Kiosk agents and pygame boards (python-socketio) send either no Origin or
one naming the host they connect to, so they keep working."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Config, ConfigError, shown

_KEYS = {"trusted_proxies", "allowed_origins"}
MAX_PROXIES = 5
MAX_ORIGINS = 50


@dataclass(frozen=True)
class SecuritySettings:
    trusted_proxies: int = 0
    #: Other sites' pages allowed to open Socket.IO connections (scheme://host[:port]).
    allowed_origins: tuple[str, ...] = ()


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL (lower case), None if it has none."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 — raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _origins(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(
            f"security.allowed_origins: expected a list of origins, got {type(raw).__name__}"
        )
    if len(raw) > MAX_ORIGINS:
        raise ConfigError(f"security.allowed_origins: at most {MAX_ORIGINS} origins")
    found = []
    for i, item in enumerate(raw):
        origin = origin_of(item) if isinstance(item, str) else None
        if origin is None or urlsplit(item.strip()).path not in ("", "/") or "?" in item:
            raise ConfigError(
                f"security.allowed_origins[{i}]: expected an origin such as "
                f"https://motcua.example.gov.vn (scheme and host, no path), got {shown(item)}"
            )
        found.append(origin)
    return tuple(found)


def settings(cfg: Config) -> SecuritySettings:
    """Validate config's `security` section (raises ConfigError naming the key)."""
    raw = cfg.extra.get("security")
    if raw is None:
        return SecuritySettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"security: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(f"security.{key}: unknown key (known: {', '.join(sorted(_KEYS))})")
    proxies = raw.get("trusted_proxies", 0)
    if proxies is None:
        proxies = 0
    if isinstance(proxies, bool) or not isinstance(proxies, int):
        raise ConfigError(
            f"security.trusted_proxies: expected a whole number, got {type(proxies).__name__} "
            f"({shown(proxies)})"
        )
    if not 0 <= proxies <= MAX_PROXIES:
        raise ConfigError(
            f"security.trusted_proxies: must be between 0 and {MAX_PROXIES}, got {proxies}"
        )
    return SecuritySettings(
        trusted_proxies=proxies, allowed_origins=_origins(raw.get("allowed_origins"))
    )


def origin_check(s: SecuritySettings, public_url: str | None) -> Callable[..., bool]:
    """What Socket.IO's `cors_allowed_origins` calls with a connection's Origin (only
    when it has one) and its WSGI environ: True for the server's own origins
    (`center.public_url` when set, and whatever Host the connection came to)."""
    own = origin_of(public_url) if public_url else None
    fixed = {o for o in (own, *s.allowed_origins) if o}

    def allowed(origin: str | None, environ: Mapping[str, Any] | None = None) -> bool:
        if not origin:
            return True  # not a browser: the token or cookie decides
        origin = origin.strip().lower()
        if origin in fixed:
            return True
        hosts = [str((environ or {}).get("HTTP_HOST") or "")]
        forwarded = str((environ or {}).get("HTTP_X_FORWARDED_HOST") or "")
        if s.trusted_proxies and forwarded:
            chain = [h.strip() for h in forwarded.split(",")]
            hosts.append(chain[-min(s.trusted_proxies, len(chain))])
        # Either scheme: behind a TLS proxy the server itself sees plain HTTP.
        return any(origin in (f"http://{h}", f"https://{h}") for h in map(str.lower, hosts) if h)

    return allowed


class _SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, Secure over HTTPS (directly or via a trusted proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or request.is_secure)

    _signer: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Without a session cookie (API calls, a kiosk's first page) the session is new
        and empty; Flask would find that out by a lookup that raises inside werkzeug."""
        if self.get_cookie_name(app) not in request.cookies:
            return None if self.get_signing_serializer(app) is None else self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask builds this serializer anew for every request, API calls included (a
        tenth of a small request's time); it depends only on the keys, so it is kept
        until they change."""
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._signer is None or self._signer[0] != keys:
            self._signer = (keys, super().get_signing_serializer(app))
        return self._signer[1]


def install(app: Flask, cfg: Config) -> SecuritySettings:
    s = settings(cfg)
    app.session_interface = _SessionInterface()
    if s.trusted_proxies:
        n = s.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n
        )
    app.extensions["motcua.security"] = s
    return s
