"""Links between dossiers and queue tickets: the counter that served a citizen records
which dossiers it received, so a rating, a report or a later visit can find them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.clock import iso
from server.dossiers.codes import normalize_code
from server.errors import BadRequest, NotFound
from server.i18n import t
from server.store import Database, import_publish
from server.store import dossiers as store

MAX_LINKED_CODES = 50


def link_codes(
    db: Database, ticket_id: int, codes: Iterable[Any], *, actor: str | None, now: datetime
) -> dict[str, list[str]]:
    """Link the dossiers a counter received to the ticket just served.

    Called with the ``dossiers`` list of a ticket's finish.  A code whose dossier does
    not exist yet (the department's system pushes it later) is kept and linked when the
    dossier arrives.  Every code is validated before anything is written.
    """
    raw = list(codes)
    if len(raw) > MAX_LINKED_CODES:
        raise BadRequest(
            t("dossier.error.too_many_codes", "vi", max=MAX_LINKED_CODES), code="too_many_codes"
        )
    normal = list(dict.fromkeys(normalize_code(c) for c in raw))
    linked: list[str] = []
    pending: list[str] = []
    if not normal:
        return {"linked": linked, "pending": pending}
    with db.write() as conn:
        if not store.ticket_exists(conn, ticket_id):
            raise NotFound(f"Không có phiếu #{ticket_id}.", code="unknown_ticket")
        for code in normal:
            store.add_ticket_link(conn, code, ticket_id, actor, iso(now))
            d = store.dossier_by_code(conn, code)
            if d is None:
                pending.append(code)
                continue
            store.update_dossier(conn, d["id"], {"ticket_id": ticket_id, "updated_at": iso(now)})
            import_publish.link_former(conn, d["id"], ticket_id, iso(now))
            linked.append(code)
    return {"linked": linked, "pending": pending}
