"""Console login: session cookies for people, roles checked by decorators."""
from __future__ import annotations

import functools

from flask import abort, g, session
from sqlalchemy import select

from console.models import User
from database import get_session


def current_user() -> User | None:
    if "user" not in g:
        user_id = session.get("user_id")
        g.user = get_session().get(User, user_id) if user_id else None
    return g.user


def find_user(username: str) -> User | None:
    return get_session().scalar(select(User).where(User.username == username))


def login_required(role: str | None = None):
    """401 without a session; 403 for the wrong role (supervisors may do what agents do)."""
    def decorator(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            user = current_user()
            if user is None:
                abort(401)
            if role == "supervisor" and user.role != "supervisor":
                abort(403)
            return view(*args, **kwargs)

        return checked

    return decorator
