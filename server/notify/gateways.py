"""SMS gateways: where an outbox message goes.

The file gateway (default) appends one JSON line per message to DATA/sms.log — a center
without an SMS contract still sees what would have been sent.  The HTTP gateway fits
most Vietnamese SMS-brandname providers, which take a JSON or form POST (or a GET with
query parameters); its shape comes entirely from `sms.http` in config.yaml.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import requests

from server.datadir import DIR_MODE, open_private_append
from server.notify.config import HttpSettings, SmsSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    id: str  # the outbox event key: stable across retries
    kind: str
    phone: str
    text: str


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retry: bool = False
    error: str | None = None
    provider_id: str | None = None


class Gateway(Protocol):
    name: str
    ascii_only: bool

    def send(self, message: Message) -> SendResult: ...


class FileGateway:
    """Appends messages to a file (one JSON object per line)."""

    name = "file"

    def __init__(self, path: Path, *, ascii_only: bool = True) -> None:
        self.path = path
        self.ascii_only = ascii_only
        self._lock = threading.Lock()

    def send(self, message: Message) -> SendResult:
        line = json.dumps(
            {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "id": message.id,
                "kind": message.kind,
                "phone": message.phone,
                "text": message.text,
            },
            ensure_ascii=False,
        )
        try:
            with self._lock:
                self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                with open_private_append(self.path) as fh:  # phones and texts: 0600
                    fh.write(line + "\n")
        except OSError as exc:
            return SendResult(False, retry=True, error=f"cannot write {self.path}: {exc}")
        return SendResult(True, provider_id=None)


def _fill(template: str, values: Mapping[str, str], *, url: bool = False) -> str:
    """Placeholders were validated at config load, so format_map cannot fail on names."""
    if url:
        values = {k: quote(v, safe="") for k, v in values.items()}
    return template.format_map(dict(values))


def _fill_body(body: Any, values: Mapping[str, str]) -> Any:
    if isinstance(body, str):
        return _fill(body, values)
    if isinstance(body, dict):
        return {k: _fill_body(v, values) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill_body(v, values) for v in body]
    return body


class HttpGateway:
    """Sends through a provider's HTTP API.  2xx = sent; 408, 429, 5xx, timeouts and
    connection errors are retried; any other status is a permanent failure (a wrong
    number or a rejected text does not get better by trying again)."""

    name = "http"

    def __init__(self, settings: HttpSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.ascii_only = settings.ascii_only
        self.session = session or requests.Session()

    def send(self, message: Message) -> SendResult:
        s = self.settings
        values = {
            "phone": message.phone,
            "text": message.text,
            "id": message.id,
            "kind": message.kind,
        }
        kwargs: dict[str, Any] = {
            "headers": {k: _fill(v, values) for k, v in s.headers.items()},
            "timeout": s.timeout,
        }
        body = _fill_body(s.body, values)
        if isinstance(body, dict | list):
            kwargs["json"] = body
        elif isinstance(body, str):
            kwargs["data"] = body.encode("utf-8")
        url = _fill(s.url, values, url=True)
        try:
            resp = self.session.request(s.method, url, **kwargs)
        except requests.Timeout:
            return SendResult(False, retry=True, error=f"timeout after {s.timeout:g} s")
        except requests.RequestException as exc:
            return SendResult(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= resp.status_code < 300:
            return SendResult(True, provider_id=_provider_id(resp))
        detail = f"HTTP {resp.status_code}: {resp.text[:200]}"
        retry = resp.status_code in (408, 425, 429) or resp.status_code >= 500
        return SendResult(False, retry=retry, error=detail)


def _provider_id(resp: requests.Response) -> str | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    if isinstance(data, dict):
        for key in ("id", "message_id", "messageId", "sms_id", "SMSID"):
            if data.get(key) is not None:
                return str(data[key])[:100]
    return None


def make_gateway(settings: SmsSettings, data_dir: Path) -> Gateway:
    if settings.gateway == "http":
        assert settings.http is not None
        return HttpGateway(settings.http)
    return FileGateway(data_dir / "sms.log", ascii_only=settings.ascii_only)
