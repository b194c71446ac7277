#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report's browser test (tests/report, marker `browser`).
# Playwright drives this system browser through executable_path; `playwright install` is never run
# (browser downloads are blocked here). Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install_chromium: not root and no sudo; install the 'chromium' package by hand" >&2
    exit 1
  fi
fi

echo "installing Debian chromium (report browser test)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
