"""Login throttling: failed console logins counted per username and per address over a window
(LOGIN_LOCKOUT_MINUTES, from the first failure). At LOGIN_MAX_FAILURES for a username, or
LOGIN_MAX_FAILURES_PER_ADDRESS from one address (password spraying across usernames), every try
waits out the rest of the window, the right password included. Unknown usernames are counted
like known ones, so a lockout tells nothing about which usernames exist. A right password
forgets the username's failures, not the address's (one account of one's own must not reset a
spraying address's count)."""
from __future__ import annotations

from flask import current_app

from redis_conn import get_redis
from throttling import FailureLimits


def login_throttle() -> FailureLimits:
    config = current_app.config
    return FailureLimits(get_redis(), "login-failures", config["LOGIN_LOCKOUT_MINUTES"] * 60,
                         {"username": config["LOGIN_MAX_FAILURES"], "address": config["LOGIN_MAX_FAILURES_PER_ADDRESS"]})
