"""Callback firing benchmark: real RQ workers with their scheduler, a compressed clock.

    python -m bench.callbacks --n 10000 --json

N callbacks fall due over --spread seconds (calling hours set to the whole day), booked in
SQL and scheduled in Redis; --workers RQ worker processes (each with the scheduler) dial them
through the local carrier. The pacing limits are set below the offered load (N / --spread calls
a second) so that pacing is under pressure: by default OUTBOUND_CALLS_PER_SECOND is 60 % of the
offered rate and OUTBOUND_MAX_CONCURRENT that rate times --hold (the calls one second of dials
keeps live), both passed as the app's own settings, the ones production pacing reads.

Method (printed with the figures as "method"):
Real RQ workers (with their scheduler) dial N callbacks booked in SQL through the simulated
carrier, with OUTBOUND_CALLS_PER_SECOND and OUTBOUND_MAX_CONCURRENT (the app's settings) below
the offered load; the bench plays the carrier: it takes each call at its creation moment (the
time the carrier stamps it), holds it --hold seconds and then posts the signed completed status
callback to the app. Lateness is the carrier's call-creation time minus the callback's due time
(the pacing wait included); pacing is checked at the carrier: calls created in each whole second
against OUTBOUND_CALLS_PER_SECOND and calls live at once against OUTBOUND_MAX_CONCURRENT
(pacing_respected), and pacing_bound says a measured peak reached 90 % of its limit, so the
check was made under pressure. Lost: callbacks the carrier never received; doubled: an attempt
it received twice. The baseline is a no-op RQ job scheduled the same way in the same run,
unpaced: the lateness RQ's scheduler itself adds. Exit status 1 when a callback is lost or
doubled, or the pacing limits are broken at the carrier, or neither limit was ever reached.
"""
from __future__ import annotations

import argparse
import collections
import heapq
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.getcwd())

from bench.figures import method, percentile, print_figures  # noqa: E402
from bench.servers import scratch  # noqa: E402

BOUND_SHARE_OF_OFFERED = 0.6  # default per-second limit, as a share of the offered rate
BOUND = 0.9  # a measured peak at this share of its limit or above: pacing was under pressure


