"""Reports at a year's scale: 1,000,000 call records and 100,000 tickets in SQLite.

    python -m bench.reports --json

Method (printed with the figures as "method"):
A year of records shaped like the hotline's own, bulk-inserted into SQLite: call records with
their flow events (8-14 each) and transcripts (what was said and heard), half naming a waybill
and its parcel's carrier; --parcels parcels of eight carriers in their own waybill formats, with
3-8 scans through picked up, in transit and on to their status (signed, out for delivery,
exception, returned), one in twenty in exception; tickets with 2-5 history events each, their
transcript and, closed, a survey score; survey callbacks with attempts. Then the floor at the
measured moment, played over the half hour before it on the bench's clock through the ACD and
the call service (no Redis written directly): --agents console users registered with the ACD,
45 % put through to a caller and talking, 5 % in wrap-up after a call that just ended, the rest
ringing, available, on a break or signed out; --waiting callers in line in several skills whose
agents are all busy; --in-ivr calls in the menus. Timed (median of 3): a daily, a weekly and a
month's report (reports.figures.build, hot spots included) and the wallboard in-process
(reports.live.wallboard, median of 5) and over HTTP by one supervisor alone (median of 5, a new
login and no ETag each); then --supervisors supervisors (console users), each with
its own login session, poll GET /console/api/wallboard on the real app under gunicorn (gthread,
its clock the bench's) --refreshes times each, all at once, each poll after the last answer and
sending the ETag back (If-None-Match) as poll.js does: p50/p99 over every poll. The baseline, same
run: a bare COUNT(*) over the day's call records, the least a daily report must read. Checked:
each report's counts of calls, abandoned and after-hours calls, tickets and surveys due and
reached equal what the bench inserted into its period (counted as it inserts), and so does the
bare COUNT(*); the wallboard's day, its agents by state, callers waiting (in all and by line),
calls in the IVR and offers accepted today equal what the live load left, in-process and in the
first and last view over HTTP, and every view over HTTP agrees with the in-process one; every
poll answers 200 or 304. Exit status 1 on any mismatch (listed in "mismatches") or any failed
login or poll ("wallboard_failures").
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

import requests

sys.path.insert(0, os.getcwd())

from bench.figures import method, percentile, print_figures  # noqa: E402
from bench.servers import log_tail, scratch, served  # noqa: E402
from tickets.categories import ComplaintCategory  # noqa: E402

OUTCOMES = ["self_served", "after_hours", "complaint_filed", "callback_booked", "transferred", "abandoned", "caller_hung_up"]
CARRIER_SHARES = {"ZTO": 0.22, "YTO": 0.16, "YUNDA": 0.15, "JT": 0.12, "STO": 0.12, "SF": 0.1, "JD": 0.08, "EMS": 0.05}
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


def waybill_for(carrier: str, n: int) -> str:
    """The n-th waybill of a carrier, in the format that carrier prints (tracking.carriers)."""
    from tracking.carriers import s10_check_digit

    if carrier == "EMS":
        serial = f"{n % 10 ** 8:08d}"
        return f"E{'ABCDEFGHJK'[n // 10 ** 8 % 10]}{serial}{s10_check_digit(serial)}CN"
    return {"SF": f"SF{n:013d}", "ZTO": f"7{n:011d}", "YTO": f"YT{n:013d}", "STO": f"77{n:011d}",
            "YUNDA": f"31{n:011d}", "JD": f"JD{n:013d}", "JT": f"JT{n:013d}"}[carrier]


def scan_statuses(status, count: int) -> list:
    """The scans a parcel in `status` went through: picked up, in transit, then what it is now."""
    from tracking.status import ParcelStatus as S

    if status is S.PICKED_UP:
        return [S.PICKED_UP]
    last = {S.IN_TRANSIT: [S.IN_TRANSIT], S.OUT_FOR_DELIVERY: [S.OUT_FOR_DELIVERY],
            S.SIGNED: [S.OUT_FOR_DELIVERY, S.SIGNED], S.EXCEPTION: [S.EXCEPTION],
            S.RETURNED: [S.EXCEPTION, S.RETURNED]}[status]
    return [S.PICKED_UP, *[S.IN_TRANSIT] * max(0, count - 1 - len(last)), *last]


SCAN_WORDS = {"PICKED_UP": "快件已揽收", "IN_TRANSIT": "快件已到达", "OUT_FOR_DELIVERY": "快件派送中",
              "SIGNED": "快件已签收", "EXCEPTION": "快件异常", "RETURNED": "快件已退回"}


def call_record(n: int, start: datetime, waybill: str, rng: random.Random, carrier: str = "") -> dict:
    steps = [rng.choice(STEPS) for _ in range(rng.randint(8, 14))]
    events = [{"at": (start + timedelta(seconds=5 * i)).isoformat(timespec="seconds"), "event": "digits",
               "value": str(rng.randrange(10)), "step": step} for i, step in enumerate(steps)]
    transcript = [{"said": f"请说出您的运单号 {step}", "heard": "一 二 三 四 五 六 七 八 九 零", "pressed": "1"}
                  for step in steps[: len(steps) // 2]]
    return {"call_sid": f"CA{n:032d}", "direction": "inbound", "from_phone": f"139{rng.randrange(10 ** 8):08d}",
            "to_phone": "4008", "language": "zh-CN" if n % 5 else "en-US", "started_at": start,
            "ended_at": start + timedelta(seconds=rng.randrange(30, 600)), "carrier_status": "completed",
            "outcome": rng.choice(OUTCOMES), "last_step": steps[-1], "waybill": waybill,
            "carrier": carrier, "events": events, "transcript": transcript}


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
    codes, shares = list(CARRIER_SHARES), list(CARRIER_SHARES.values())
    carriers = rng.choices(codes, shares, k=args.parcels)
    waybills = [waybill_for(carrier, n) for n, carrier in enumerate(carriers)]
    carrier_of = dict(zip(waybills, carriers, strict=True))
    with engine.begin() as connection:
        parcels, scans = [], []
        for n, waybill in enumerate(waybills, 1):
            shipped = year_start + timedelta(seconds=rng.randrange(seconds))
            exception = rng.random() < 0.05
            status = ParcelStatus.EXCEPTION if exception else rng.choice(list(ParcelStatus))
            route = rng.sample(PLACES, 2)
            statuses = scan_statuses(status, rng.randint(3, 8))
            count = len(statuses)
            scans += [{"parcel_id": n, "at": shipped + timedelta(hours=6 * i), "location": rng.choice(PLACES),
                       "status": scan.name, "description": SCAN_WORDS[scan.name]} for i, scan in enumerate(statuses)]
            parcels.append({"id": n, "waybill": waybill, "keyed_digits": keyed_digits(waybill),
                            "carrier": carriers[n - 1], "status": status.name,
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
            waybill = rng.choice(waybills) if n % 2 else ""
            batch.append(call_record(n, start, waybill, rng, carrier_of.get(waybill, "")))
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


PASSWORD = "bench-reports-password"
WAITING_LINES = ["zh-CN:lost", "zh-CN:damaged", "zh-CN:delayed", "zh-CN:signed_not_received", "en-US:lost"]
# Of the agents: on a call, in wrap-up after one, ringing (offered), on a break, signed out; the rest go available.
AGENT_SHARES = {"on_call": 0.45, "wrap_up": 0.05, "offered": 0.05, "break": 0.15, "offline": 0.15}


class Clock:
    """The bench's in-process clock (the app's CLOCK): the live load is played over the half hour
    before the measured moment, so waits, times in state and the day's decisions are real."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> float:
        self.at += timedelta(seconds=seconds)
        return self.at.timestamp()


