"""A dossier export is built off the event loop, one at a time (red team of issue 15).

On `motcua serve`, 30,000 dossiers exported as XLSX held the one event loop 5.5 s
(/health waited 5.5 s; two clients exporting held a kiosk's ticket 14 s).  The file is
now built through the server's thread pool (`db.offload`, as commits and password
hashes are), and an export asked for while another is being built is a 429."""

from __future__ import annotations

from tests.dossier_fixtures import Keys, catalog, keys, put

__all__ = ["catalog", "keys"]


def test_the_export_is_built_in_the_thread_pool_one_at_a_time(client, ctx, keys):
    put(ctx, scope="STP")
    url = "/api/v1/dossiers/export?format=xlsx"
    seen: list[tuple[int, str]] = []

    def pool(work):
        # while this export builds, a second one is asked for
        second = client.get(url, headers=Keys.h(keys.stp))
        seen.append((second.status_code, second.get_json()["error"]["code"]))
        return work()

    ctx.db.offload = pool
    try:
        first = client.get(url, headers=Keys.h(keys.stp))
    finally:
        ctx.db.offload = None
    assert first.status_code == 200 and first.data[:2] == b"PK"
    assert seen == [(429, "export_busy")]
    again = client.get("/api/v1/dossiers/export", headers=Keys.h(keys.stp))
    assert again.status_code == 200 and "Nguyễn Văn An" in again.get_data(as_text=True)
