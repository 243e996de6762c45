"""bench.consoles run tiny, as its own process (it starts gunicorn and Redis of its own): the
figures it promises are there, counted from real polls and calls, with no errors."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {"method", "consoles", "wallboards", "baseline_webhook_p50_ms", "baseline_webhook_p99_ms",
           "webhook_p50_ms", "webhook_p99_ms", "baseline_webhooks", "webhooks", "polls", "share_304",
           "poll_p50_ms", "poll_p99_ms", "baseline_server_cpu_s", "server_cpu_s", "errors"}


def test_a_tiny_run_polls_consoles_and_wallboards_while_calls_are_answered():
    finished = subprocess.run(
        [sys.executable, "-m", "bench.consoles", "--consoles", "11", "--rate", "2", "--seconds", "3",
         "--login-spread", "1", "--workers", "1", "--threads", "8", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr[-2000:]
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert FIGURES <= figures.keys()
    assert figures["errors"] == 0, figures["first_error"]
    assert figures["consoles"] == 11 and figures["wallboards"] == 2
    assert figures["baseline_webhooks"] > 0 and figures["webhooks"] > 0
    # Eleven screens polling every 1-2 s for 3 s, and an unchanged agent view answered 304.
    assert figures["polls"] >= 11 * 2 and 0 < figures["share_304"] < 1
    assert 0 < figures["poll_p50_ms"] <= figures["poll_p99_ms"]
