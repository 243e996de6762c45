"""ACD benchmark: the production ticker and concurrent clients against one Redis.

    python -m bench.queue --json

Method (printed with the figures as "method"):
One embedded Redis; the production ticker (callqueue.ticker.run: tick_once, its sweeps
included) in its own thread, and concurrent client threads as web workers would be:
--caller-threads threads join calls (each stored live in the call store, queued, as the
webhooks do) at --rate per second with random skills (one in ten escalated), and one thread per
agent (--agents, mixed skills) polling its own state every 10 ms, accepting its offers, talking
and finishing; one offer in ten is left to ring (RONA). The app's CLOCK, shared by ticker and
clients, runs --speed times faster than real time, so the 15 s RONA and wrap-ups pass quickly.
Latency (real wall time, ms) per operation: join (enqueue), offer (a join or an agent's
'available' that made an offer), accept, finish; rona is the real time from an ignored offer's
deadline until its agent sees itself not responding (the ticker's lateness, plus at most one
10 ms poll). Counted: misroutes (an accepted call whose skill the agent lacks) and
misrouted_offers (every offer the ACD recorded, the ticker's after a RONA or a wrap-up included,
replayed from its decision log: the line's skill not the agent's, or not the call's), starved (a
caller served after a priority caller who arrived more than the head start later), unserved (a
joined call not served by the end: these callers never hang up, so each must be) and lost (a
joined call neither served nor still in line at the end). The baseline is a bare ZRANGE + ZADD round
trip from the same number of threads on the same Redis, in the same run. Exit status 1 on any
misroute or misrouted offer, starved, unserved or lost call.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime

sys.path.insert(0, os.getcwd())

from bench.figures import method, percentile, print_figures  # noqa: E402
from bench.servers import scratch  # noqa: E402
from callqueue.acd import DECISIONS_KEPT, OFFER_TIMEOUT_S, PRIORITY_HEAD_START_S, AcdError, AgentState, skill  # noqa: E402
from tickets.categories import ComplaintCategory  # noqa: E402

LANGUAGES = ("zh-CN", "en-US")
CATEGORIES = [c.value for c in ComplaintCategory]
AGENT_POLL_S = 0.01
RONA_SHARE = 0.1
PRIORITY_SHARE = 0.1


class CompressedClock:
    """The app's CLOCK: UTC now, running `speed` times faster than real time from its start."""

    def __init__(self, speed: float):
        self.speed, self.real_start, self.start = speed, time.monotonic(), time.time()

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        return self.start + (time.monotonic() - self.real_start) * self.speed

    def real_at(self, timestamp: float) -> float:
        """The time.monotonic() moment at which this clock reads `timestamp`."""
        return self.real_start + (timestamp - self.start) / self.speed


class Record:
    """Thread-safe latencies per operation and what happened to each call."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = {op: [] for op in ("join", "offer", "accept", "finish", "rona")}
        self.calls: dict[str, dict] = {}
        self.misroutes = 0
        self.stale_accepts = 0

    def timed(self, operation: str | None, action, *arguments, **keywords):
        """Run an ACD operation, its wall time counted under `operation` (if any) and, when it
        routed (returned offers), under "offer"."""
        started = time.perf_counter()
        result = action(*arguments, **keywords)
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            if operation:
                self.ms[operation].append(elapsed)
            if result:
                self.ms["offer"].append(elapsed)
        return result


def join_calls(app, clock, record: Record, skills: list[str], rate: float, stop: threading.Event,
               rng: random.Random) -> None:
    """One web worker's share of arriving callers: each stored live and queued, as the webhooks do."""
    from calls import get_calls
    from calls.session import CallSession, Phase

    with app.app_context():
        calls = get_calls()
        due = time.monotonic()
        while not stop.wait(max(0.0, due - time.monotonic())):
            due += rng.expovariate(rate)
            sid = f"CA{rng.getrandbits(64):016x}"
            call_skill = rng.choice(skills)
            priority = ("escalated",) if rng.random() < PRIORITY_SHARE else ()
            now = clock.timestamp()
            calls.store.create(CallSession(
                sid=sid, caller="13900000000", called="+864008000000", direction="inbound", flow="hotline",
                language=call_skill.split(":")[0], started_at=clock().replace(tzinfo=None).isoformat(), vars={},
                phase=Phase.QUEUED, queue={"skill": call_skill, "priority": list(priority)}), now)
            with record.lock:
                record.calls[sid] = {"skill": call_skill, "arrived": now, "priority": bool(priority)}
            record.timed("join", calls.acd().enqueue, sid, call_skill, now, priority=priority)