class Live:
    """What the live load put on the floor, counted from what each production call returned."""

    def __init__(self):
        self.agents: dict[str, str] = {}     # agent: the state the bench brought them to
        self.waiting: dict[str, int] = {}    # line: callers the bench left waiting in it
        self.in_ivr = 0
        self.answered = 0                    # offers accepted today
        self.errors: list[str] = []

    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.agents.values():
            counts[state] = counts.get(state, 0) + 1
        return counts

    def expected(self) -> dict:
        return {"agents": dict(sorted(self.states().items())), "waiting": sum(self.waiting.values()),
                "in_ivr": self.in_ivr, "answered_today": self.answered}


def add_users(app, agents: int, supervisors: int, rng: random.Random) -> list[dict]:
    """Console users: `agents` agents (mixed languages and skills) and `supervisors` supervisors,
    one password hashed once (scrypt per user would make the set-up the benchmark)."""
    from console.models import User
    from database import new_session

    waiting_categories = {line.split(":")[1] for line in WAITING_LINES}
    others = [c for c in CATEGORY_NAMES if c not in waiting_categories]
    available_from = round(agents * sum(AGENT_SHARES.values()))
    floor = []
    for n in range(agents):
        languages = ["zh-CN"] if n % 10 < 8 else ["zh-CN", "en-US"] if n % 10 == 8 else ["en-US"]
        # Those who go available last serve none of the lines callers wait in (or they would be offered one).
        categories = rng.sample(others if n >= available_from else CATEGORY_NAMES, 2)
        floor.append({"id": f"agent-{n}", "languages": languages, "categories": categories})
    probe = User()
    probe.set_password(PASSWORD)
    session = new_session()
    session.add_all(User(username=a["id"], role="agent", display_name=a["id"], languages=a["languages"],
                         categories=a["categories"], password_hash=probe.password_hash, phone="") for a in floor)
    session.add_all(User(username=f"supervisor-{n}", role="supervisor", display_name=f"supervisor-{n}",
                         languages=["zh-CN"], categories=[], password_hash=probe.password_hash, phone="")
                    for n in range(supervisors))
    session.commit()
    session.close()
    return floor


