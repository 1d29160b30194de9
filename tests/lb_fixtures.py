"""When the load-balancer tests run: with MOTCUA_TEST_DATABASE_URL and
MOTCUA_TEST_REDIS_URL set (skipped otherwise; CI sets them and fails when they are
unreachable) and Debian's haproxy installed (`make test` installs it; missing while CI
requires the services: a failure).  They run once, in the suite's first pass: their
servers use a PostgreSQL schema of their own whichever engine the pass is on."""

from __future__ import annotations

import os

import pytest

from benchmarks import _cluster
from tests.engines import ON_PG

DB = os.environ.get("MOTCUA_TEST_DATABASE_URL")
REDIS = os.environ.get("MOTCUA_TEST_REDIS_URL")


def _why_not() -> str | None:
    if not DB or not REDIS:
        return "needs MOTCUA_TEST_DATABASE_URL and MOTCUA_TEST_REDIS_URL"
    if ON_PG:
        return "ran in the first pass (its servers have a PostgreSQL schema of their own)"
    if _cluster.haproxy_binary() is None:
        if os.environ.get("MOTCUA_TEST_REQUIRE_SERVICES"):
            pytest.fail("haproxy is missing (scripts/ensure-haproxy.sh installs it)")
        return "haproxy is not installed (scripts/ensure-haproxy.sh)"
    return None


def needs_cluster() -> pytest.MarkDecorator:
    why = _why_not()
    return pytest.mark.skipif(why is not None, reason=why or "")
