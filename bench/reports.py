"""Reports at a year's scale: 1,000,000 call records and 100,000 tickets in SQLite.

    python -m bench.reports --json

Method (printed with the figures as "method"):
A year of records shaped like the hotline's own, bulk-inserted into SQLite: call records with
their flow events (8-14 each) and transcripts (what was said and heard), half naming a waybill;
--parcels parcels with 3-8 scan events, one in twenty in exception; tickets with 2-5 history
events each, their transcript and, closed, a survey score; survey callbacks with attempts;
--agents console users registered with the ACD in mixed states. Timed (median of 3): a daily,
a weekly and a month's report (reports.figures.build, hot spots included) and the wallboard
(reports.live.wallboard), once alone and as 20 supervisors' screens refreshing at once (p99).
The baseline, same run: a bare COUNT(*) over the day's call records, the least a daily report
must read. Checked: each report's counts of calls, abandoned and after-hours calls, tickets and
surveys due and reached equal what the bench inserted into its period (counted as it inserts),
so does the wallboard's day and its agents by state, and so does the bare COUNT(*); each of the
20 supervisors sees the same wallboard. Exit status 1 on any mismatch (listed in "mismatches").
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import date, datetime, timedelta

sys.path.insert(0, os.getcwd())

from bench.figures import method, percentile, print_figures  # noqa: E402
from bench.servers import scratch  # noqa: E402
from tickets.categories import ComplaintCategory  # noqa: E402

OUTCOMES = ["self_served", "after_hours", "complaint_filed", "callback_booked", "transferred", "abandoned", "caller_hung_up"]
CARRIERS = ["SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS", ""]
CATEGORY_NAMES = [c.value for c in ComplaintCategory]
SUPERVISORS = 20


def timed(function, repeat: int = 3) -> tuple[float, object]:
    """The median time of `repeat` runs in ms, and what the last returned."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        value = function()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), value


COUNTED = ("calls", "abandoned", "after_hours", "tickets", "surveys_due", "surveys_reached")


class Inserted:
    """What the bench inserts into each timed period, counted as it goes (not read back by SQL)."""

    def __init__(self, periods: dict[str, tuple[datetime, datetime]]):
        self.periods = periods  # name: naive UTC bounds, as stored
        self.counts = {name: dict.fromkeys(COUNTED, 0) for name in periods}
        self.agents: dict[str, int] = {}

    def add(self, at: datetime, **counts: int) -> None:
        for name, (start, end) in self.periods.items():
            if start <= at < end:
                for key, value in counts.items():
                    self.counts[name][key] += value


def report_counts(report: dict) -> dict:
    return {"calls": report["calls"]["total"], "abandoned": report["calls"]["abandoned"],
            "after_hours": report["calls"]["after_hours"], "tickets": report["tickets"]["total"],
            "surveys_due": report["satisfaction"]["surveys_due"],
            "surveys_reached": report["satisfaction"]["reached"]}


def mismatches(expected: dict, measured: dict, where: str) -> list[str]:
    """'where.key: measured X, inserted Y' for each key of `expected` that `measured` gets wrong."""
    return [f"{where}.{key}: measured {measured.get(key)}, inserted {value}"
            for key, value in expected.items() if measured.get(key) != value]


STEPS = ["main_menu", "say_waybill", "confirm_waybill", "check_identity", "after_status", "offer_agent"]
PLACES = ["上海转运中心", "杭州分拨中心", "广州白云区网点", "北京顺义转运中心", "成都双流网点", "武汉分拨中心"]


