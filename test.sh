#!/usr/bin/env bash
# Runs the test suite (installing what it needs first). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh requirements-dev.txt
# Browser tests drive Debian's Chromium (with a CJK font for the Chinese console); without
# root or apt they are reported as skipped, never as passed.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei) \
        >/dev/null 2>&1 || echo "could not install chromium: browser tests will be skipped" >&2
fi
.venv/bin/ruff check --quiet .
exec .venv/bin/python -m pytest "$@"
