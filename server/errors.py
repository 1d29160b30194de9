"""Domain errors.  Each carries a stable code and an HTTP status; the API maps them
to ``{"error": {"code", "message"}}`` in one place (``server.api.errors``)."""

from __future__ import annotations

from typing import Any


class MotcuaError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class BadRequest(MotcuaError):
    code = "bad_request"
    status = 400


class NotFound(MotcuaError):
    code = "not_found"
    status = 404


class Conflict(MotcuaError):
    """An invalid transition or a state that forbids the action (409)."""

    code = "conflict"
    status = 409


class Unauthorized(MotcuaError):
    code = "unauthorized"
    status = 401


class Forbidden(MotcuaError):
    code = "forbidden"
    status = 403


class RateLimited(MotcuaError):
    code = "rate_limited"
    status = 429


class PayloadTooLarge(MotcuaError):
    """A JSON body far larger than any real request (413): parsing it would stall the
    one worker that serves the whole hall."""

    code = "payload_too_large"
    status = 413


class Busy(MotcuaError):
    """The database stayed locked by another writer (an import's batch, a second process)
    longer than a request may wait: a 503 the client retries, never a 500."""

    code = "busy"
    status = 503


def is_whole(text: str) -> bool:
    """ASCII digits within SQLite's integer range: what every id or count read from a
    URL or form must be ("²".isdigit() is true, yet int("²") fails)."""
    return text.isascii() and text.isdigit() and len(text) <= 18
