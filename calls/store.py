"""Call sessions in Redis, keyed by CallSid, each with a TTL.

  call:{sid}        the session (JSON), refreshed on every write
  call_ended:{sid}  a marker left by `end`: an ended call is never created or written again
  calls:{phase}     sorted set of live calls in that phase by when they were last touched
                    (the wallboard's counts; the ticker's sweep of calls that went silent)

Every write is one atomic operation: `change` reads, mutates and writes under WATCH (a
concurrent writer makes it start over with the newer session, never overwrite it), and only
while the call is live; `end` takes the session and leaves the marker in one script.
"""
from __future__ import annotations

from collections.abc import Callable

import redis

from calls.session import CallSession, Phase
from keys import key_for

ENDED_MARKER_TTL_S = 24 * 3600

_CREATE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""

_END = """
local session = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
return session
"""


def session_key(sid: str) -> str:
    return key_for("call", sid)


def ended_key(sid: str) -> str:
    return key_for("call_ended", sid)


def phase_key(phase: Phase) -> str:
    return key_for("calls", phase.value)


class CallStore:
    def __init__(self, connection: redis.Redis, ttl_seconds: int):
        self.redis, self.ttl = connection, ttl_seconds
        self._create = connection.register_script(_CREATE)
        self._end = connection.register_script(_END)

    def create(self, call: CallSession, now: float) -> bool:
        """Store a new call; False if it exists already (a retried webhook) or has ended."""
        return bool(self._create(keys=[session_key(call.sid), ended_key(call.sid), phase_key(call.phase)],
                                 args=[call.to_json(), self.ttl, now, call.sid]))

    def load(self, sid: str) -> CallSession | None:
        raw = self.redis.get(session_key(sid))
        return CallSession.from_json(raw) if raw else None

    def change(self, sid: str, mutate: Callable[[CallSession], None], now: float) -> CallSession | None:
        """Apply `mutate` to the live call's newest session and save it; None if the call has
        ended. `mutate` may run more than once (when another writer got in first): keep it pure."""
        key = session_key(sid)

        def attempt(pipe) -> CallSession | None:
            raw = pipe.get(key)
            if raw is None:
                return None
            call = CallSession.from_json(raw)
            mutate(call)
            pipe.multi()
            pipe.set(key, call.to_json(), ex=self.ttl, xx=True)
            for phase in Phase:
                if phase is not call.phase:
                    pipe.zrem(phase_key(phase), sid)
            pipe.zadd(phase_key(call.phase), {sid: now})
            return call

        return self.redis.transaction(attempt, key, value_from_callable=True)

    def end(self, sid: str) -> CallSession | None:
        """Take the call's session and mark the call ended, in one step: no late writer brings
        it back. None if it had already ended (or expired)."""
        raw = self._end(keys=[session_key(sid), ended_key(sid), *(phase_key(p) for p in Phase)],
                        args=[ENDED_MARKER_TTL_S, sid])
        return CallSession.from_json(raw) if raw else None

    def has_ended(self, sid: str) -> bool:
        return bool(self.redis.exists(ended_key(sid)))

    def is_live(self, sid: str) -> bool:
        return bool(self.redis.exists(session_key(sid)))

    def count(self, phase: Phase, now: float) -> int:
        """Live calls in a phase (entries older than the TTL belong to expired sessions)."""
        return self.redis.zcount(phase_key(phase), now - self.ttl, "+inf")

    def idle(self, phase: Phase, since: float) -> list[str]:
        """Calls in a phase not touched since `since` (epoch seconds)."""
        return [sid.decode() for sid in self.redis.zrangebyscore(phase_key(phase), "-inf", since)]

    def forget(self, sid: str) -> None:
        """Drop a call whose session expired from the phase sets."""
        pipe = self.redis.pipeline()
        for phase in Phase:
            pipe.zrem(phase_key(phase), sid)
        pipe.execute()
