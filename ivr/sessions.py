"""Call sessions: the state of each live call in Redis, keyed by CallSid, with a TTL.

Nothing about a call lives in process memory, so any web process can take its next webhook.
"""
from __future__ import annotations

import json

from ivr.keys import key_for


class CallSessions:
    def __init__(self, connection, ttl_seconds: int):
        self.redis, self.ttl = connection, ttl_seconds

    def load(self, call_sid: str) -> dict | None:
        raw = self.redis.get(key_for("call", call_sid))
        return json.loads(raw) if raw else None

    def save(self, call: dict) -> None:
        self.redis.set(key_for("call", call["sid"]), json.dumps(call, ensure_ascii=False), ex=self.ttl)

    def update(self, call: dict) -> bool:
        """Save a call that is still live; False (and nothing saved) once it has ended."""
        return bool(self.redis.set(key_for("call", call["sid"]), json.dumps(call, ensure_ascii=False),
                                   ex=self.ttl, xx=True))

    def take(self, call_sid: str) -> dict | None:
        """Load and end a call's session in one step, so no late writer brings it back."""
        raw = self.redis.getdel(key_for("call", call_sid))
        return json.loads(raw) if raw else None

    def live_count(self) -> int:
        return sum(1 for _ in self.redis.scan_iter(key_for("call", "*"), count=500))
