"""Reports at a year's scale: 1,000,000 call records and 100,000 tickets in SQLite.

    python -m bench.reports --json

Prints the time to build a daily and a weekly report (goal: under 2 s each) and to refresh
the wallboard (goal: under 200 ms), against a baseline in the same run: a bare COUNT(*) over
the day's call records, the least any daily report must read.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

sys.path.insert(0, os.getcwd())

import redis_conn  # noqa: E402
from bench.figures import print_figures  # noqa: E402

OUTCOMES = ["self_served", "after_hours", "complaint_filed", "callback_booked", "transferred", "abandoned", "caller_hung_up"]
CARRIERS = ["SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS", ""]


def timed(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def load(engine, calls: int, tickets: int, year_start: datetime, rng: random.Random) -> None:
    from calls.records import CallRecord
    from tickets.categories import ComplaintCategory, Demand
    from tickets.models import Ticket, TicketStatus

    seconds = 365 * 86400
    with engine.begin() as connection:
        batch = []
        for n in range(calls):
            start = year_start + timedelta(seconds=rng.randrange(seconds))
            batch.append({"call_sid": f"CA{n:032d}", "direction": "inbound", "from_phone": "13800138000",
                          "to_phone": "4008", "language": "zh-CN" if n % 5 else "en-US", "started_at": start,
                          "ended_at": start + timedelta(seconds=rng.randrange(30, 600)), "carrier_status": "completed",
                          "outcome": rng.choice(OUTCOMES), "last_step": "", "waybill": "", "carrier": rng.choice(CARRIERS),
                          "events": [], "transcript": []})
            if len(batch) == 20000:
                connection.execute(CallRecord.__table__.insert(), batch)
                batch = []
        if batch:
            connection.execute(CallRecord.__table__.insert(), batch)
        rows = []
        categories, statuses = list(ComplaintCategory), list(TicketStatus)
        for n in range(tickets):
            created = year_start + timedelta(seconds=rng.randrange(seconds))
            status = rng.choice(statuses)
            rows.append({"number": f"T{n:09d}", "category": rng.choice(categories).name, "status": status.name,
                         "name": "x", "waybill": f"SF{n:013d}", "demand": Demand.COMPENSATION.name,
                         "phone": "13800138000", "channel": "hotline", "call_sid": "", "created_at": created,
                         "first_response_due": created + timedelta(hours=1), "closure_due": created + timedelta(hours=24),
                         "owner": "", "first_responded_at": created + timedelta(minutes=rng.randrange(5, 120)),
                         "closed_at": created + timedelta(hours=rng.randrange(1, 40)) if status is TicketStatus.CLOSED
                         else None, "escalated_at": None, "claim_amount": None, "claim_basis": "",
                         "survey_score": rng.randrange(1, 6) if status is TicketStatus.CLOSED else None})
        connection.execute(Ticket.__table__.insert(), rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="bench-reports-")
    embedded = redis_conn.start_embedded(folder)
    try:
        from app import create_app

        app = create_app({"LOAD_SPEECH_MODELS": False, "INSTANCE_PATH": folder, "SECRET_KEY": "bench",
                          "TWILIO_AUTH_TOKEN": "bench", "REDIS_URL": redis_conn.socket_url(embedded),
                          "DATABASE_URL": f"sqlite:///{folder}/reports.sqlite3"})
        with app.app_context():
            figures = run(app, args)
    finally:
        redis_conn.stop_embedded(embedded)
    print_figures(figures, args.json)
    return figures


def run(app, args) -> dict:
    from sqlalchemy import func, select

    from callqueue.routing import distributor
    from calls.records import CallRecord
    from calls.store import CallStore
    from database import new_session
    from redis_conn import get_redis
    from reports import figures
    from reports.live import wallboard

    zone = app.extensions["calling_hours"].zone
    year_start = datetime(2025, 11, 25)
    started = time.perf_counter()
    load(app.extensions["db_engine"], args.calls, args.tickets, year_start, random.Random(1))
    load_s = round(time.perf_counter() - started, 1)
    session = new_session()
    day = figures.day(date(2026, 6, 15), zone)
    start, end = day.utc_bounds()
    now = datetime(2026, 6, 15, 6, tzinfo=zone)
    acd, sessions = distributor(get_redis(), app.config), CallStore(get_redis(), 60)
    result = {
        "call_records": args.calls, "tickets": args.tickets, "load_s": load_s,
        "baseline_day_count_ms": timed(lambda: session.scalar(select(func.count(CallRecord.id)).where(
            CallRecord.started_at >= start, CallRecord.started_at < end))),
        "daily_report_ms": timed(lambda: figures.build(session, day)),
        "weekly_report_ms": timed(lambda: figures.build(session, figures.week("2026-W25", zone))),
        "wallboard_ms": timed(lambda: wallboard(session, acd, sessions, now, zone), repeat=5),
    }
    session.close()
    return result


if __name__ == "__main__":
    main()