def answer_calls(app, clock, record: Record, agent_id: str, agent_skills: set[str], talk_s: tuple[float, float],
                 stop: threading.Event, rng: random.Random) -> None:
    """One agent's console: goes available, takes its offers (lets some ring out), talks, finishes."""
    from calls import get_calls

    with app.app_context():
        acd = get_calls().acd()
        record.timed(None, acd.set_state, agent_id, AgentState.AVAILABLE, clock.timestamp())
        ignored: dict[str, float] = {}  # call sid -> real moment its offer's RONA was due
        while not stop.wait(AGENT_POLL_S):
            agent = acd.agent(agent_id)
            state, call_sid = agent["state"], agent.get("call", "")
            if state == AgentState.NOT_RESPONDING.value:
                noticed = time.monotonic()
                with record.lock:
                    record.ms["rona"].extend((noticed - due) * 1000 for due in ignored.values())
                ignored.clear()
                record.timed(None, acd.set_state, agent_id, AgentState.AVAILABLE, clock.timestamp())
            elif state == AgentState.OFFERED.value and call_sid and call_sid not in ignored:
                if rng.random() < RONA_SHARE:
                    ignored[call_sid] = clock.real_at(float(agent["offered_at"]) + OFFER_TIMEOUT_S)
                    continue
                answer(acd, clock, record, agent_id, agent_skills, call_sid, talk_s, stop, rng)


def answer(acd, clock, record: Record, agent_id: str, agent_skills: set[str], call_sid: str,
           talk_s: tuple[float, float], stop: threading.Event, rng: random.Random) -> None:
    try:
        record.timed("accept", acd.accept, agent_id, call_sid, clock.timestamp())
    except AcdError:  # the caller hung up or the offer moved on just before: not this agent's call
        with record.lock:
            record.stale_accepts += 1
        return
    with record.lock:
        call = record.calls.get(call_sid, {})
        call["served"] = clock.timestamp()
        record.misroutes += call.get("skill") not in agent_skills
    stop.wait(rng.uniform(*talk_s))
    record.timed("finish", acd.finish, agent_id, clock.timestamp())


def starved(calls: list[dict]) -> int:
    """Callers served after a priority caller of their line who arrived more than the head start later."""
    head_start = max(PRIORITY_HEAD_START_S.values())
    count, lines = 0, {}
    for call in sorted((c for c in calls if "served" in c), key=lambda c: c["served"]):
        lines.setdefault(call["skill"], []).append(call)
    for line in lines.values():
        latest_priority_arrival = -float("inf")
        for call in line:
            if call["priority"]:
                latest_priority_arrival = max(latest_priority_arrival, call["arrived"])
            elif latest_priority_arrival > call["arrived"] + head_start:
                count += 1
    return count


