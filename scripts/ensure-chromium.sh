#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (no browser download).
# Install it when missing; if that is impossible the browser tests fail loudly.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium for the browser tests…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is missing and cannot be installed here; browser tests will fail" >&2
fi
