"""Helpers for the dossier tests: two departments with procedures, their API keys, and
short ways to create a dossier and post events through the real use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from server.clock import iso
from server.dossiers import apikeys, service
from server.dossiers.inputs import dossier_fields, event_input
from server.store import dossiers as store

CODE = "000.00.06.H56-261125-0001"


@dataclass
class Keys:
    stp: str  # Sở Tư pháp, read + write
    sxd: str  # Sở Xây dựng, read + write
    stp_read: str  # Sở Tư pháp, read only

    @staticmethod
    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def setup_catalog(db, now: datetime) -> None:
    with db.write() as conn:
        for code, name in (("STP", "Sở Tư pháp"), ("SXD", "Sở Xây dựng")):
            store.upsert_department(conn, {"code": code, "name": name, "created_at": iso(now)})
        store.upsert_procedure(
            conn,
            {
                "code": "STP-LLTP",
                "name": "Cấp Phiếu lý lịch tư pháp",
                "department": "STP",
                "limit_days": 10,
                "created_at": iso(now),
            },
        )
        store.upsert_procedure(
            conn,
            {
                "code": "SXD-GPXD",
                "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
                "department": "SXD",
                "limit_days": 15,
                "created_at": iso(now),
            },
        )


@pytest.fixture
def catalog(ctx):
    setup_catalog(ctx.db, ctx.now())
    return ctx


@pytest.fixture
def keys(catalog) -> Keys:
    db, now = catalog.db, catalog.now()
    return Keys(
        stp=apikeys.add_key(db, "STP", now)[1],
        sxd=apikeys.add_key(db, "SXD", now)[1],
        stp_read=apikeys.add_key(db, "STP", now, scopes=(apikeys.READ,))[1],
    )


def put(ctx, code: str = CODE, *, scope: str | None = None, **data: Any) -> service.Outcome:
    """Create/update a dossier the way PUT /dossiers/{code} does."""
    body = {
        "procedure": "STP-LLTP",
        "applicant": "Nguyễn Văn An",
        "phone": "0912345678",
        "status": "received",
        **data,
    }
    end = service.day_end(ctx.cfg)
    return service.put_dossier(
        ctx.db,
        ctx.cfg,
        code,
        dossier_fields(body, ctx.cfg.tz, end),
        event_input(body, ctx.cfg.tz, end),
        actor="test",
        scope=scope,
        now=ctx.now(),
    )


def event(ctx, code: str = CODE, *, scope: str | None = None, **data: Any) -> service.Outcome:
    ev = event_input(data, ctx.cfg.tz, service.day_end(ctx.cfg))
    assert ev is not None
    return service.add_event(ctx.db, ctx.cfg, code, ev, actor="test", scope=scope, now=ctx.now())


def dossier(ctx, code: str = CODE) -> dict[str, Any]:
    with ctx.db.read() as conn:
        d = store.dossier_by_code(conn, code)
    assert d is not None
    return d


def events(ctx, code: str = CODE) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        return store.events(conn, dossier(ctx, code)["id"])


def outbox(ctx) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM notification ORDER BY id")]
