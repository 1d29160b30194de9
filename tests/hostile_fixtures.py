"""What the hostile-input tests share: a hall with a called and a finished ticket and
no rate limit in the way (`hall`), and a fingerprint of every table (`snapshot`) to show
that a refused request changed nothing."""

from __future__ import annotations

import hashlib

import pytest

from server.ratelimit import RateLimiter
from tests.engines import table_names

#: Derived data a read may fill (the reports' day cache): not something a request changes.
CACHES = {"report_day", "report_mark"}


def snapshot(db) -> dict[str, str]:
    """Every table's rows, hashed: equal snapshots mean nothing changed."""
    out = {}
    with db.read() as conn:
        for table in set(table_names(conn)) - CACHES:
            rows = sorted(repr(tuple(r)) for r in conn.execute(f'SELECT * FROM "{table}"'))
            out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


@pytest.fixture
def hall(app, ctx, actors, issue, client):
    """A counter with a called ticket, a finished ticket, and no rate limits in the way."""
    for name in list(ctx.limits):
        ctx.limits[name] = RateLimiter(limit=10**9, per_seconds=60)
    for service in ("DD", "DD", "HT"):
        issue(service)
    staff1 = actors.h(actors.staff[1])
    done = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
    assert client.post(f"/api/v1/tickets/{done['id']}/finish", headers=staff1).status_code == 200
    called = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
    with ctx.db.read() as conn:
        tokens = dict(conn.execute("SELECT id, token FROM ticket").fetchall())
    return {"called": called["id"], "done_token": tokens[done["id"]], "waiting": tokens}
