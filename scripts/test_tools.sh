#!/usr/bin/env bash
# What the browser tests need beyond Python packages: Debian's chromium (Playwright is
# pointed at /usr/bin/chromium; its own browser download does not work offline).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test_tools: installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "test_tools: chromium missing and cannot be installed here (need root + apt-get); browser tests will be skipped" >&2
fi