def noop(scheduled_for: float) -> float:
    """The baseline job: how late it ran."""
    return time.time() - scheduled_for


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the callbacks fall due")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cps", type=int, default=None,
                        help="pacing: outbound calls per second (default: 60 %% of the offered rate)")
    parser.add_argument("--max-concurrent", type=int, default=None,
                        help="pacing: outbound calls live at once (default: --cps times --hold)")
    parser.add_argument("--hold", type=float, default=1.0, help="seconds the carrier keeps each call before it ends")
    parser.add_argument("--baseline", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    offered = args.n / args.spread
    if args.cps is None:
        args.cps = max(1, int(BOUND_SHARE_OF_OFFERED * offered))
    if args.max_concurrent is None:
        args.max_concurrent = max(1, round(args.cps * args.hold))

    with scratch("bench-callbacks-", TWILIO_AUTH_TOKEN="bench", CALLING_HOURS="00:00-24:00",
                 OUTBOUND_CALLS_PER_SECOND=str(args.cps), OUTBOUND_MAX_CONCURRENT=str(args.max_concurrent),
                 SEED_DEMO_ON_FIRST_RUN="false") as place:
        environment = {**os.environ, **place.environment}
        os.environ.update({k: v for k, v in place.environment.items() if k != "PYTHONPATH"})
        workers = []
        try:
            from app import create_app

            app = create_app({"LOAD_SPEECH_MODELS": False, "INSTANCE_PATH": place.folder})
            with app.app_context():
                figures = run(app, args, environment, workers)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
    print_figures(figures, args.json)
    return figures


class Carrier(threading.Thread):
    """The far end of the simulated carrier: takes each call as it is created, keeps it live for
    `hold` seconds, then reports its end to the app as Twilio would (a signed status callback)."""

    def __init__(self, app, connection, hold: float, token: str):
        super().__init__(daemon=True)
        from twilio.request_validator import RequestValidator

        self.app, self.redis, self.hold = app, connection, hold
        self.validator = RequestValidator(token)
        self.placed: list[dict] = []
        self.live: list[tuple[float, int]] = []  # (ends at, index into placed)
        self.intervals: list[tuple[float, float]] = []  # (created, ended) per call
        self.failed_reports = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        from ivr.telephony import SIMULATOR_OUTBOX

        client = self.app.test_client()
        while not self.stopping.is_set() or self.live:
            item = self.redis.lpop(SIMULATOR_OUTBOX)
            if item is not None:
                call = json.loads(item)
                self.placed.append(call)
                heapq.heappush(self.live, (call["placed_at"] + self.hold, len(self.placed) - 1))
            while self.live and self.live[0][0] <= time.time():
                ends_at, index = heapq.heappop(self.live)
                self.intervals.append((self.placed[index]["placed_at"], time.time()))
                self.hang_up(client, self.placed[index])
            if item is None:
                time.sleep(0.005)

    def hang_up(self, client, call: dict) -> None:
        form = {"CallSid": call["sid"], "CallStatus": "completed", "To": call["to"], "Direction": "outbound-api"}
        signature = self.validator.compute_signature(call["status_callback"], form)
        response = client.post(call["status_callback"], data=form, headers={"X-Twilio-Signature": signature})
        if response.status_code >= 300:
            self.failed_reports += 1

    def most_live_at_once(self) -> int:
        changes = sorted([(start, 1) for start, _ in self.intervals] + [(end, -1) for _, end in self.intervals],
                         key=lambda change: (change[0], change[1]))
        live = most = 0
        for _, step in changes:
            live += step
            most = max(most, live)
        return most


def run(app, args, environment, workers) -> dict:
    from sqlalchemy import select

    from callqueue.callbacks import book_callback
    from callqueue.jobs import get_queue, schedule_callback
    from callqueue.models import Callback
    from clock import from_naive_utc
    from database import new_session
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
    carrier = Carrier(app, connection, args.hold, environment["TWILIO_AUTH_TOKEN"])
    carrier.start()
    for _ in range(args.workers):
        workers.append(subprocess.Popen([sys.executable, "-m", "callqueue.worker"], env=environment,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 15 + args.spread + 600
    while time.monotonic() < deadline:
        if len(carrier.placed) >= args.n and all(j.get_status(refresh=True) == "finished"
                                                                for j in baseline_jobs[-5:]):
            break
        time.sleep(0.5)
    time.sleep(2)  # let any duplicate dial that was going to happen, happen
    carrier.stopping.set()
    carrier.join(timeout=60)

    due_at = {c.id: from_naive_utc(c.due_at).timestamp() for c in session.scalars(select(Callback))}
    placed = carrier.placed
    first_placed: dict[int, float] = {}
    for call in placed:
        callback_id = int(urlsplit(call["url"]).path.rsplit("/", 1)[1])
        first_placed[callback_id] = min(call["placed_at"], first_placed.get(callback_id, float("inf")))
    lateness = [(placed_at - due_at[callback_id]) * 1000 for callback_id, placed_at in first_placed.items()]
    per_attempt = collections.Counter(
        (urlsplit(call["url"]).path, parse_qs(urlsplit(call["url"]).query)["attempt"][0]) for call in placed)
    per_second = collections.Counter(int(p["placed_at"]) for p in placed)
    busiest_second = max(per_second.values()) if per_second else 0
    most_live = carrier.most_live_at_once()
    cps_bound = busiest_second >= BOUND * args.cps
    concurrency_bound = most_live >= BOUND * args.max_concurrent
    baseline = [j.return_value(refresh=True) * 1000 for j in baseline_jobs if j.get_status(refresh=True) == "finished"]
    session.close()
    return {
        "method": method(__doc__),
        "callbacks": args.n, "workers": args.workers, "spread_s": args.spread,
        "offered_calls_per_second": round(args.n / args.spread, 1),
        "lateness_min_ms": round(min(lateness), 1) if lateness else None,  # below zero: dialled early
        "lateness_p50_ms": round(statistics.median(lateness), 1) if lateness else None,
        "lateness_p99_ms": round(percentile(lateness, 0.99), 1) if lateness else None,
        "baseline_rq_lateness_p50_ms": round(statistics.median(baseline), 1) if baseline else None,
        "baseline_rq_lateness_p99_ms": round(percentile(baseline, 0.99), 1) if baseline else None,
        "lost": args.n - len(first_placed), "doubled": sum(1 for n in per_attempt.values() if n > 1),
        "cps_limit": args.cps, "busiest_second_calls": busiest_second,
        "busiest_sliding_second_calls": busiest_window(sorted(p["placed_at"] for p in placed), 1.0),
        "max_concurrent_limit": args.max_concurrent, "most_live_at_carrier": most_live,
        "status_reports_refused": carrier.failed_reports,
        "cps_bound": cps_bound, "concurrency_bound": concurrency_bound,
        "pacing_bound": cps_bound or concurrency_bound,
        "pacing_respected": busiest_second <= args.cps and most_live <= args.max_concurrent,
    }


def busiest_window(times: list[float], width: float) -> int:
    """The most of the (sorted) `times` in any window `width` long (informational: the carrier
    and pacing count whole seconds)."""
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= width:
            first += 1
        most = max(most, last - first + 1)
    return most


def failed(figures: dict) -> bool:
    return bool(figures["lost"] or figures["doubled"] or not figures["pacing_respected"]
                or not figures["pacing_bound"])


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
