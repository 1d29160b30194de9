"""Departments' API keys: how a sở/ngành's software pushes dossier status without anyone
retyping it.  A key belongs to one department and may only read or write that
department's dossiers; like every secret here it is shown once and stored as a hash.

A department also owns one or more agency codes — the prefix of the one-stop dossier
codes it issues (``000.00.06.H56``-231027-0361).  They are registered with its keys
(``motcua apikey add STP --agency 000.00.06.H56``), and a dossier whose code carries a
registered agency can only be created for that agency's department: the first writer
no longer wins another department's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.accounts import APIKEY, new_secret, token_hash
from server.clock import iso
from server.dossiers.codes import normalize_agency
from server.errors import BadRequest, Conflict, NotFound
from server.i18n import t
from server.store import Database
from server.store import dossier_keys as store
from server.store import dossiers as dossier_store

READ = "dossiers:read"
WRITE = "dossiers:write"
SCOPES = (READ, WRITE)
#: Taking numbers for citizens (a portal, a messaging mini-app): given only when asked for.
REMOTE = "remote"
ALL_SCOPES = (*SCOPES, REMOTE)
KIND = APIKEY
#: A department's agency codes (a province's sở has a handful; a bound on the input).
MAX_AGENCIES = 50


def parse_scopes(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    if raw is None:
        return SCOPES
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    bad = [s for s in items if s not in ALL_SCOPES]
    if bad or not items:
        raise BadRequest(
            f"Phạm vi không hợp lệ: {', '.join(bad) or '(trống)'} (dùng {', '.join(ALL_SCOPES)}).",
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
    agencies: Iterable[str] = (),
) -> tuple[int, str]:
    """Create a key (and the department when ``name`` is given), registering the
    department's ``agencies``; returns (id, secret)."""
    code = department.strip().upper()
    if not code or len(code) > 32:
        raise BadRequest("Mã đơn vị 1–32 ký tự.", code="bad_department")
    wanted = sorted({normalize_agency(a) for a in agencies})
    if len(wanted) > MAX_AGENCIES:
        raise BadRequest(f"Tối đa {MAX_AGENCIES} mã cơ quan cho một đơn vị.", code="bad_agency")
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
        for agency in wanted:
            owner = store.agency_owner(conn, agency)
            if owner is not None and owner != code:
                raise Conflict(
                    t("dossier.error.agency_taken", "vi", agency=agency, owner=owner),
                    code="agency_taken",
                )
            store.add_agency(conn, agency, code, iso(now))
        key_id = store.insert_api_key(conn, code, scopes, token_hash(secret), note, iso(now))
    return key_id, secret


def revoke_key(db: Database, key_id: int, now: datetime) -> None:
    with db.write() as conn:
        if store.revoke_api_key(conn, key_id, iso(now)) == 0:
            raise NotFound(f"Không có khóa #{key_id} còn hiệu lực.", code="unknown_key")


def list_keys(db: Database) -> list[dict[str, Any]]:
    """Every key (never its hash), with its department's agency codes."""
    with db.connection() as conn:
        owned = store.agencies(conn)
        return [
            {
                **{k: v for k, v in key.items() if k != "token_hash"},
                "agencies": owned.get(key["department"], []),
            }
            for key in store.api_keys(conn)
        ]