def caller(calls, clock: Clock, n: int, language: str, category: str, rng: random.Random):
    """A caller through the production path: the call starts, the flow asks its first question
    (keypad), and the session is saved; the caller's choice of complaint picks their line."""
    call = calls.new_call("hotline", "inbound", {"category": category} if category else {},
                          sid=f"CL{n:032d}", caller=f"139{rng.randrange(10 ** 8):08d}", called="4008")
    call.language = language
    calls.start(call)
    calls.heard(call, calls.begin(call))
    calls.save(call)
    return call


def live_load(app, floor: list[dict], waiting: int, in_ivr: int, clock: Clock, rng: random.Random,
              inserted: Inserted) -> Live:
    """The floor at the measured moment, put there through the ACD and the call service as the
    webhooks and consoles do (no Redis written directly): agents signed in, callers put through
    to them and talking, a few in wrap-up or ringing, callers waiting in those of WAITING_LINES
    some agent serves, calls in the IVR, agents on breaks and signed out."""
    from callqueue.acd import AcdError, AgentState
    from calls.service import get_calls
    from console.words import NOT_READY_REASONS

    calls, live, sids = get_calls(), Live(), iter(range(10 ** 6))
    acd, now = calls.acd(), clock.at
    clock.at = now - timedelta(minutes=30)
    for agent in floor:
        acd.register_agent(agent["id"], languages=agent["languages"], categories=agent["categories"])
        live.agents[agent["id"]] = "offline"
    bounds, groups = 0, {}
    for group, share in AGENT_SHARES.items():
        groups[group] = floor[bounds:bounds + round(len(floor) * share)]
        bounds += len(groups[group])
    groups["available"] = floor[bounds:]

    def answered_by(agent: dict, seconds: float):
        """The agent goes available, a caller of their line arrives and is offered to them."""
        acd.set_state(agent["id"], AgentState.AVAILABLE, clock.advance(seconds))
        call = caller(calls, clock, next(sids), agent["languages"][0], rng.choice(agent["categories"]), rng)
        calls.leave_for_queue(call)
        calls.save(call)
        state = acd.agent(agent["id"])
        if state["state"] != "offered" or state.get("call") != call.sid:
            live.errors.append(f"{agent['id']}: not offered their caller ({state['state']})")
        live.agents[agent["id"]] = "offered"
        return call

    talking = {}
    for agent in groups["on_call"] + groups["wrap_up"]:  # over the first 15 minutes
        call = answered_by(agent, 900 / max(1, len(groups["on_call"]) + len(groups["wrap_up"])))
        acd.accept(agent["id"], call.sid, clock.advance(rng.uniform(2, 8)))
        calls.connected(call.sid)
        live.agents[agent["id"]], live.answered, talking[agent["id"]] = "on_call", live.answered + 1, call
    clock.at = now - timedelta(minutes=15)
    served = {f"{language}:{category}" for agent in floor for language in agent["languages"]
              for category in agent["categories"]}
    lines = [line for line in WAITING_LINES if line in served] or sorted(served)
    for _ in range(waiting):  # the next 10 minutes: callers for lines whose agents are all busy
        line = rng.choice(lines)
        language, category = line.split(":")
        call = caller(calls, clock, next(sids), language, category, rng)
        clock.advance(600 / max(1, waiting))
        calls.leave_for_queue(call)
        calls.save(call)
        live.waiting[call.queue["skill"]] = live.waiting.get(call.queue["skill"], 0) + 1
    for _ in range(in_ivr):  # the last 5 minutes: callers still in the menus
        clock.advance(240 / max(1, in_ivr))
        caller(calls, clock, next(sids), "zh-CN", "", rng)
        live.in_ivr += 1
    clock.at = now - timedelta(seconds=25)
    for agent in groups["wrap_up"]:  # calls that just ended: their records are today's
        sid = talking[agent["id"]].sid
        calls.agent_call_ended(sid, "completed")
        acd.finish(agent["id"], clock.advance(0.5))
        calls.ended(sid, "completed")
        inserted.add(datetime.fromisoformat(talking[agent["id"]].started_at), calls=1)  # naive UTC, as stored
        live.agents[agent["id"]] = "wrap_up"
    for agent in groups["offered"] + groups["available"]:  # back from a break: the line's next caller rings
        offers = acd.set_state(agent["id"], AgentState.AVAILABLE, clock.advance(0.1))
        live.agents[agent["id"]] = "available"
        for offer in offers:
            live.agents[offer.agent_id] = "offered"
            live.waiting[offer.skill] -= 1
    for n, agent in enumerate(groups["break"]):
        acd.set_state(agent["id"], AgentState.BREAK, clock.advance(0.1), NOT_READY_REASONS[n % len(NOT_READY_REASONS)])
        live.agents[agent["id"]] = "break"
    for agent in groups["offline"]:
        try:
            acd.set_state(agent["id"], AgentState.OFFLINE, clock.advance(0.1))
        except AcdError as error:
            live.errors.append(f"{agent['id']}: {error}")
    clock.at = now
    live.waiting = {line: count for line, count in live.waiting.items() if count}
    return live


