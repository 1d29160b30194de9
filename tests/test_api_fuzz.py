"""Schemathesis against /api/v1/openapi.json: every documented operation, generated
inputs, called as each role — never a 5xx, status codes and bodies match the document."""

from __future__ import annotations

import importlib
import os
import pkgutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

import server.api
from server.api.openapi import document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Examples per operation and role: 10 in CI; `make bench` (benchmarks/fuzz.py) runs more.
EXAMPLES = int(os.environ.get("MOTCUA_FUZZ_EXAMPLES", "10"))

for _mod in pkgutil.iter_modules(server.api.__path__):
    importlib.import_module(f"server.api.{_mod.name}")

OPERATIONS = sorted(
    (path, method)
    for path, item in document()["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
)


@pytest.mark.parametrize(
    ("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS]
)
def test_operation_never_fails_and_matches_schema(app, actors, ctx, path, method):
    for limiter in ctx.limits.values():
        limiter.limit = 10**9
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method.upper()]
    tokens = [None, actors.kiosk, actors.board, actors.staff[1], actors.supervisor, actors.admin]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        for token in tokens:
            case.call_and_validate(headers=actors.h(token) if token else {}, checks=CHECKS)

    run()
