#!/usr/bin/env bash
# The load-balancer tests (tests/test_balancer.py, tests/test_failover.py) run Debian's
# HAProxy with deploy/haproxy.cfg on loopback. Install it when missing; if that is
# impossible those tests are skipped on a developer's machine and fail in CI.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian haproxy for the load-balancer tests…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq haproxy >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq haproxy >/dev/null
else
  echo "haproxy is missing and cannot be installed here; load-balancer tests will not run" >&2
fi
