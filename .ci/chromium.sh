#!/usr/bin/env bash
# Debian's chromium for the browser test (tests/browser/test_jupyterlab.py), installed
# when missing. Playwright drives this one; it never downloads a browser of its own.
#
#   bash .ci/chromium.sh     # installs /usr/bin/chromium unless it is there
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be stale or missing: update them if the install fails.
apt-get install -y chromium >&2 || { apt-get update && apt-get install -y chromium; } >&2
