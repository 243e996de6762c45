"""Console sessions kept in Redis: the cookie holds only a random session id, so logging out
really ends a session (a copied cookie is worth nothing afterwards), and both the idle timeout
(SESSION_IDLE_MINUTES) and the absolute lifetime (SESSION_LIFETIME_HOURS) are enforced here,
whatever the browser keeps.

Requests without the cookie (every carrier webhook) never touch Redis; with Redis out of reach a
session reads as logged out rather than failing the request.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets

import redis
from flask import Flask, Request, Response, g
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from keys import key_for
from redis_conn import get_redis

log = logging.getLogger(__name__)


class ServerSession(CallbackDict, SessionMixin):
    """The session's data; `sid` is the id of its record in Redis, None until it is first saved."""

    def __init__(self, data: dict | None = None, sid: str | None = None, created: float | None = None):
        def changed(session: ServerSession) -> None:
            session.modified = True

        super().__init__(data, changed)
        self.sid, self.created = sid, created
        self.modified = self.rotate = False

    def regenerate(self) -> None:
        """A new id at the next save (at login: an id planted before it is never signed in)."""
        self.rotate = self.modified = True


class RedisSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> ServerSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid:
            return ServerSession()
        try:
            record = _record(app, sid)
        except redis.RedisError as error:
            log.warning("console sessions unreadable (%s): the request is treated as logged out", error)
            return ServerSession()
        if record is None:
            ended = ServerSession()  # its id is never used again, whatever is stored next
            ended.modified = True    # logged out, timed out or unknown: the cookie is removed
            return ended
        return ServerSession(record["data"], sid, record["created"])

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        if session.accessed:
            response.vary.add("Cookie")
        cookie = {"domain": self.get_cookie_domain(app), "path": self.get_cookie_path(app),
                  "secure": self.get_cookie_secure(app), "httponly": self.get_cookie_httponly(app),
                  "samesite": self.get_cookie_samesite(app)}
        if not session:
            if session.modified:  # logged out, or the cookie of an ended session: record and cookie go
                if session.sid is not None:
                    get_redis().delete(_key(app, session.sid))
                response.delete_cookie(self.get_cookie_name(app), **cookie)
            return
        new_cookie = session.sid is None or session.rotate
        if not new_cookie and not session.modified and g.get("passive_request"):
            return  # a page polling is not the agent at work: the idle timeout keeps counting
        if new_cookie:
            if session.sid is not None:
                get_redis().delete(_key(app, session.sid))
            session.sid, session.created = secrets.token_urlsafe(32), _now(app)
        # Written on every request: the idle timeout counts from the last one. A stored session is
        # only ever refreshed (XX), never brought back: a logout during this request wins.
        get_redis().set(_key(app, session.sid), json.dumps({"data": dict(session), "created": session.created,
                                                            "seen": _now(app)}),
                        ex=app.config["SESSION_IDLE_MINUTES"] * 60, xx=not new_cookie)
        if new_cookie:
            # No Expires: the browser forgets it when it closes; the server's limits apply anyway.
            response.set_cookie(self.get_cookie_name(app), session.sid, **cookie)


def _record(app: Flask, sid: str) -> dict | None:
    """A session's stored record while it stands; one past a limit is removed."""
    raw = get_redis().get(_key(app, sid))
    if raw is None:
        return None
    record, now = json.loads(raw), _now(app)
    if (now - record["seen"] > app.config["SESSION_IDLE_MINUTES"] * 60
            or now - record["created"] > app.config["SESSION_LIFETIME_HOURS"] * 3600):
        get_redis().delete(_key(app, sid))
        return None
    return record


def _now(app: Flask) -> float:
    return app.config["CLOCK"]().timestamp()


def _key(app: Flask, sid: str) -> str:
    # Keyed by a MAC of the id: what Redis holds (a dump, a monitor) cannot be replayed as a cookie.
    digest = hmac.new(app.config["SECRET_KEY"].encode(), sid.encode(), hashlib.sha256).hexdigest()
    return key_for("console-session", digest)


def init_app(app: Flask) -> None:
    """Sessions in Redis, and a cookie that is HttpOnly, SameSite=Lax and, behind https, Secure."""
    app.session_interface = RedisSessionInterface()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=app.config["PUBLIC_BASE_URL"].startswith("https://"))
