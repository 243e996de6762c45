"""The automatic call distributor (ACD): waiting callers meet qualified agents.

State lives in Redis, so any web or worker process can route and a restart loses nothing:
  agent:{id}         hash: state, skills, idle_since, call, offered_at, wrap_until
  available:{skill}  sorted set of available agents by idle_since (longest idle first)
  waiting:{skill}    sorted set of waiting calls by score (their place in line)
  deferred           sorted set of kept places whose callback was missed, by when to try again
  call:{sid}         hash: skill, score, status, agent, phone, priority
  decisions          capped list of every routing decision, for reports
A skill is "<language>:<category>" (category "general" for plain requests). A call's score
is its arrival time minus a bounded priority head start, so priority callers go ahead by
at most that much and nobody starves. Mutations take one short Redis lock.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

from ivr.keys import key_for

OFFER_TIMEOUT_S = 15          # about three rings: then the offer goes to the next agent (RONA)
KEPT_PLACE_TRIES = 3          # callbacks to a caller who kept their place, before the place is given up
KEPT_PLACE_RETRY_S = 120      # a caller who kept their place and missed the call is tried again this much later
PRIORITY_HEAD_START_S = {"escalated": 120, "promised_callback": 120, "vip": 90, "repeat_caller": 60}
DECISIONS_KEPT = 100_000
GENERAL = "general"


class AgentState(str, Enum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    OFFERED = "offered"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    BREAK = "break"
    NOT_RESPONDING = "not_responding"


class CallStatus(str, Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    ABANDONED = "abandoned"
    CALLBACK_WAITING = "callback_waiting"  # hung up but kept their place
    CALLBACK_DUE = "callback_due"          # their turn came: an agent is reserved, dial them


class AcdError(ValueError):
    """A request the ACD refuses (unknown agent, stale offer, ...): nothing was changed."""


def skill(language: str, category: str = GENERAL) -> str:
    return f"{language}:{category or GENERAL}"


@dataclass(frozen=True)
class Offer:
    call_sid: str
    agent_id: str
    skill: str
    callback: bool  # the caller kept their place by callback: dial them, the agent waits


def _k(kind: str, ident: str = "") -> str:
    return key_for("acd:" + kind, ident)


class Distributor:
    def __init__(self, connection, wrap_up_s: int = 30):
        self.redis, self.wrap_up_s = connection, wrap_up_s

    # --- agents ---

    def register_agent(self, agent_id: str, *, languages, categories) -> None:
        """Add an agent, or update their skills (a known agent keeps their state)."""
        skills = sorted({skill(lang, cat) for lang in languages for cat in [*categories, GENERAL]})
        with self._lock():
            key = _k("agent", agent_id)
            self.redis.hsetnx(key, "state", AgentState.OFFLINE.value)
            self.redis.hsetnx(key, "idle_since", 0)
            self.redis.hset(key, "skills", json.dumps(skills))

    def agent_ids(self) -> list[str]:
        pattern = _k("agent", "*")
        return sorted(key.decode().removeprefix(pattern[:-1]) for key in self.redis.scan_iter(pattern))

    def waiting_count(self, call_skill: str) -> int:
        return self.redis.zcard(_k("waiting", call_skill))

    def oldest_waiting(self, call_skill: str) -> float | None:
        """When the longest-waiting caller of a line arrived (its score, without priority head start)."""
        head = self.redis.zrange(_k("waiting", call_skill), 0, 0)
        if not head:
            return None
        enqueued = self.redis.hget(_k("call", head[0].decode()), "enqueued_at")
        return float(enqueued) if enqueued else None

    def agents_with(self, call_skill: str) -> int:
        return sum(1 for agent_id in self.agent_ids() if call_skill in self.agent(agent_id)["skills"])

    def agent(self, agent_id: str) -> dict:
        data = self.redis.hgetall(_k("agent", agent_id))
        if not data:
            raise AcdError(f"unknown agent {agent_id!r}")
        agent = {k.decode(): v.decode() for k, v in data.items()}
        agent["skills"] = json.loads(agent["skills"])
        return agent

    def set_state(self, agent_id: str, state: AgentState, now: float) -> list[Offer]:
        """An agent's own change (available, break, offline). Going available may bring an offer."""
        if state not in (AgentState.AVAILABLE, AgentState.BREAK, AgentState.OFFLINE):
            raise AcdError(f"agents cannot set themselves {state.value}")
        with self._lock():
            agent = self.agent(agent_id)
            if agent["state"] in (AgentState.OFFERED.value, AgentState.ON_CALL.value):
                raise AcdError(f"agent {agent_id} is {agent['state']}: finish that first")
            self._set_agent(agent_id, agent, state, now)
            self.record("agent_state", now, agent=agent_id, state=state.value)
            return self._route_agent(agent_id, now) if state is AgentState.AVAILABLE else []

    def _set_agent(self, agent_id: str, agent: dict, state: AgentState, now: float, **fields) -> None:
        pipe = self.redis.pipeline()
        pipe.hset(_k("agent", agent_id), mapping={"state": state.value, **fields})
        for name in agent["skills"]:
            if state is AgentState.AVAILABLE:
                pipe.zadd(_k("available", name), {agent_id: now})
            else:
                pipe.zrem(_k("available", name), agent_id)
        if state is AgentState.AVAILABLE:
            pipe.hset(_k("agent", agent_id), "idle_since", now)
        pipe.execute()

    # --- calls ---

    def enqueue(self, call_sid: str, call_skill: str, now: float, *, phone: str = "",
                priority: tuple[str, ...] = (), by_callback: bool = False) -> list[Offer]:
        """A call joins its line; by_callback: nobody is on the line yet (a scheduled callback that
        reserves an agent first), so its offer dials the customer once the agent accepts."""
        head_start = max((PRIORITY_HEAD_START_S.get(p, 0) for p in priority), default=0)
        score = now - head_start
        with self._lock():
            if self.redis.exists(_k("call", call_sid)):
                raise AcdError(f"call {call_sid} is already queued")
            pipe = self.redis.pipeline()
            pipe.hset(_k("call", call_sid), mapping={
                "skill": call_skill, "score": score, "phone": phone,
                "status": (CallStatus.CALLBACK_WAITING if by_callback else CallStatus.WAITING).value,
                "priority": ",".join(priority), "enqueued_at": now,
            })
            pipe.zadd(_k("waiting", call_skill), {call_sid: score})
            pipe.execute()
            self.record("enqueued", now, call=call_sid, skill=call_skill, priority=list(priority))
            return self._route_call(call_sid, call_skill, now)

    def call(self, call_sid: str) -> dict:
        data = self.redis.hgetall(_k("call", call_sid))
        if not data:
            raise AcdError(f"unknown call {call_sid!r}")
        return {k.decode(): v.decode() for k, v in data.items()}

    def position(self, call_sid: str) -> int:
        """1 for the next caller to be served in this call's skill."""
        call = self.call(call_sid)
        rank = self.redis.zrank(_k("waiting", call["skill"]), call_sid)
        if rank is None:
            raise AcdError(f"call {call_sid} is not waiting")
        return rank + 1

    def keep_place(self, call_sid: str, now: float) -> None:
        """The caller hangs up but keeps their place: called back when their turn comes."""
        with self._lock():
            call = self.call(call_sid)
            if call["status"] != CallStatus.WAITING.value:
                raise AcdError(f"call {call_sid} is {call['status']}, not waiting")
            self.redis.hset(_k("call", call_sid), "status", CallStatus.CALLBACK_WAITING.value)
            self.record("kept_place", now, call=call_sid)

    def keep_waiting(self, call_sid: str, now: float) -> None:
        """Offered a callback after a long wait, the caller chose to stay on the line."""
        self.redis.hset(_k("call", call_sid), "keep_waiting", "1")
        self.record("kept_waiting", now, call=call_sid)

    def abandon(self, call_sid: str, now: float) -> None:
        """The caller hung up while waiting (without keeping their place)."""
        with self._lock():
            call = self.call(call_sid)
            if call["status"] != CallStatus.WAITING.value:
                return
            self.redis.zrem(_k("waiting", call["skill"]), call_sid)
            self.redis.hset(_k("call", call_sid), "status", CallStatus.ABANDONED.value)
            self.record("abandoned", now, call=call_sid)

    def withdraw(self, call_sid: str, now: float) -> bool:
        """Take a callback out of line while it still waits (not offered); True if it was."""
        with self._lock():
            call = self.call(call_sid)
            if call["status"] != CallStatus.CALLBACK_WAITING.value:
                return False
            self.redis.zrem(_k("waiting", call["skill"]), call_sid)
            self.redis.hset(_k("call", call_sid), "status", CallStatus.ABANDONED.value)
            self.record("withdrawn", now, call=call_sid)
            return True

    # --- offers ---

    def accept(self, agent_id: str, call_sid: str, now: float) -> None:
        with self._lock():
            agent, call = self.agent(agent_id), self.call(call_sid)
            if agent["state"] != AgentState.OFFERED.value or agent.get("call") != call_sid:
                raise AcdError(f"call {call_sid} is not on offer to agent {agent_id}")
            self.redis.hset(_k("agent", agent_id), "state", AgentState.ON_CALL.value)
            self.redis.hset(_k("call", call_sid), "status", CallStatus.CONNECTED.value)
            self.record("accepted", now, call=call_sid, agent=agent_id, waited=now - float(call["enqueued_at"]))

    def finish(self, agent_id: str, now: float) -> None:
        """The agent's call ended: wrap-up, then available again (see tick)."""
        with self._lock():
            agent = self.agent(agent_id)
            if agent["state"] != AgentState.ON_CALL.value:
                raise AcdError(f"agent {agent_id} is not on a call")
            self._set_agent(agent_id, agent, AgentState.WRAP_UP, now, call="", wrap_until=now + self.wrap_up_s)
            self.record("finished", now, agent=agent_id, call=agent.get("call", ""))

    def tick(self, now: float, agent_ids) -> list[Offer]:
        """Time passes: missed kept places come back in line, offers unanswered past
        OFFER_TIMEOUT_S go on (RONA), wrap-ups end."""
        offers = []
        with self._lock():
            for raw in self.redis.zrangebyscore(_k("deferred"), 0, now):
                call_sid = raw.decode()
                call = self.call(call_sid)
                self.redis.zrem(_k("deferred"), call_sid)
                self.redis.zadd(_k("waiting", call["skill"]), {call_sid: float(call["score"])})
                self.record("kept_place_retry", now, call=call_sid)
                offers += self._route_call(call_sid, call["skill"], now)
            for agent_id in agent_ids:
                agent = self.agent(agent_id)
                if agent["state"] == AgentState.OFFERED.value and now - float(agent["offered_at"]) >= OFFER_TIMEOUT_S:
                    offers += self._rona(agent_id, agent, now)
                elif agent["state"] == AgentState.WRAP_UP.value and now >= float(agent["wrap_until"]):
                    self._set_agent(agent_id, agent, AgentState.AVAILABLE, now)
                    offers += self._route_agent(agent_id, now)
        return offers

    def _rona(self, agent_id: str, agent: dict, now: float) -> list[Offer]:
        call_sid = agent["call"]
        call = self.call(call_sid)
        self._set_agent(agent_id, agent, AgentState.NOT_RESPONDING, now, call="")
        # Back in line with its original score: the caller loses nothing.
        status = CallStatus.CALLBACK_WAITING if call.get("callback") == "1" else CallStatus.WAITING
        self.redis.hset(_k("call", call_sid), mapping={"status": status.value, "agent": ""})
        self.redis.zadd(_k("waiting", call["skill"]), {call_sid: float(call["score"])})
        self.record("rona", now, call=call_sid, agent=agent_id)
        return self._route_call(call_sid, call["skill"], now)

    def callback_unanswered(self, call_sid: str, now: float, *, keep_place: bool = True) -> list[Offer]:
        """The customer called back did not answer: free the agent and offer them the next caller.
        A caller who kept their place keeps it (at most KEPT_PLACE_TRIES tries); a scheduled
        callback (keep_place False) leaves the line: its own retry rules call again later."""
        with self._lock():
            call = self.call(call_sid)
            agent_id = call.get("agent", "")
            tries = int(call.get("callback_tries", "0")) + 1
            if agent_id:
                agent = self.agent(agent_id)
                if agent.get("call") == call_sid:
                    self._set_agent(agent_id, agent, AgentState.AVAILABLE, now, call="")
            if tries >= KEPT_PLACE_TRIES or not keep_place:
                self.redis.hset(_k("call", call_sid), mapping={"status": CallStatus.ABANDONED.value, "agent": "",
                                                               "callback_tries": tries})
                self.record("kept_place_given_up" if keep_place else "callback_unanswered", now, call=call_sid,
                            tries=tries)
            else:
                # Out of line for a while (the customer may be busy); back with the same place later.
                self.redis.hset(_k("call", call_sid), mapping={"status": CallStatus.CALLBACK_WAITING.value,
                                                               "agent": "", "callback_tries": tries})
                self.redis.zadd(_k("deferred"), {call_sid: now + KEPT_PLACE_RETRY_S})
                self.record("kept_place_unanswered", now, call=call_sid, tries=tries)
            return self._route_agent(agent_id, now) if agent_id else []

    # --- routing ---

    def _route_call(self, call_sid: str, call_skill: str, now: float) -> list[Offer]:
        """A call arrived or came back: offer the head of its line to the longest-idle agent."""
        agents = self.redis.zrange(_k("available", call_skill), 0, 0)
        if not agents:
            return []
        head = self.redis.zrange(_k("waiting", call_skill), 0, 0)
        return [self._offer(head[0].decode(), agents[0].decode(), call_skill, now)] if head else []

    def _route_agent(self, agent_id: str, now: float) -> list[Offer]:
        """An agent is free: the longest-waiting call (by score) among the agent's skills."""
        best = None
        for name in self.agent(agent_id)["skills"]:
            head = self.redis.zrange(_k("waiting", name), 0, 0, withscores=True)
            if head and (best is None or head[0][1] < best[1]):
                best = (head[0][0].decode(), head[0][1], name)
        return [self._offer(best[0], agent_id, best[2], now)] if best else []

    def _offer(self, call_sid: str, agent_id: str, call_skill: str, now: float) -> Offer:
        call = self.call(call_sid)
        callback = call["status"] == CallStatus.CALLBACK_WAITING.value
        agent = self.agent(agent_id)
        self.redis.zrem(_k("waiting", call_skill), call_sid)
        self._set_agent(agent_id, agent, AgentState.OFFERED, now, call=call_sid, offered_at=now)
        status = CallStatus.CALLBACK_DUE if callback else CallStatus.OFFERED
        self.redis.hset(_k("call", call_sid), mapping={"status": status.value, "agent": agent_id,
                                                       "callback": "1" if callback else "0"})
        self.record("offered", now, call=call_sid, agent=agent_id, skill=call_skill, callback=callback)
        return Offer(call_sid, agent_id, call_skill, callback)

    # --- plumbing ---

    def _lock(self):
        return self.redis.lock(_k("lock"), timeout=5, blocking_timeout=5)

    def record(self, decision: str, now: float, **fields) -> None:
        pipe = self.redis.pipeline()
        pipe.lpush(_k("decisions"), json.dumps({"decision": decision, "at": now, **fields}))
        pipe.ltrim(_k("decisions"), 0, DECISIONS_KEPT - 1)
        pipe.execute()

    def decisions(self, count: int = 100) -> list[dict]:
        return [json.loads(d) for d in self.redis.lrange(_k("decisions"), 0, count - 1)]
