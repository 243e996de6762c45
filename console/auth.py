"""Console login: passwords checked in the same time whether or not the username exists,
throttled (console.throttle), audited in the log; sessions (console.sessions) checked by a
decorator that also asks the access policy (console.policy)."""
from __future__ import annotations

import functools
import ipaddress
import logging
import secrets
from collections.abc import Callable

from flask import abort, g, request, session
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from console.models import User
from console.throttle import login_throttle
from database import get_session

# The audit trail of logins and logouts; addresses shortened to their network.
audit = logging.getLogger("console.audit")


class WrongLogin(Exception):
    pass


class LoginLocked(Exception):
    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed logins: try again in {-(-retry_after_s // 60)} minutes")
        self.retry_after_s = retry_after_s


def current_user() -> User | None:
    if "user" not in g:
        user_id = session.get("user_id")
        g.user = get_session().get(User, user_id) if user_id else None
    return g.user


def find_user(username: str) -> User | None:
    return get_session().scalar(select(User).where(User.username == username))


def log_in(username: str, password: str) -> User:
    """The user, signed in on a new session id; WrongLogin, or LoginLocked while the username or
    this address has failed too often."""
    throttle, address = login_throttle(), request.remote_addr or "unknown"
    user = find_user(username)
    # The read ends here: the password check below is slow on purpose, and many logins at once
    # must not each hold a pooled connection through it.
    get_session().commit()
    # Unknown usernames are masked in the log: often a password typed into the wrong field.
    shown, where = username if user else f"{username[:2]}*** (unknown)", _network(address)
    locked_for = throttle.locked_for(username=username, address=address)
    if locked_for:
        audit.warning("login refused while locked: %s from %s", shown, where)
        raise LoginLocked(locked_for)
    # An unknown username costs a password check too: the refusal takes as long as a wrong password.
    if not check_password_hash(user.password_hash if user else _dummy_hash(), password) or user is None:
        locked_for = throttle.failed(username=username, address=address)
        audit.warning("login failed: %s from %s%s", shown, where, f" (locked for {locked_for} s)" if locked_for else "")
        if locked_for:
            raise LoginLocked(locked_for)
        raise WrongLogin()
    throttle.forget(username=username)
    session.clear()
    session["user_id"] = user.id
    session.regenerate()
    g.user = user
    audit.info("login: %s (%s) from %s", user.username, user.role, where)
    return user


def log_out() -> None:
    user = current_user()
    if user is not None:
        audit.info("logout: %s from %s", user.username, _network(request.remote_addr or "unknown"))
    session.clear()


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def _network(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


def login_required(allowed: Callable[[User], bool] | None = None):
    """401 without a session; 403 when `allowed` (a console.policy rule) refuses the user."""
    def decorator(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            user = current_user()
            if user is None:
                abort(401)
            if allowed is not None and not allowed(user):
                abort(403)
            return view(*args, **kwargs)

        return checked

    return decorator
