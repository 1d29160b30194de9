"""Departments' API keys: how a sở/ngành's software pushes dossier status without anyone
retyping it.  A key belongs to one department and may only read or write that
department's dossiers; like every secret here it is shown once and stored as a hash.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.accounts import Identity, new_secret, token_hash
from server.clock import iso
from server.errors import BadRequest, NotFound
from server.store import Database
from server.store import dossier_keys as store
from server.store import dossiers as dossier_store

READ = "dossiers:read"
WRITE = "dossiers:write"
SCOPES = (READ, WRITE)
KIND = "apikey"


def key_identity(conn: sqlite3.Connection, hashed: str) -> Identity | None:
    """The identity of a bearer token that is a live API key (None otherwise)."""
    k = store.api_key_by_token(conn, hashed)
    if k is None:
        return None
    return Identity(
        KIND,
        k["id"],
        f"{k['department']}#{k['id']}",
        department=k["department"],
        scopes=tuple(k["scopes"]),
    )


def parse_scopes(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    if raw is None:
        return SCOPES
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    bad = [s for s in items if s not in SCOPES]
    if bad or not items:
        raise BadRequest(
            f"Phạm vi không hợp lệ: {', '.join(bad) or '(trống)'} (dùng {', '.join(SCOPES)}).",
            code="bad_scope",
        )
    return tuple(sorted(set(items)))


def add_key(
    db: Database,
    department: str,
    now: datetime,
    *,
    scopes: Iterable[str] = SCOPES,
    name: str | None = None,
    note: str | None = None,
) -> tuple[int, str]:
    """Create a key (and the department when ``name`` is given); returns (id, secret)."""
    code = department.strip().upper()
    if not code or len(code) > 32:
        raise BadRequest("Mã đơn vị 1–32 ký tự.", code="bad_department")
    secret = new_secret()
    with db.write() as conn:
        if name:
            dossier_store.upsert_department(
                conn, {"code": code, "name": name, "created_at": iso(now)}
            )
        elif dossier_store.department(conn, code) is None:
            raise NotFound(
                f'Chưa có đơn vị {code}; thêm --name "Tên đơn vị" để tạo.',
                code="unknown_department",
            )
        key_id = store.insert_api_key(conn, code, scopes, token_hash(secret), note, iso(now))
    return key_id, secret


def revoke_key(db: Database, key_id: int, now: datetime) -> None:
    with db.write() as conn:
        if store.revoke_api_key(conn, key_id, iso(now)) == 0:
            raise NotFound(f"Không có khóa #{key_id} còn hiệu lực.", code="unknown_key")


def list_keys(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return [{k: v for k, v in key.items() if k != "token_hash"} for key in store.api_keys(conn)]
