"""HTTP JSON API under /api/v1: thin handlers — parse, authorize, call the domain,
serialize, publish after commit.  Errors become ``{"error": {"code", "message"}}`` here
and nowhere else."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import MotcuaError

log = logging.getLogger(__name__)

api = Blueprint("api", __name__, url_prefix="/api/v1")


MAX_ID = 2**63 - 1


@api.url_value_preprocessor
def _bounded_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """SQLite integers stop at 2**63-1; a larger id in a URL is simply not found."""
    for value in (values or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            from ..errors import NotFound

            raise NotFound("Không tìm thấy.", code="not_found")


def error_response(
    http_status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return jsonify(body), http_status


def _on_domain_error(exc: MotcuaError):
    resp, status = error_response(exc.status, exc.code, exc.message, exc.details)
    retry = exc.details.get("retry_after")
    if retry:
        resp.headers["Retry-After"] = str(int(retry) + 1)
    return resp, status


def _on_http_error(exc: HTTPException):
    if not request.path.startswith("/api/"):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, exc.description or exc.name or "error")


def _on_unexpected(exc: Exception):
    from ..store.db import is_busy

    if is_busy(exc):  # a lock wait that outlasted SQLite's timeout: busy, not broken
        log.warning("database busy on %s %s: %s", request.method, request.path, exc)
        if request.path.startswith("/api/"):
            resp, status = error_response(
                503, "busy", "Hệ thống đang bận ghi dữ liệu; xin thử lại sau giây lát."
            )
            resp.headers["Retry-After"] = "1"
            return resp, status
        return "Hệ thống đang bận; xin thử lại.", 503
    log.exception("unhandled error on %s %s", request.method, request.path)
    if request.path.startswith("/api/"):
        return error_response(500, "internal_error", "Lỗi máy chủ; xin thử lại.")
    return "Lỗi máy chủ", 500


def register(app: Flask) -> None:
    # Every module of this package adds its routes to `api` on import; new areas
    # (dossiers, ratings, reports …) only add a module.
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    app.register_blueprint(api)
    app.register_error_handler(MotcuaError, _on_domain_error)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(Exception, _on_unexpected)
