"""Outbound pacing shared by every worker: at most N calls placed in any one-second window.

Each placed call takes a slot in a Redis sorted set scored by its time; taking a slot is one
Lua script, so two workers can never both take the last one. The window is a little longer
than a second because a call reaches the carrier a moment after its slot is taken: counted
in whole seconds at the carrier, the limit still holds.

A worker reads the time before its script runs. Two rules keep a worker that stalls in
between (descheduled, waiting for the GIL, a slow round trip) from stamping a slot in the
past, where the next worker's script would drop it while its call is still on its way:
- stamps never go backwards: the script stamps max(now, newest slot), so they follow the
  order in which the scripts ran and any window of stamps holds at most N;
- a worker that took longer than STAMP_TOLERANCE_S from reading the time to getting its slot
  gives the slot back and takes one stamped afresh, so no stamp is older than the moment its
  slot was taken by more than that. The window's extra length covers this tolerance and the
  moment the request takes to reach the carrier.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime

from clock import utcnow
from keys import key_for

STAMP_TOLERANCE_S = 0.05
WINDOW_S = 1.0 + STAMP_TOLERANCE_S + 0.05
SLOTS_KEY = key_for("pacing", "placed")

# {1, stamp} when a slot was taken (stamped max(now, newest slot)), else {0, seconds until
# the oldest slot frees}.
_TAKE_SLOT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    local stamp = now
    local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
    if newest[2] and tonumber(newest[2]) > stamp then stamp = tonumber(newest[2]) end
    redis.call('ZADD', KEYS[1], stamp, ARGV[4])
    redis.call('EXPIRE', KEYS[1], 60)
    return {1, tostring(stamp)}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""


class Pacer:
    """Slots are stamped by `clock` (the app's CLOCK, which tests move). A wait for a slot is
    real time: `sleep` and `monotonic` (time's, by default; a test passes its own clock's)."""

    def __init__(self, connection, per_second: int, clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic):
        self.redis = connection
        self.per_second = per_second
        self.clock, self.sleep, self.monotonic = clock, sleep, monotonic
        self._take = connection.register_script(_TAKE_SLOT)

    def full(self) -> bool:
        """Is every slot of the current window taken? (Takes none.)"""
        now = self.clock().timestamp()
        return self.redis.zcount(SLOTS_KEY, now - WINDOW_S, "+inf") >= self.per_second

    def take(self, max_wait_s: float) -> float | None:
        """Take a slot, waiting for one up to max_wait_s: the slot's time, or None if none came."""
        deadline = self.monotonic() + max_wait_s
        while True:
            asked = self.monotonic()
            now, member = self.clock().timestamp(), uuid.uuid4().hex
            taken, value = self._take(keys=[SLOTS_KEY], args=[now, WINDOW_S, self.per_second, member])
            if int(taken):
                if self.monotonic() - asked <= STAMP_TOLERANCE_S:
                    return float(value)
                self.redis.zrem(SLOTS_KEY, member)  # stamped too long ago: give it back, take a fresh one
                if self.monotonic() > deadline:
                    return None
                continue
            wait = float(value)
            if self.monotonic() + wait > deadline:
                return None
            self.sleep(wait)
