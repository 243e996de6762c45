"""The wallboard's live figures: now (Redis) and today so far (SQL and the ACD's decisions)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from calls.records import CallRecord, ivr_containment
from calls.session import Phase
from clock import from_naive_utc, to_naive_utc
from tickets.models import Ticket
from tickets.sla import breached_count

SERVICE_LEVEL_THRESHOLD_S = 20  # the 80/20 convention: answered within 20 seconds


def _midnight(now: datetime, zone) -> datetime:
    """The start of the hotline's local day, as the naive UTC the database keeps."""
    return to_naive_utc(datetime.combine(now.astimezone(zone).date(), time(0), zone))


def agent_today(session, acd, agent_id: str, now: datetime, zone) -> dict:
    """An agent's own day so far: calls answered, their average handling (answer to the end of
    the call, from the ACD's decisions; None before the first) and the tickets they opened."""
    midnight = _midnight(now, zone)
    since = from_naive_utc(midnight).timestamp()
    mine = [d for d in acd.decisions(5000) if d["at"] >= since and d.get("agent") == agent_id]
    answered = {d["call"]: d["at"] for d in mine if d["decision"] == "accepted"}
    handled = [d["at"] - answered[d["call"]] for d in mine if d["decision"] == "finished" and d.get("call") in answered]
    return {"calls": len(answered),
            "average_handling_s": round(sum(handled) / len(handled)) if handled else None,
            "tickets": session.scalar(select(func.count()).select_from(Ticket).where(
                Ticket.owner == agent_id, Ticket.created_at >= midnight))}


def wallboard(session, acd, calls, now: datetime, zone, threshold_s: int = SERVICE_LEVEL_THRESHOLD_S,
              counted: set[str] | None = None) -> dict:
    """`counted`: the agents the figures count (all the ACD's, when None); a supervisor who can
    take calls is not one of the floor's agents."""
    midnight = _midnight(now, zone)
    today = (CallRecord.started_at >= midnight, CallRecord.started_at < midnight + timedelta(days=1))
    stamp = now.timestamp()
    accepted_today = [d for d in acd.decisions(5000)
                      if d["at"] >= from_naive_utc(midnight).timestamp() and d["decision"] == "accepted"]
    lines, states, rows = {}, {}, []
    for agent_id in acd.agent_ids():
        agent = acd.agent(agent_id)
        for line in agent["skills"]:
            lines.setdefault(line, None)
        if counted is not None and agent_id not in counted:
            continue
        states[agent["state"]] = states.get(agent["state"], 0) + 1
        # since: when they entered the state (the hotline's epoch seconds), which the page counts up from.
        rows.append({"id": agent_id, "state": agent["state"],
                     "reason": agent.get("reason", "") if agent["state"] == "break" else "",
                     "since": float(agent["state_since"]) if agent.get("state_since") else None,
                     "call": agent.get("call", "") if agent["state"] == "on_call" else "",
                     "answered_today": sum(d.get("agent") == agent_id for d in accepted_today)})
    for line in list(lines):
        oldest = acd.oldest_waiting(line)
        lines[line] = {"waiting": acd.waiting_count(line),
                       "longest_wait_s": round(stamp - oldest) if oldest is not None else 0}
    waiting = sum(line["waiting"] for line in lines.values())
    answered_waits = [d.get("waited", 0) for d in accepted_today]
    records = session.scalars(select(CallRecord).where(*today)).all()
    durations = [(r.ended_at - r.started_at).total_seconds() for r in records if r.ended_at]
    spoken = [e for r in records for e in r.events if e.get("event") == "speech"]
    keyed_after_speech = sum(1 for r in records if r.last_step == "key_waybill" or any(
        e.get("step") == "key_waybill" for e in r.events))
    return {
        "in_ivr": calls.count(Phase.IVR, stamp),
        "waiting": waiting,
        "lines": dict(sorted(lines.items())),
        "agents": dict(sorted(states.items())),
        "agent_rows": rows,
        "answered_today": len(answered_waits),
        "service_level": round(sum(w <= threshold_s for w in answered_waits) / len(answered_waits), 3)
        if answered_waits else None,
        "average_speed_of_answer_s": round(sum(answered_waits) / len(answered_waits), 1) if answered_waits else None,
        "abandoned_today": sum(r.outcome == "abandoned" for r in records),
        "average_handling_s": round(sum(durations) / len(durations), 1) if durations else None,
        "ivr_containment": ivr_containment(records),
        "after_hours_today": sum(r.outcome == "after_hours" for r in records),
        "speech_recognised": sum(1 for e in spoken if e.get("value")),
        "speech_attempts": len(spoken),
        "keypad_fallbacks": keyed_after_speech,
        "sla_breaches": breached_count(session, to_naive_utc(now)),
        "calls_today": len(records),
    }
