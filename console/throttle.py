"""Login throttling: failed console logins counted in Redis per username and per address over a
window (LOGIN_LOCKOUT_MINUTES, from the first failure). At LOGIN_MAX_FAILURES for a username, or
LOGIN_MAX_FAILURES_PER_ADDRESS from one address (password spraying across usernames), every try
waits out the rest of the window, the right password included. Unknown usernames are counted
like known ones, so a lockout tells nothing about which usernames exist."""
from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app

from keys import key_for
from redis_conn import get_redis


@dataclass(frozen=True)
class LoginThrottle:
    redis: redis.Redis
    window_s: int
    max_per_username: int
    max_per_address: int

    def locked_for(self, username: str, address: str) -> int:
        """Seconds until this username may try again from this address (0: now)."""
        pipe = self.redis.pipeline(transaction=False)
        for key, _ in self._limits(username, address):
            pipe.get(key)
            pipe.ttl(key)
        return self._wait(username, address, pipe.execute())

    def failed(self, username: str, address: str) -> int:
        """Count a failed login; seconds locked from now (0: not locked)."""
        pipe = self.redis.pipeline()  # one transaction: the window starts with the first failure
        for key, _ in self._limits(username, address):
            pipe.set(key, 0, ex=self.window_s, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
        replies = pipe.execute()
        return self._wait(username, address, [reply for i, reply in enumerate(replies) if i % 3])

    def succeeded(self, username: str) -> None:
        """The username's failures are forgotten; the address's are not (one account of one's own
        must not reset a spraying address's count)."""
        self.redis.delete(self._limits(username, "")[0][0])

    def _limits(self, username: str, address: str) -> list[tuple[str, int]]:
        return [(key_for("login-failures", f"username:{username}"), self.max_per_username),
                (key_for("login-failures", f"address:{address}"), self.max_per_address)]

    def _wait(self, username: str, address: str, counts_and_ttls: list) -> int:
        counts, ttls = counts_and_ttls[::2], counts_and_ttls[1::2]
        return max((max(ttl, 1) for (_, limit), count, ttl in zip(self._limits(username, address), counts, ttls, strict=True)
                    if count is not None and int(count) >= limit), default=0)


def login_throttle() -> LoginThrottle:
    config = current_app.config
    return LoginThrottle(get_redis(), config["LOGIN_LOCKOUT_MINUTES"] * 60, config["LOGIN_MAX_FAILURES"],
                         config["LOGIN_MAX_FAILURES_PER_ADDRESS"])
