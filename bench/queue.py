"""ACD benchmark: routing decisions on a real (embedded) Redis.

    python -m bench.queue --json

1,000 callers wait, 200 agents with mixed skills answer, talk and wrap up until 10,000
routing decisions (offers) have been made. Each decision's latency is compared, in the same
run, with the bare Redis round trips a decision cannot avoid (a ZRANGE and a ZADD).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())

import redis_conn  # noqa: E402
from bench.figures import percentile, print_figures  # noqa: E402
from callqueue.acd import PRIORITY_HEAD_START_S, AgentState, Distributor, skill  # noqa: E402
from tickets.categories import ComplaintCategory  # noqa: E402

LANGUAGES = ("zh-CN", "en-US")
CATEGORIES = [c.value for c in ComplaintCategory]



def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    embedded = redis_conn.start_embedded(tempfile.mkdtemp(prefix="bench-queue-"))
    try:
        return run(args, rng, embedded)
    finally:
        redis_conn.stop_embedded(embedded)


def run(args, rng, connection) -> dict:
    connection.flushdb()
    acd = Distributor(connection, wrap_up_s=0)
    agents = {}
    for n in range(args.agents):
        languages = ["zh-CN"] if n % 4 else ["zh-CN", "en-US"]
        categories = rng.sample(CATEGORIES, rng.randint(1, 3))
        acd.register_agent(f"agent-{n}", languages=languages, categories=categories)
        agents[f"agent-{n}"] = {skill(lang, cat) for lang in languages for cat in [*categories, "general"]}
    offered_skills = sorted(set().union(*agents.values()))
    now, latencies, offers, calls = 0.0, [], [], {}

    def timed(operation, *arguments, **keywords):
        started = time.perf_counter()
        made = operation(*arguments, **keywords)
        latencies.append((time.perf_counter() - started) * 1000)
        offers.extend(made)
        return made

    def new_call():
        sid = f"CA{len(calls)}"
        priority = ("escalated",) if rng.random() < 0.1 else ()
        call_skill = rng.choice(offered_skills)
        calls[sid] = {"skill": call_skill, "arrived": now, "priority": bool(priority)}
        timed(acd.enqueue, sid, call_skill, now, priority=priority)

    for _ in range(args.waiting):
        now += 0.01
        new_call()
    for agent_id in agents:
        timed(acd.set_state, agent_id, AgentState.AVAILABLE, now)
    served = 0
    while len(offers) < args.decisions:
        offer = offers[served]
        served += 1
        now += 0.05
        acd.accept(offer.agent_id, offer.call_sid, now)
        calls[offer.call_sid]["served"] = now
        acd.finish(offer.agent_id, now)
        new_call()
        timed(acd.tick, now)

    misroutes = sum(1 for o in offers if calls[o.call_sid]["skill"] not in agents[o.agent_id])
    waiting = sum(acd.waiting_count(s) for s in offered_skills)
    accounted = waiting + len({o.call_sid for o in offers})
    # Starvation: a caller served after a priority caller who arrived more than the head start later.
    starved, by_skill = 0, {}
    for call in sorted(calls.values(), key=lambda c: c.get("served", float("inf"))):
        if "served" in call:
            by_skill.setdefault(call["skill"], []).append(call)
    head_start = max(PRIORITY_HEAD_START_S.values())
    for line in by_skill.values():
        latest_priority_arrival = -float("inf")
        for call in line:
            if call["priority"]:
                latest_priority_arrival = max(latest_priority_arrival, call["arrived"])
            elif latest_priority_arrival > call["arrived"] + head_start:
                starved += 1
    baseline = []
    for n in range(2000):
        started = time.perf_counter()
        connection.zrange("bench:baseline", 0, 0)
        connection.zadd("bench:baseline", {f"m{n}": n})
        baseline.append((time.perf_counter() - started) * 1000)
    figures = {
        "waiting": args.waiting, "agents": args.agents, "decisions": len(offers),
        "decision_p50_ms": round(statistics.median(latencies), 3),
        "decision_p99_ms": round(percentile(latencies, 0.99), 3),
        "baseline_redis_p99_ms": round(percentile(baseline, 0.99), 3),
        "ratio_p99": round(percentile(latencies, 0.99) / percentile(baseline, 0.99), 1),
        "misroutes": misroutes, "starved": starved, "lost_calls": len(calls) - accounted,
    }
    print_figures(figures, args.json)
    return figures


if __name__ == "__main__":
    main()
