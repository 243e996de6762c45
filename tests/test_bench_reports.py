"""bench.reports run tiny: its reports' counts agree with what it inserted, the wallboard's live
half with the floor it put in, every supervisor's poll over HTTP is answered; a count that does
not agree, or a poll that fails, is a failure (exit status 1), so its method can fail."""
import argparse
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import bench.reports

ROOT = Path(__file__).resolve().parent.parent
TINY = {"calls": 3000, "tickets": 300, "parcels": 300, "agents": 20, "waiting": 12, "in_ivr": 5,
        "supervisors": 4, "refreshes": 3, "workers": 1, "threads": 4}


def test_a_tiny_run_finds_every_count_it_inserted():
    finished = subprocess.run(
        [sys.executable, "-m", "bench.reports", *[f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()], "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["mismatches"] == [] and figures["day_calls"] > 0
    assert "Exit status 1 on any mismatch" in figures["method"]
    assert "/console/api/wallboard" in figures["method"]
    # Every supervisor's every refresh went over HTTP and was answered 200 or 304.
    assert figures["wallboard_refreshes"] == 4 * 3 and figures["wallboard_failures"] == 0
    assert 0 <= figures["wallboard_304s"] <= 4 * 2  # each supervisor's first poll has no ETag to match
    assert {"wallboard_http_p50_ms", "wallboard_http_p99_ms", "wallboard_http_alone_ms", "wallboard_ms",
            "daily_report_ms"} <= set(figures)
    # The live half was measured: the floor's 20 agents in several states, the callers in line, the IVR.
    assert sum(figures["live_agents"].values()) == 20 and figures["live_agents"]["on_call"] > 0
    assert len(figures["live_agents"]) >= 4
    assert 0 < figures["live_waiting"] <= 12 and figures["live_in_ivr"] == 5


def test_parcels_are_of_every_carrier_and_scans_follow_their_status():
    """Each carrier's waybills are valid in its own format; scans go from picked up to the status."""
    from tracking.carriers import CARRIERS
    from tracking.status import ParcelStatus

    for code in bench.reports.CARRIER_SHARES:
        assert CARRIERS[code].accepts(bench.reports.waybill_for(code, 12345)), code
    for status in ParcelStatus:
        scans = bench.reports.scan_statuses(status, 5)
        assert scans[0] is ParcelStatus.PICKED_UP and scans[-1] is status


def test_a_failed_poll_is_a_failure():
    assert bench.reports.failed({"mismatches": [], "wallboard_failures": 1})
    assert not bench.reports.failed({"mismatches": [], "wallboard_failures": 0})


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
    assert wrong == {"baseline_count.calls", "daily.calls", "weekly.calls", "month.calls", "wallboard.calls",
                     "wallboard_http.calls"}
    assert bench.reports.failed(figures)
