"""Transport security of the session cookie, behind a reverse proxy or not.

Centers often put nginx (with the TLS certificate) in front of the server.  Then the
server only sees plain HTTP from the proxy, and trusts X-Forwarded-For/-Proto/-Host
only from as many proxies as config `security.trusted_proxies` says (0 by default:
nobody's headers are believed, so a client cannot spoof its address to dodge the login
rate limit).  The session cookie is marked Secure whenever the request arrived over
HTTPS, so the same server works on the LAN over HTTP and on the internet over TLS."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Config, ConfigError, shown

_KEYS = {"trusted_proxies"}
MAX_PROXIES = 5


@dataclass(frozen=True)
class SecuritySettings:
    trusted_proxies: int = 0


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
    return SecuritySettings(trusted_proxies=proxies)


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