def call_record(n: int, start: datetime, waybill: str, rng: random.Random) -> dict:
    steps = [rng.choice(STEPS) for _ in range(rng.randint(8, 14))]
    events = [{"at": (start + timedelta(seconds=5 * i)).isoformat(timespec="seconds"), "event": "digits",
               "value": str(rng.randrange(10)), "step": step} for i, step in enumerate(steps)]
    transcript = [{"said": f"请说出您的运单号 {step}", "heard": "一 二 三 四 五 六 七 八 九 零", "pressed": "1"}
                  for step in steps[: len(steps) // 2]]
    return {"call_sid": f"CA{n:032d}", "direction": "inbound", "from_phone": f"139{rng.randrange(10 ** 8):08d}",
            "to_phone": "4008", "language": "zh-CN" if n % 5 else "en-US", "started_at": start,
            "ended_at": start + timedelta(seconds=rng.randrange(30, 600)), "carrier_status": "completed",
            "outcome": rng.choice(OUTCOMES), "last_step": steps[-1], "waybill": waybill,
            "carrier": rng.choice(CARRIERS), "events": events, "transcript": transcript}


def insert(connection, table, rows: list[dict]) -> None:
    for offset in range(0, len(rows), 20000):
        connection.execute(table.insert(), rows[offset:offset + 20000])


def load(engine, args, year_start: datetime, rng: random.Random, inserted: Inserted) -> None:
    from callqueue.models import Callback, CallbackAttempt, CallbackStatus
    from calls.records import CallRecord
    from tickets.categories import ComplaintCategory, Demand
    from tickets.models import Ticket, TicketEvent, TicketStatus
    from tracking.carriers import keyed_digits
    from tracking.models import Parcel, ScanEvent
    from tracking.status import ExceptionReason, ParcelStatus

    seconds = 365 * 86400
    waybills = [f"SF{n:013d}" for n in range(args.parcels)]
    with engine.begin() as connection:
        parcels, scans = [], []
        for n, waybill in enumerate(waybills, 1):
            shipped = year_start + timedelta(seconds=rng.randrange(seconds))
            exception = rng.random() < 0.05
            route = rng.sample(PLACES, 2)
            count = rng.randint(3, 8)
            scans += [{"parcel_id": n, "at": shipped + timedelta(hours=6 * i), "location": rng.choice(PLACES),
                       "status": ParcelStatus.IN_TRANSIT.name, "description": "快件已到达"} for i in range(count)]
            parcels.append({"id": n, "waybill": waybill, "keyed_digits": keyed_digits(waybill), "carrier": "SF",
                            "status": (ParcelStatus.EXCEPTION if exception else rng.choice(list(ParcelStatus))).name,
                            "exception_reason": rng.choice(list(ExceptionReason)).name if exception else None,
                            "origin": route[0], "destination": route[1],
                            "sender_phone": f"137{n:08d}", "recipient_phone": f"138{n:08d}",
                            "sender_name": "张三", "recipient_name": "李四", "expected_delivery": None,
                            "last_scan_at": shipped + timedelta(hours=6 * (count - 1)),
                            "last_scan_location": rng.choice(PLACES)})
        insert(connection, Parcel.__table__, parcels)
        insert(connection, ScanEvent.__table__, scans)
        batch = []
        for n in range(args.calls):
            start = year_start + timedelta(seconds=rng.randrange(seconds))
            batch.append(call_record(n, start, rng.choice(waybills) if n % 2 else "", rng))
            outcome = batch[-1]["outcome"]
            inserted.add(start, calls=1, abandoned=outcome == "abandoned", after_hours=outcome == "after_hours")
            if len(batch) == 20000:
                insert(connection, CallRecord.__table__, batch)
                batch = []
        insert(connection, CallRecord.__table__, batch)
        tickets, history = [], []
        categories, statuses = list(ComplaintCategory), list(TicketStatus)
        for n in range(1, args.tickets + 1):
            created = year_start + timedelta(seconds=rng.randrange(seconds))
            status = rng.choice(statuses)
            inserted.add(created, tickets=1)
            history += [{"ticket_id": n, "at": created + timedelta(hours=i), "action": action,
                         "detail": "客户来电催促处理"} for i, action in
                        enumerate(["created", "assigned", "noted", "responded", "closed"][:rng.randint(2, 5)])]
            tickets.append({"id": n, "number": f"T{n:09d}", "category": rng.choice(categories).name,
                            "status": status.name, "name": "王五", "waybill": rng.choice(waybills),
                            "demand": Demand.COMPENSATION.name, "phone": f"139{rng.randrange(10 ** 8):08d}",
                            "channel": "hotline", "call_sid": f"CA{rng.randrange(args.calls):032d}",
                            "created_at": created, "first_response_due": created + timedelta(hours=1),
                            "closure_due": created + timedelta(hours=24), "owner": f"agent-{n % args.agents}",
                            "first_responded_at": created + timedelta(minutes=rng.randrange(5, 120)),
                            "closed_at": created + timedelta(hours=rng.randrange(1, 40))
                            if status is TicketStatus.CLOSED else None, "escalated_at": None,
                            "claim_amount": None, "claim_basis": "", "recording": "",
                            "transcript": "我的快递三天没有更新了，包裹可能丢了，希望尽快赔偿。",
                            "survey_score": rng.randrange(1, 6) if status is TicketStatus.CLOSED else None})
        insert(connection, Ticket.__table__, tickets)
        insert(connection, TicketEvent.__table__, history)
        surveys, attempts = [], []
        for n in range(1, args.tickets // 2 + 1):
            created = year_start + timedelta(seconds=rng.randrange(seconds))
            done = rng.random() < 0.7
            inserted.add(created, surveys_due=1, surveys_reached=done)
            surveys.append({"id": n, "phone": f"139{rng.randrange(10 ** 8):08d}", "slot": "soonest",
                            "reason": "survey", "kind": "survey", "requested_at": created, "due_at": created,
                            "created_at": created, "ticket_id": n * 2, "attempts": 1,
                            "status": (CallbackStatus.COMPLETED if done else CallbackStatus.FAILED).name,
                            "survey_score": rng.randrange(1, 6) if done else None,
                            "survey_comment": "服务很好" if done else ""})
            attempts.append({"callback_id": n, "number": 1, "started_at": created, "call_sid": f"CB{n:030d}",
                             "outcome": "completed" if done else "no-answer",
                             "ended_at": created + timedelta(minutes=2)})
        insert(connection, Callback.__table__, surveys)
        insert(connection, CallbackAttempt.__table__, attempts)


def add_agents(app, count: int, rng: random.Random) -> dict[str, int]:
    """Register `count` agents in mixed states: how many are in each."""
    from callqueue.acd import AgentState
    from callqueue.routing import distributor
    from console.models import User
    from database import new_session
    from redis_conn import get_redis

    session = new_session()
    probe = User()
    probe.set_password("bench")  # one hash for all: the users are read, not logged in
    session.add_all(User(username=f"agent-{n}", role="agent", display_name=f"agent-{n}", languages=["zh-CN"],
                         categories=["damaged"], password_hash=probe.password_hash, phone="") for n in range(count))
    session.commit()
    session.close()
    acd, states = distributor(get_redis(), app.config), {}
    for n in range(count):
        acd.register_agent(f"agent-{n}", languages=["zh-CN"], categories=rng.sample(CATEGORY_NAMES, 2))
        state = rng.choice([AgentState.AVAILABLE, AgentState.BREAK, AgentState.OFFLINE])
        acd.set_state(f"agent-{n}", state, time.time())
        states[state.value] = states.get(state.value, 0) + 1
    return states


def concurrent_p99_ms(function, screens: int) -> tuple[float, list]:
    """Each of `screens` threads runs `function` once, all released together: the p99 time, and
    what each returned."""
    times, values, start = [], [], threading.Barrier(screens)

    def screen() -> None:
        start.wait()
        began = time.perf_counter()
        values.append(function())
        times.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=screen) for _ in range(screens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(percentile(times, 0.99), 1), values


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--parcels", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with scratch("bench-reports-") as place:
        from app import create_app

        app = create_app(place.settings())
        with app.app_context():
            figures = run(app, args)
    print_figures(figures, args.json)
    return figures


def failed(figures: dict) -> bool:
    return bool(figures["mismatches"])


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
    day = figures.day(date(2026, 6, 15), zone)
    week = figures.week("2026-W25", zone)
    month = figures.Period("2026-06", datetime(2026, 6, 1, tzinfo=zone), datetime(2026, 7, 1, tzinfo=zone))
    periods = {"daily": day, "weekly": week, "month": month}
    now = datetime(2026, 6, 15, 6, tzinfo=zone)  # the wallboard's day is the daily report's
    inserted = Inserted({name: period.utc_bounds() for name, period in periods.items()})
    started = time.perf_counter()
    rng = random.Random(1)
    load(app.extensions["db_engine"], args, year_start, rng, inserted)
    inserted.agents = add_agents(app, args.agents, rng)
    load_s = round(time.perf_counter() - started, 1)
    session = new_session()
    start, end = day.utc_bounds()
    acd, sessions = distributor(get_redis(), app.config), CallStore(get_redis(), 60)

    def refresh_wallboard() -> dict:
        with app.app_context():  # each supervisor's request has its own context and session, as in the app
            screen = new_session()
            try:
                return wallboard(screen, acd, sessions, now, zone)
            finally:
                screen.close()

    baseline_ms, day_count = timed(lambda: session.scalar(select(func.count(CallRecord.id)).where(
        CallRecord.started_at >= start, CallRecord.started_at < end)))
    reports = {name: timed(lambda period=period: figures.build(session, period)) for name, period in periods.items()}
    wallboard_ms, board = timed(lambda: wallboard(session, acd, sessions, now, zone), repeat=5)
    supervisors_p99_ms, boards = concurrent_p99_ms(refresh_wallboard, SUPERVISORS)
    session.close()

    wrong = mismatches({"calls": inserted.counts["daily"]["calls"]}, {"calls": day_count}, "baseline_count")
    for name, (_, report) in reports.items():
        wrong += mismatches(inserted.counts[name], report_counts(report), name)
    wrong += mismatches({key: inserted.counts["daily"][key] for key in ("calls", "abandoned", "after_hours")},
                        {"calls": board["calls_today"], "abandoned": board["abandoned_today"],
                         "after_hours": board["after_hours_today"]}, "wallboard")
    wrong += mismatches(inserted.agents, board["agents"], "wallboard.agents")
    wrong += [f"supervisor {n}: a different wallboard" for n, seen in enumerate(boards) if seen != board]
    return {
        "method": method(__doc__),
        "call_records": args.calls, "tickets": args.tickets, "parcels": args.parcels, "agents": args.agents,
        "load_s": load_s,
        "baseline_day_count_ms": baseline_ms,
        **{f"{name}_report_ms": ms for name, (ms, _) in reports.items()},
        "wallboard_ms": wallboard_ms,
        "wallboard_20_supervisors_p99_ms": supervisors_p99_ms,
        "day_calls": day_count, "day_tickets": inserted.counts["daily"]["tickets"],
        "mismatches": wrong,
    }


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
