#!/usr/bin/env bash
# Runs the test suite (installing what it needs first). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh requirements-dev.txt
exec .venv/bin/python -m pytest "$@"
