"""Failures counted in Redis per subject over a window that starts with the first failure; at a
subject's limit every try waits out the rest of the window. Used by console logins (per username
and per address) and the hotline's identity check (per waybill and per caller)."""
from __future__ import annotations

from dataclasses import dataclass

import redis

from keys import key_for


@dataclass(frozen=True)
class FailureLimits:
    redis: redis.Redis
    kind: str                 # the Redis key's namespace, e.g. "login-failures"
    window_s: int
    limits: dict[str, int]    # failures allowed per kind of subject, e.g. {"username": 5, "address": 30}

    def locked_for(self, **subjects: str) -> int:
        """Seconds until these subjects may try again (0: now). An empty subject is not counted."""
        keys = self._keys(subjects)
        pipe = self.redis.pipeline(transaction=False)
        for key, _ in keys:
            pipe.get(key)
            pipe.ttl(key)
        return self._wait(keys, pipe.execute())

    def failed(self, **subjects: str) -> int:
        """Count a failure for each subject; seconds locked from now (0: not locked)."""
        keys = self._keys(subjects)
        pipe = self.redis.pipeline()  # one transaction: the window starts with the first failure
        for key, _ in keys:
            pipe.set(key, 0, ex=self.window_s, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
        replies = pipe.execute()
        return self._wait(keys, [reply for i, reply in enumerate(replies) if i % 3])

    def forget(self, **subjects: str) -> None:
        """These subjects' failures are forgotten (e.g. a username after its right password)."""
        if keys := self._keys(subjects):
            self.redis.delete(*(key for key, _ in keys))

    def _keys(self, subjects: dict[str, str]) -> list[tuple[str, int]]:
        return [(key_for(self.kind, f"{name}:{value}"), self.limits[name]) for name, value in subjects.items() if value]

    @staticmethod
    def _wait(keys: list[tuple[str, int]], counts_and_ttls: list) -> int:
        counts, ttls = counts_and_ttls[::2], counts_and_ttls[1::2]
        return max((max(ttl, 1) for (_, limit), count, ttl in zip(keys, counts, ttls, strict=True)
                    if count is not None and int(count) >= limit), default=0)
