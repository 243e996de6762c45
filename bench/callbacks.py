"""Callback firing benchmark: real RQ workers with their scheduler, a compressed clock.

    python -m bench.callbacks --n 10000 --json

N callbacks fall due over --spread seconds (calling hours set to the whole day), booked in
SQL and scheduled in Redis; --workers RQ worker processes (each with the scheduler) dial them
through the local carrier. Reports firing lateness (dial time minus due time), callbacks never
dialled (lost), attempts dialled twice (doubled), and the busiest second at the carrier (the
calls it received in each whole second) against the pacing limit. The baseline is a no-op RQ
job scheduled the same way, in the same run: the lateness RQ's scheduler itself adds.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.getcwd())

import redis_conn  # noqa: E402
from bench.figures import percentile, print_figures  # noqa: E402


def noop(scheduled_for: float) -> float:
    """The baseline job: how late it ran."""
    return time.time() - scheduled_for


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the callbacks fall due")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cps", type=int, default=250, help="pacing: outbound calls per second")
    parser.add_argument("--baseline", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="bench-callbacks-")
    embedded = redis_conn.start_embedded(folder)
    environment = {
        **os.environ, "REDIS_URL": redis_conn.socket_url(embedded), "DATABASE_URL": f"sqlite:///{folder}/b.db",
        "TWILIO_AUTH_TOKEN": "bench", "SECRET_KEY": "bench", "CALLING_HOURS": "00:00-24:00",
        "OUTBOUND_CALLS_PER_SECOND": str(args.cps), "OUTBOUND_MAX_CONCURRENT": str(args.n * 2),
        "SEED_DEMO_ON_FIRST_RUN": "false", "PYTHONPATH": os.getcwd(),
    }
    os.environ.update({k: v for k, v in environment.items() if k != "PYTHONPATH"})
    workers = []
    try:
        from app import create_app

        app = create_app({"LOAD_SPEECH_MODELS": False, "INSTANCE_PATH": folder})
        with app.app_context():
            figures = run(app, args, environment, workers)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        redis_conn.stop_embedded(embedded)
    print_figures(figures, args.json)
    return figures


def run(app, args, environment, workers) -> dict:
    from sqlalchemy import select

    from callqueue.callbacks import book_callback
    from callqueue.jobs import get_queue, schedule_callback
    from callqueue.models import Callback, CallbackAttempt
    from database import new_session
    from ivr.telephony import SIMULATOR_OUTBOX
    from redis_conn import get_redis

    connection, queue = get_redis(), get_queue(get_redis())
    session = new_session()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)  # time to book and start the workers
    hours = app.extensions["calling_hours"]
    for n in range(args.n):
        callback, _ = book_callback(session, phone=f"139{n:08d}", slot="soonest", now=start, hours=hours,
                                    reason="bench")
        # Whole seconds, as callbacks are booked (calling hours open on the minute).
        callback.due_at = (start + timedelta(seconds=int(args.spread * n / args.n))).replace(tzinfo=None)
    session.commit()
    for callback in session.scalars(select(Callback)):
        schedule_callback(queue, callback)
    baseline_jobs = []
    for n in range(args.baseline):
        due = start + timedelta(seconds=int(args.spread * n / args.baseline))
        baseline_jobs.append(queue.enqueue_at(due, "bench.callbacks.noop", due.timestamp(), result_ttl=3600))
    for _ in range(args.workers):
        workers.append(subprocess.Popen([sys.executable, "-m", "callqueue.worker"], env=environment,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 15 + args.spread + 600
    while time.monotonic() < deadline:
        if connection.llen(SIMULATOR_OUTBOX) >= args.n and all(j.get_status(refresh=True) == "finished"
                                                                for j in baseline_jobs[-5:]):
            break
        time.sleep(0.5)
    time.sleep(2)  # let any duplicate dial that was going to happen, happen

    attempts = session.scalars(select(CallbackAttempt)).all()
    due_at = {c.id: c.due_at for c in session.scalars(select(Callback))}
    lateness = [(a.started_at - due_at[a.callback_id]).total_seconds() * 1000 for a in attempts]
    placed = [json.loads(item) for item in connection.lrange(SIMULATOR_OUTBOX, 0, -1)]
    per_callback = collections.Counter(p["url"].rsplit("/", 1)[1] for p in placed)
    per_second = collections.Counter(int(p["placed_at"]) for p in placed)
    baseline = [j.return_value(refresh=True) * 1000 for j in baseline_jobs if j.get_status(refresh=True) == "finished"]
    session.close()
    return {
        "callbacks": args.n, "workers": args.workers,
        "lateness_min_ms": round(min(lateness), 1) if lateness else None,  # below zero: dialled early
        "lateness_p50_ms": round(statistics.median(lateness), 1) if lateness else None,
        "lateness_p99_ms": round(percentile(lateness, 0.99), 1) if lateness else None,
        "baseline_rq_lateness_p50_ms": round(statistics.median(baseline), 1) if baseline else None,
        "baseline_rq_lateness_p99_ms": round(percentile(baseline, 0.99), 1) if baseline else None,
        "lost": args.n - len(per_callback), "doubled": sum(1 for n in per_callback.values() if n > 1),
        "cps_limit": args.cps, "busiest_second_calls": max(per_second.values()) if per_second else 0,
        "pacing_respected": (max(per_second.values()) if per_second else 0) <= args.cps,
    }


if __name__ == "__main__":
    main()
