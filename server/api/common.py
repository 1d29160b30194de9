"""Request helpers shared by the API blueprints: JSON bodies, who is calling, roles,
rate limits."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request
from werkzeug.exceptions import ClientDisconnected

from ..auth import STAFF_ROLES, SUPERVISOR_ROLES, current_identity, requires
from ..context import ctx
from ..errors import BadRequest, PayloadTooLarge, RateLimited

__all__ = ["STAFF_ROLES", "SUPERVISOR_ROLES", "current_identity", "requires"]


#: The largest JSON body any endpoint needs is a few KB (a dossier with 1,000-character
#: notes); files go through multipart uploads, which have their own limit.
MAX_JSON_BYTES = 256 * 1024
#: A \uD800–\uDFFF escape: the only way a lone surrogate gets into parsed JSON.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: Where _json_bytes keeps the body it read, in the request's WSGI environ.
_BODY_KEY = "motcua.json_body"


def json_body() -> dict[str, Any]:
    """The request's JSON object; anything else is a 400, never a 500."""
    if request.is_json:
        raw = _json_bytes()
    else:  # any other body is refused below, once read (forms parsed away)
        _check_size(request.content_length)
        raw = request.data
    if not raw:
        return {}
    _check_size(len(raw))  # chunked: no Content-Length to check first
    data = None
    if request.is_json:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder's stack
            data = None
    if not isinstance(data, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="bad_json")
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(data):
        raise BadRequest("Nội dung yêu cầu có ký tự không hợp lệ.", code="bad_json")
    if b"\\u0000" in raw and _has_nul(data):
        # Never meaningful in a citizen's words or a code, and PostgreSQL text cannot
        # hold it: refused the same on both engines.
        raise BadRequest("Dữ liệu chứa ký tự không hợp lệ (NUL, mã 0).", code="invalid_character")
    return data


def _has_nul(value: Any) -> bool:
    """Whether any string in a decoded JSON value (keys too) holds U+0000 — walked with a
    stack, not recursion: the nesting the decoder accepted must not overflow here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_bytes() -> bytes:
    """A JSON body as bytes.  One with a Content-Length (what kiosks and pages send) is
    read from the server's input in one call and kept for a second json_body() in the
    same request: werkzeug's stream reads it in pieces (about 20 µs more per call).
    A chunked body goes through werkzeug, which knows where it ends."""
    env = request.environ
    kept = env.get(_BODY_KEY)
    if kept is not None:
        return kept
    length = env.get("CONTENT_LENGTH") or "0"
    if "HTTP_TRANSFER_ENCODING" in env or not length.isdigit():
        _check_size(request.content_length)
        return request.get_data(cache=True)
    size = int(length)
    _check_size(size)
    raw = env["wsgi.input"].read(size) if size else b""
    if len(raw) != size:
        raise ClientDisconnected()
    env[_BODY_KEY] = raw
    return raw


def _check_size(size: int | None) -> None:
    if (size or 0) > MAX_JSON_BYTES:
        raise PayloadTooLarge("Nội dung yêu cầu quá lớn.", max_bytes=MAX_JSON_BYTES)


def _encodable(data: Any) -> bool:
    """JSON may spell lone UTF-16 surrogates (``"\\ud800"``), which no database or page can
    store; refuse them here instead of failing deep inside a write (a 500)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


def field(
    data: dict[str, Any], name: str, kind: type, *, required: bool = False, default: Any = None
) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise BadRequest(f"Thiếu trường '{name}'.", code="missing_field", field=name)
        return default
    value = data[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"Trường '{name}' sai kiểu.", code="bad_field", field=name)
    return value


def client_ip() -> str:
    return request.remote_addr or "unknown"


def rate_limit(bucket: str, key: str | None = None) -> None:
    wait = ctx().limits[bucket].hit(f"{bucket}:{key or client_ip()}")
    if wait:
        raise RateLimited("Quá nhiều yêu cầu; xin thử lại sau ít phút.", retry_after=round(wait, 1))


def actor() -> str:
    who = current_identity()
    return who.name if who else "public"
