"""bench.reports run tiny: its reports' counts agree with what it inserted, and a count that does
not is a failure (exit status 1), so its method can fail."""
import argparse
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import bench.reports

ROOT = Path(__file__).resolve().parent.parent
TINY = {"calls": 3000, "tickets": 300, "parcels": 300, "agents": 10}


def test_a_tiny_run_finds_every_count_it_inserted():
    finished = subprocess.run(
        [sys.executable, "-m", "bench.reports", *[f"--{k}={v}" for k, v in TINY.items()], "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["mismatches"] == [] and figures["day_calls"] > 0
    assert "Exit status 1 on any mismatch" in figures["method"]


def test_a_call_the_bench_did_not_insert_is_a_mismatch(app, monkeypatch):
    """Another writer adds one call on the measured day: every figure that counts it disagrees."""
    from calls.records import CallRecord

    real_load = bench.reports.load

    def load_and_one_more(engine, args, year_start, rng, inserted):
        real_load(engine, args, year_start, rng, inserted)
        with engine.begin() as connection:
            connection.execute(CallRecord.__table__.insert(), [bench.reports.call_record(
                10 ** 9, datetime(2026, 6, 15, 1), "", rng) | {"outcome": "self_served"}])

    monkeypatch.setattr(bench.reports, "load", load_and_one_more)
    with app.app_context():
        figures = bench.reports.run(app, argparse.Namespace(**TINY))
    wrong = {line.split(":")[0] for line in figures["mismatches"]}
    assert wrong == {"baseline_count.calls", "daily.calls", "weekly.calls", "month.calls", "wallboard.calls"}
    assert bench.reports.failed(figures)
