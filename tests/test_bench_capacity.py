"""bench.capacity's judgement, on made-up windows: no server, no model (the bench itself runs
for minutes; `python -m bench.capacity --json`)."""
from collections import Counter

from bench.capacity import Window, level_figures, log_evidence, ran_out_first, summary

CPU = {"server_cpu_cores": 0.8, "bench_cpu_cores": 0.3, "machine_cpu_busy": 0.6}
POOL = {"size": 5, "overflow": 10, "timeout_s": 30.0}
QUEUEPOOL_LOG = (
    "Traceback (most recent call last):\n  File \"x.py\", line 1\n"
    "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00\n"
)


def window(webhook_ms=(10.0,) * 100, errors=None, lag_ms=(400.0,) * 10) -> Window:
    return Window(webhook_ms=list(webhook_ms), errors=Counter(errors or {}), lag_ms=list(lag_ms))


def level(n=20, log="", cpu=CPU, samples=None, **parts) -> dict:
    samples = samples or {"connections_max": 12, "database_max": 8, "streams": [n]}
    return level_figures(n, window(**parts), cpu, samples, log_evidence(log), threads=64)


def test_a_clean_level_passes():
    figures = level()
    assert figures["passed"] and figures["webhook_p99_ms"] == 10.0 and figures["errors"] == 0


def test_errors_slow_webhooks_or_lost_real_time_fail_a_level():
    assert not level(errors={"webhook over 5 s": 1})["passed"]
    assert not level(webhook_ms=[10.0] * 90 + [1500.0] * 10)["passed"]
    assert not level(lag_ms=[400.0] * 5 + [9000.0] * 5)["passed"]
    assert not level(lag_ms=[])["passed"]  # speech calls open, nothing recognised


def test_ran_out_first_reads_the_evidence():
    pool = level(log=QUEUEPOOL_LOG, errors={"webhook over 5 s": 3},
                 samples={"connections_max": 20, "database_max": 15, "streams": [30]})
    assert ran_out_first(pool, 64, POOL, "").startswith("db pool: 1 'QueuePool limit' timeouts")
    threads = level(errors={"webhook over 5 s": 3}, samples={"connections_max": 70, "database_max": 3})
    assert ran_out_first(threads, 64, POOL, "").startswith("threads: a worker held 70 connections")
    busy = level(lag_ms=[5000.0] * 10, cpu={**CPU, "machine_cpu_busy": 0.97})
    assert ran_out_first(busy, 64, POOL, "").startswith("cpu: the machine was 97% busy")
    assert ran_out_first(None, 64, POOL, "none up to --max 60") == "none up to --max 60"


def test_summary_reports_the_last_level_before_the_first_failure():
    idle = level(n=0, lag_ms=[])
    levels = [level(n=10), level(n=20), level(n=30, errors={"stream dropped": 2}, log=QUEUEPOOL_LOG)]
    figures = summary(idle, levels, "", 64, POOL, {})
    assert figures["speech_calls"] == 20 and figures["first_failing_level"] == 30
    assert figures["errors"] == 2 and figures["ran_out_first"].startswith("db pool")
