"""A shortened chaos run (bench.chaos): one web worker SIGKILLed mid-call on real servers of its own."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SERVERS_INSTALLED = shutil.which("redis-server") and list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
pytestmark = pytest.mark.skipif(not SERVERS_INSTALLED, reason="bench.chaos needs redis-server and PostgreSQL installed")
COUNTS = ("calls_stranded", "call_records_lost", "tickets_lost", "callbacks_doubled", "callbacks_lost")


def test_a_killed_web_worker_strands_no_caller_and_loses_nothing():
    # Servers of its own, never those of the suite's real-server pass: the run restarts what it is given.
    environment = {k: v for k, v in os.environ.items() if k not in ("REAL_SERVERS_DIR", "REDIS_URL", "DATABASE_URL")}
    run = subprocess.run([sys.executable, "-m", "bench.chaos", "--faults", "web_worker_kill", "--calls", "3", "--json"],
                         capture_output=True, text=True, timeout=120, env=environment)
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    [fault] = figures["faults"]
    assert fault["calls_started"] == 3
    assert {count: fault[count] for count in COUNTS} == dict.fromkeys(COUNTS, 0), fault
    assert fault["recovery_s"] is not None and fault["recovery_s"] < 10
    assert run.returncode == 0
