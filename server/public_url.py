"""The address citizens' phones open: the ticket's QR code, the tracking link, pairing
links for devices.

`center.public_url` wins when it is set (a center with a name on its network, a proxy
with TLS).  Otherwise the link is built from the address the client itself reached — the
kiosk page's Host, the URL the kiosk agent connected to — so it follows whatever
`--host`/`--port` the server runs on.  A loopback name ("localhost", 127.x, ::1) is
replaced by this machine's LAN address, because a phone never reaches "localhost"; the
LAN address comes from the kernel's routing choice for a UDP socket (``connect()`` on UDP
sends nothing), and when there is none the reached address is kept as it is.

No Flask here: callers pass ``request.host_url`` (or an agent's server URL)."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from urllib.parse import urlsplit

#: Names that mean "this machine" and never work from a phone.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
#: A host name; with IP literals, the only hosts a Host header may put on a ticket.
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
#: Where the routing table is asked (TEST-NET-1, RFC 5737: never a real host; nothing
#: is sent — a UDP connect only picks the source address).
_PROBE = ("192.0.2.123", 9)
#: A center's DHCP lease can change the address; look again after this many seconds.
LAN_TTL_S = 60.0

_lan_lock = threading.Lock()
_lan_cache: tuple[float, str | None] | None = None


def is_loopback(host: str) -> bool:
    """True for localhost names and 127.0.0.0/8, ::1 (and an unspecified 0.0.0.0)."""
    name = host.strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _probe_lan_ipv4() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(_PROBE)
            address = sock.getsockname()[0]
    except OSError:  # no route (no network at all): no LAN address
        return None
    if not isinstance(address, str) or is_loopback(address):
        return None
    return address


def lan_ipv4() -> str | None:
    """This machine's primary non-loopback IPv4 address, or None without a network."""
    global _lan_cache
    with _lan_lock:
        now = time.monotonic()
        if _lan_cache is None or now - _lan_cache[0] > LAN_TTL_S:
            _lan_cache = (now, _probe_lan_ipv4())
        return _lan_cache[1]


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_NAME.match(host))
    return True


def _port_of(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


def _format(scheme: str, host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def public_base(configured: str | None, reached: str | None) -> str:
    """The base URL (no trailing slash) of links citizens open on their phones.

    ``configured`` is `center.public_url` (None when not set); ``reached`` is the URL a
    client reached the server at (``request.host_url``, a kiosk agent's server URL)."""
    if configured:
        return configured.rstrip("/")
    scheme, host, port = "http", "", None
    if reached:
        try:
            parts = urlsplit(reached.strip())
            scheme = parts.scheme if parts.scheme in ("http", "https") else "http"
            host, port = parts.hostname or "", parts.port
        except ValueError:  # a port that is not a number, a broken IPv6 literal
            host, port = "", None
    if not _valid_host(host):
        host = ""
    if not host or is_loopback(host):
        host = lan_ipv4() or host or "localhost"
    return _format(scheme, host, port)


def start_warnings(
    configured: str | None, host: str, port: int, *, behind_proxy: bool = False
) -> list[str]:
    """What `motcua serve`/`demo` should tell whoever starts it when a ticket's QR would
    not open on a phone: a loopback link, a link to another port, a server that listens
    on loopback only, no LAN address to put in the link."""
    out: list[str] = []
    if configured:
        parts = urlsplit(configured)
        linked = parts.hostname or ""
        if is_loopback(linked):
            out.append(
                f"center.public_url is {configured}: ticket QR codes point at this machine "
                "itself, which no phone can open. Set it to the address phones reach "
                "(e.g. http://192.168.1.10:5000) or remove it to use the address kiosks reach."
            )
        try:
            linked_port = _port_of(parts.scheme, parts.port)
        except ValueError:
            linked_port = None
        if not behind_proxy and linked_port is not None and linked_port != port:
            out.append(
                f"center.public_url is {configured} (port {linked_port}) but the server "
                f"listens on port {port}: ticket QR codes will not open. Fix the port or "
                "remove center.public_url."
            )
        return out
    if is_loopback(host) and not listens_everywhere(host):
        lan = lan_ipv4()
        shown = f"http://{lan}:{port}" if lan else "this machine's LAN address"
        out.append(
            f"the server listens on {host} only, so phones cannot open ticket QR codes "
            f"(they point at {shown}). Use --host 0.0.0.0 to serve the LAN, or set "
            "center.public_url."
        )
    elif lan_ipv4() is None:
        out.append(
            "no LAN address found: ticket QR codes point at the address kiosks use to reach "
            "the server; set center.public_url if phones reach it by another one."
        )
    return out


def listens_everywhere(host: str) -> bool:
    """0.0.0.0 / :: / empty: listening on every interface."""
    name = host.strip("[]")
    if name == "":
        return True
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False
