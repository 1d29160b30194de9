"""Wrong JSON types in the staff API: an object, a list, a boolean, a number past SQLite's
integer range where text or a counter number is expected — each a 400, never a 500.

Schemathesis (tests/test_api_fuzz.py) only sends bodies that match the document; this
sweep sends every documented body property each hostile value, and Hypothesis sends whole
bodies of arbitrary JSON, as a counter's staff, a supervisor and the kiosk would."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import server.api
from server.api.openapi import document

for _mod in pkgutil.iter_modules(server.api.__path__):
    importlib.import_module(f"server.api.{_mod.name}")

HOSTILE: list[Any] = [
    {},
    {"a": {}},
    [],
    [[{}]],
    True,
    1.5,
    10**30,
    -(10**30),
    2**63,
    "",
    "x" * 5000,
    "\x00",
    None,
]
#: The queue's own operations: a counter, a ticket at that counter, a service.
QUEUE_PREFIXES = ("/tickets", "/counters", "/services")


def _bodies() -> list[tuple[str, str, list[str]]]:
    """(method, path, body property names) of every queue operation that takes JSON."""
    doc = document()
    out = []
    for path, item in doc["paths"].items():
        if not path.startswith(QUEUE_PREFIXES):
            continue
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            if "$ref" in schema:
                schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
            out.append((method.upper(), path, list(schema.get("properties", {}))))
    return out


class Hall:
    """A ticket called at counter 1 before each request, so every operation reaches its
    parsing and the domain call behind it (not an early 403 or 409)."""

    def __init__(self, client, actors, ctx) -> None:
        for limiter in ctx.limits.values():
            limiter.limit = 10**9
        self.client, self.actors = client, actors
        self.boss = actors.h(actors.supervisor)
        self.callers = [actors.h(t) for t in (actors.staff[1], actors.supervisor, actors.kiosk)]

    def fresh_ticket(self) -> int:
        c, boss = self.client, self.boss
        c.post("/api/v1/counters/1/resume", headers=boss)
        c.post("/api/v1/services/DD/open", headers=boss)
        c.post("/api/v1/counters/1/services", json={"services": ["DD"]}, headers=boss)
        r = c.post(
            "/api/v1/tickets", json={"service": "DD"}, headers=self.actors.h(self.actors.kiosk)
        )
        assert r.status_code == 201, r.get_json()
        t = r.get_json()
        assert (
            c.post("/api/v1/counters/1/call", json={"label": t["label"]}, headers=boss).status_code
            == 200
        )
        return int(t["id"])

    def send(self, method: str, path: str, body: dict[str, Any]) -> list[str]:
        url = "/api/v1" + path.replace("{number}", "1").replace("{code}", "DD")
        url = url.replace("{ticket_id}", str(self.fresh_ticket()))
        failed = []
        for headers in self.callers:
            r = self.client.open(url, method=method, json=body, headers=headers)
            if r.status_code >= 500:
                failed.append(f"{method} {path} {body!r:.60} → {r.status_code}")
            elif r.status_code >= 400:
                error = r.get_json()["error"]
                assert error["code"] and error["message"]
        return failed


def test_every_body_property_refuses_wrong_types_with_a_400(client, actors, ctx):
    hall = Hall(client, actors, ctx)
    failed = []
    for method, path, props in _bodies():
        for prop in props:
            for value in HOSTILE + [[v] for v in HOSTILE[:9]]:
                failed += hall.send(method, path, {prop: value})
    assert failed == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def test_arbitrary_json_bodies_never_fail_the_server(client, actors, ctx):
    hall = Hall(client, actors, ctx)
    operations = _bodies()

    @given(
        op=st.sampled_from(operations),
        data=st.data(),
    )
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(op, data) -> None:
        method, path, props = op
        keys = st.sampled_from(props) if props else st.text(max_size=5)
        body = data.draw(st.dictionaries(keys, json_values, max_size=3))
        assert hall.send(method, path, body) == []

    run()