def live_mismatches(live: Live, board: dict, where: str) -> list[str]:
    """The wallboard's live half against what the live load left: agents by state, callers
    waiting (in all and by line), calls in the IVR, offers accepted today."""
    measured = {"agents": board["agents"], "waiting": board["waiting"], "in_ivr": board["in_ivr"],
                "answered_today": board["answered_today"]}
    lines = {line: figures["waiting"] for line, figures in board["lines"].items() if figures["waiting"]}
    return (mismatches(live.expected(), measured, where)
            + mismatches({"lines": dict(sorted(live.waiting.items()))}, {"lines": dict(sorted(lines.items()))}, where))


def served_app():
    """The app gunicorn serves to the supervisors: the real one, its clock the bench's (moved by
    BENCH_REPORTS_CLOCK_OFFSET_S, so it reads the measured day and still runs)."""
    from app import create_app
    from clock import utcnow

    offset = timedelta(seconds=float(os.environ["BENCH_REPORTS_CLOCK_OFFSET_S"]))
    return create_app({"LOAD_SPEECH_MODELS": False, "CLOCK": lambda: utcnow() + offset})


def server_environment(app, now: datetime) -> dict:
    """gunicorn's environment: the bench's Redis, database, instance and secrets, its clock at `now`."""
    config = app.config
    return {"REDIS_URL": config["REDIS_URL"], "DATABASE_URL": config["DATABASE_URL"],
            "HOTLINE_INSTANCE": app.instance_path, "SECRET_KEY": config["SECRET_KEY"],
            "TWILIO_AUTH_TOKEN": config["TWILIO_AUTH_TOKEN"], "HOTLINE_LANGUAGE": config["HOTLINE_LANGUAGE"],
            "SEED_DEMO_ON_FIRST_RUN": "false", "PYTHONPATH": os.getcwd(),
            "BENCH_REPORTS_CLOCK_OFFSET_S": repr(now.timestamp() - time.time())}