def baseline_round_trips(connection, threads: int, per_thread: int) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()

    def round_trips(n: int) -> None:
        mine = []
        for i in range(per_thread):
            started = time.perf_counter()
            connection.zrange("bench:baseline", 0, 0)
            connection.zadd("bench:baseline", {f"m{n}-{i}": i})
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            times.extend(mine)

    workers = [threading.Thread(target=round_trips, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    connection.delete("bench:baseline")
    return times


def summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    return {"count": len(values), "p50_ms": round(statistics.median(values), 2),
            "p99_ms": round(percentile(values, 0.99), 2)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--caller-threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=20.0, help="calls joining per real second, all threads")
    parser.add_argument("--seconds", type=float, default=30.0, help="real seconds calls keep joining")
    parser.add_argument("--speed", type=float, default=10.0, help="the shared clock's speed-up")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with scratch("bench-queue-") as place:
        from app import create_app

        clock = CompressedClock(args.speed)
        # Wrap-ups of 5 s; callers on hold fetch no hold music here, so the stale-caller sweep waits out the run.
        app = create_app(place.settings(CLOCK=clock, SEED_DEMO_ON_FIRST_RUN=False, WRAP_UP_SECONDS=5,
                                        QUEUE_STALE_SECONDS=10 ** 6))
        figures = run(app, clock, args, place.redis)
    print_figures(figures, args.json)
    return figures


def run(app, clock, args, connection) -> dict:
    from callqueue import ticker
    from calls import get_calls

    rng = random.Random(args.seed)
    record = Record()
    agents: dict[str, set[str]] = {}
    with app.app_context():
        acd = get_calls().acd()
        for n in range(args.agents):
            languages = ["zh-CN"] if n % 4 else ["zh-CN", "en-US"]
            categories = rng.sample(CATEGORIES, rng.randint(1, 3))
            acd.register_agent(f"agent-{n}", languages=languages, categories=categories)
            agents[f"agent-{n}"] = {skill(lang, cat) for lang in languages for cat in [*categories, "general"]}
    skills = sorted(set().union(*agents.values()))
    ticking, joining, answering = threading.Event(), threading.Event(), threading.Event()
    talk_s = (2 / args.speed, 5 / args.speed)  # 2-5 s calls on the shared clock
    threads = [threading.Thread(target=ticker.run, args=(app, ticking, 1 / args.speed))]
    threads += [threading.Thread(target=answer_calls, args=(app, clock, record, agent_id, agent_skills, talk_s,
                                                            answering, random.Random(rng.random())))
                for agent_id, agent_skills in agents.items()]
    callers = [threading.Thread(target=join_calls, args=(app, clock, record, skills, args.rate / args.caller_threads,
                                                         joining, random.Random(rng.random())))
               for _ in range(args.caller_threads)]
    for thread in threads + callers:
        thread.start()
    joining.wait(args.seconds)
    joining.set()
    for thread in callers:
        thread.join()
    # Let every caller be served (two RONAs and a wrap-up at most, on the shared clock; a loaded
    # machine may take longer) before counting.
    drain_until = time.monotonic() + 2 * (OFFER_TIMEOUT_S + 10) / args.speed + 60
    while time.monotonic() < drain_until:
        with record.lock:
            if all("served" in call for call in record.calls.values()):
                break
        time.sleep(0.1)
    answering.set()
    ticking.set()
    for thread in threads:
        thread.join()

    with app.app_context():
        acd = get_calls().acd()
        offers = [d for d in acd.decisions(DECISIONS_KEPT) if d["decision"] == "offered"]
        in_line = sum(acd.waiting_count(s) for s in skills)
        statuses = {}
        for sid in record.calls:
            try:
                statuses[sid] = acd.call(sid)["status"]
            except AcdError:
                statuses[sid] = "gone"
    served = sum(1 for call in record.calls.values() if "served" in call)
    lost = sum(1 for sid, call in record.calls.items()
               if "served" not in call and statuses[sid] not in ("waiting", "offered", "connected"))
    baseline = baseline_round_trips(connection, args.caller_threads + args.agents, 200)
    operations = {op: summary(values) for op, values in record.ms.items()}
    return {
        "method": method(__doc__),
        "agents": args.agents, "caller_threads": args.caller_threads, "clock_speed": args.speed,
        "calls_joined": len(record.calls), "served": served, "still_in_line": in_line,
        **{f"{op}_{key}": value for op, figures in operations.items() for key, value in figures.items()},
        "baseline_redis_p50_ms": round(statistics.median(baseline), 2),
        "baseline_redis_p99_ms": round(percentile(baseline, 0.99), 2),
        "misroutes": record.misroutes, "offers": len(offers), "misrouted_offers": misrouted(offers, agents, record.calls),
        "starved": starved(list(record.calls.values())), "unserved": len(record.calls) - served, "lost_calls": lost,
        "stale_accepts": record.stale_accepts,
    }


def misrouted(offers: list[dict], agents: dict[str, set[str]], calls: dict[str, dict]) -> int:
    """Offers (from the ACD's decision log) of a line the agent does not serve, or not the call's."""
    return sum(offer["skill"] not in agents.get(offer["agent"], set())
               or offer["skill"] != calls.get(offer["call"], {}).get("skill") for offer in offers)


def failed(figures: dict) -> bool:
    return bool(figures["misroutes"] or figures["misrouted_offers"] or figures["starved"] or figures["unserved"]
                or figures["lost_calls"])


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
