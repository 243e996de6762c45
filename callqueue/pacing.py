"""Outbound pacing shared by every worker: at most N calls placed in any one-second window.

Each placed call takes a slot in a Redis sorted set scored by its time; taking a slot is one
Lua script, so two workers can never both take the last one. The window is a little longer
than a second because a call reaches the carrier a moment after its slot is taken: counted
in whole seconds at the carrier, the limit still holds.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime

from clock import utcnow
from keys import key_for

WINDOW_S = 1.05
SLOTS_KEY = key_for("pacing", "placed")

# Returns 0 when a slot was taken, else how many seconds until the oldest slot frees.
_TAKE_SLOT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[4])
    redis.call('EXPIRE', KEYS[1], 60)
    return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class Pacer:
    """Slots are stamped by `clock` (the app's CLOCK, which tests move); a wait for a slot is
    real time, bounded by time.monotonic."""

    def __init__(self, connection, per_second: int, clock: Callable[[], datetime] = utcnow):
        self.redis = connection
        self.per_second = per_second
        self.clock = clock
        self._take = connection.register_script(_TAKE_SLOT)

    def full(self) -> bool:
        """Is every slot of the current window taken? (Takes none.)"""
        now = self.clock().timestamp()
        return self.redis.zcount(SLOTS_KEY, now - WINDOW_S, "+inf") >= self.per_second

    def take(self, max_wait_s: float) -> float | None:
        """Take a slot, waiting for one up to max_wait_s: the slot's time, or None if none came."""
        deadline = time.monotonic() + max_wait_s
        while True:
            now = self.clock().timestamp()
            wait = float(self._take(keys=[SLOTS_KEY], args=[now, WINDOW_S, self.per_second, uuid.uuid4().hex]))
            if wait <= 0:
                return now
            if time.monotonic() + wait > deadline:
                return None
            time.sleep(wait)