def supervisor_screen(base: str, username: str, refreshes: int, polls, boards: list, logged_in: threading.Barrier,
                      timeout_s: float) -> None:
    """One supervisor's wallboard page: log in (its own session), then refresh `refreshes` times,
    each after the last answer, as poll.js does: If-None-Match with the last ETag, a 304 keeps
    the last view; anything but 200 or 304 (or no answer) is a failure."""
    from bench.consoles import logged_in_session

    client, etag = logged_in_session(base, username, PASSWORD, polls, timeout_s), ""
    logged_in.wait()
    for _ in range(refreshes):
        began = time.perf_counter()
        try:
            response = client.get(base + "/console/api/wallboard", timeout=timeout_s,
                                  headers={"Accept-Language": "zh-CN", **({"If-None-Match": etag} if etag else {})})
            polls.add((time.perf_counter() - began) * 1000, response.status_code)
            if response.status_code == 200:
                etag = response.headers.get("ETag", "")
                boards.append(response.json())
            elif response.status_code != 304:
                polls.error(f"wallboard {username}: HTTP {response.status_code}")
        except (requests.RequestException, ValueError) as error:
            polls.error(f"wallboard {username}: {type(error).__name__}: {error}")
    client.close()  # a page closed: its kept-alive connection would hold gunicorn's shutdown


def http_wallboard_alone(base: str, refreshes: int) -> tuple:
    """One supervisor's wallboard with nobody else polling: the same request's own time, without
    the queueing of 20 at once (each poll sends no ETag, so each is a full answer)."""
    from bench.consoles import Polls

    polls, boards = Polls(), []
    for _ in range(refreshes):
        supervisor_screen(base, "supervisor-0", 1, polls, boards, threading.Barrier(1), POLL_TIMEOUT_S)
    return polls, boards


def http_wallboards(base: str, args) -> tuple:
    """Every supervisor logged in, then all refreshing at once: their polls and the views they got."""
    from bench.consoles import Polls

    polls, boards = Polls(), []
    logged_in = threading.Barrier(args.supervisors)
    threads = [threading.Thread(target=supervisor_screen, daemon=True, args=(
        base, f"supervisor-{n}", args.refreshes, polls, boards, logged_in, POLL_TIMEOUT_S))
        for n in range(args.supervisors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=POLL_TIMEOUT_S * (args.refreshes + 1) + 10)
    if any(thread.is_alive() for thread in threads):
        polls.error("a supervisor's screen never finished")
    return polls, boards


POLL_TIMEOUT_S = 30.0


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--parcels", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--waiting", type=int, default=100, help="callers waiting in line at the measured moment")
    parser.add_argument("--in-ivr", type=int, default=40, help="calls in the IVR at the measured moment")
    parser.add_argument("--supervisors", type=int, default=SUPERVISORS)
    parser.add_argument("--refreshes", type=int, default=10, help="wallboard refreshes per supervisor")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
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
    return bool(figures["mismatches"]) or bool(figures["wallboard_failures"])


