#!/usr/bin/env bash
# Runs the whole hotline locally: web app, embedded Redis, RQ worker, demo parcels.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh requirements.txt
exec .venv/bin/python app.py "$@"