def run(app, args) -> dict:
    from sqlalchemy import func, select

    from calls.records import CallRecord
    from calls.service import get_calls
    from database import new_session
    from reports import figures
    from reports.live import wallboard

    defaults = {"waiting": 100, "in_ivr": 40, "supervisors": SUPERVISORS, "refreshes": 10, "workers": 2, "threads": 16}
    args = argparse.Namespace(**{**defaults, **vars(args)})
    zone = app.extensions["calling_hours"].zone
    year_start = datetime(2025, 11, 25)
    day = figures.day(date(2026, 6, 15), zone)
    week = figures.week("2026-W25", zone)
    month = figures.Period("2026-06", datetime(2026, 6, 1, tzinfo=zone), datetime(2026, 7, 1, tzinfo=zone))
    periods = {"daily": day, "weekly": week, "month": month}
    now = datetime(2026, 6, 15, 6, tzinfo=zone)  # the wallboard's day is the daily report's
    clock = Clock(now)
    app.config["CLOCK"] = clock
    inserted = Inserted({name: period.utc_bounds() for name, period in periods.items()})
    started = time.perf_counter()
    rng = random.Random(1)
    load(app.extensions["db_engine"], args, year_start, rng, inserted)
    floor = add_users(app, args.agents, args.supervisors, rng)
    live_started = time.perf_counter()
    live = live_load(app, floor, args.waiting, args.in_ivr, clock, rng, inserted)
    live_load_s = round(time.perf_counter() - live_started, 1)
    inserted.agents = live.states()
    load_s = round(time.perf_counter() - started, 1)
    session = new_session()
    start, end = day.utc_bounds()
    calls = get_calls()
    acd, store = calls.acd(), calls.store

    baseline_ms, day_count = timed(lambda: session.scalar(select(func.count(CallRecord.id)).where(
        CallRecord.started_at >= start, CallRecord.started_at < end)))
    reports = {name: timed(lambda period=period: figures.build(session, period)) for name, period in periods.items()}
    wallboard_ms, board = timed(lambda: wallboard(session, acd, store, now, zone), repeat=5)
    session.close()
    log_path = os.path.join(app.instance_path, "bench-reports-server.log")
    with served("bench.reports:served_app()", server_environment(app, now), args.workers, args.threads,
                log_path) as (_, base):
        alone, _ = http_wallboard_alone(base, 5)
        polls, boards = http_wallboards(base, args)
    samples = polls.ms or [0.0]

    wrong = [f"live load: {error}" for error in live.errors]
    wrong += mismatches({"calls": inserted.counts["daily"]["calls"]}, {"calls": day_count}, "baseline_count")
    for name, (_, report) in reports.items():
        wrong += mismatches(inserted.counts[name], report_counts(report), name)
    today = {key: inserted.counts["daily"][key] for key in ("calls", "abandoned", "after_hours")}
    for where, seen in [("wallboard", [board]), ("wallboard_http", boards[:1] + boards[1:][-1:])]:
        for view in seen:
            wrong += mismatches(today, {"calls": view["calls_today"], "abandoned": view["abandoned_today"],
                                        "after_hours": view["after_hours_today"]}, where)
            wrong += live_mismatches(live, view, where)
    differ = sum(1 for view in boards if {k: view[k] for k in COMPARED} != {k: board[k] for k in COMPARED})
    if differ:
        wrong.append(f"wallboard_http: {differ} of {len(boards)} views differ from the in-process wallboard")
    if not boards:
        wrong.append("wallboard_http: no supervisor got a wallboard")
    figures_out = {
        "method": method(__doc__),
        "call_records": args.calls, "tickets": args.tickets, "parcels": args.parcels, "agents": args.agents,
        "waiting": args.waiting, "in_ivr": args.in_ivr, "supervisors": args.supervisors,
        "load_s": load_s, "live_load_s": live_load_s,
        "baseline_day_count_ms": baseline_ms,
        **{f"{name}_report_ms": ms for name, (ms, _) in reports.items()},
        "wallboard_ms": wallboard_ms,
        "wallboard_http_alone_ms": round(statistics.median(alone.ms or [0.0]), 1),
        "wallboard_http_p50_ms": round(statistics.median(samples), 1),
        "wallboard_http_p99_ms": round(percentile(samples, 0.99), 1),
        "wallboard_refreshes": len(polls.ms), "wallboard_304s": polls.not_modified,
        "wallboard_failures": len(polls.errors) + len(alone.errors),
        "first_wallboard_failure": (alone.errors + polls.errors or [None])[0],
        "live_agents": board["agents"], "live_waiting": board["waiting"], "live_in_ivr": board["in_ivr"],
        "day_calls": day_count, "day_tickets": inserted.counts["daily"]["tickets"],
        "mismatches": wrong,
    }
    if polls.errors or alone.errors:
        figures_out["server_log_tail"] = log_tail(log_path, 1500)
    return figures_out


# What every supervisor's view must share with the in-process wallboard (waits, SLA breaches and
# the server's own fields move with its clock).
COMPARED = ("calls_today", "abandoned_today", "after_hours_today", "agents", "waiting", "in_ivr",
            "answered_today", "ivr_containment", "average_handling_s")


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
