"""What benchmarks share to run the hotline: a scratch folder with an embedded Redis and an
SQLite database, the app (or any WSGI target) under gunicorn as production serves it, waited for
through a slow start, its log in a file, and stopped gracefully."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

TOKEN = "bench-token-" + "0" * 20
START_WAIT_S = 60.0  # a fresh clone's first request imports and warms up for well over a second
PROBE_TIMEOUT_S = 2.0
STOP_WAIT_S = 40.0  # gunicorn's graceful stop lets requests in flight finish (30 s)
# Idle kept-alive connections live longer than the slowest poll (the wallboard's 2 s): at
# gunicorn's default of 2 s a poll could go out on a connection the server was closing, a reset
# that a browser retries unseen but requests reports as an error.
KEEP_ALIVE_S = 5


@dataclass
class Scratch:
    """A bench's folder, its embedded Redis (a client of it, and its URL) and the environment
    that points the app at them."""
    folder: str
    redis: object
    redis_url: str
    environment: dict = field(default_factory=dict)

    def settings(self, **overrides) -> dict:
        """create_app's mapping for this folder, Redis and database, no speech models."""
        return {"LOAD_SPEECH_MODELS": False, "INSTANCE_PATH": self.folder, "SECRET_KEY": "bench",
                "TWILIO_AUTH_TOKEN": TOKEN, "REDIS_URL": self.redis_url,
                "DATABASE_URL": self.environment["DATABASE_URL"], **overrides}


@contextmanager
def scratch(prefix: str, **settings: str) -> Iterator[Scratch]:
    """A fresh folder with an embedded Redis and an SQLite file; `settings` join the environment
    (REDIS_URL, DATABASE_URL, TWILIO_AUTH_TOKEN, SECRET_KEY, PYTHONPATH). Redis stops at the end."""
    sys.path.insert(0, os.getcwd())
    import redis_conn

    folder = tempfile.mkdtemp(prefix=prefix)
    embedded = redis_conn.start_embedded(folder)
    url = redis_conn.socket_url(embedded)
    environment = {"REDIS_URL": url, "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
                   "TWILIO_AUTH_TOKEN": TOKEN, "SECRET_KEY": "bench", "PYTHONPATH": os.getcwd(), **settings}
    try:
        yield Scratch(folder, embedded, url, environment)
    finally:
        redis_conn.stop_embedded(embedded)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str, environment: dict, workers: int, threads: int, log_path: str) -> tuple[subprocess.Popen, str]:
    """gunicorn (gthread) serving `target`, its log in a file (an unread pipe would fill and
    stall it); returns once it answers anything (even a 404), waiting out a slow start."""
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads),
             "--backlog", "2048", "--keep-alive", str(KEEP_ALIVE_S), "-b", f"127.0.0.1:{port}", "--log-level", "warning", target],
            env={**os.environ, **environment}, stdout=subprocess.DEVNULL, stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(url + "/", timeout=PROBE_TIMEOUT_S)
            return process, url
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{target} did not answer within {START_WAIT_S:.0f} s: {log_tail(log_path)}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def served(target: str, environment: dict, workers: int, threads: int, log_path: str
           ) -> Iterator[tuple[subprocess.Popen, str]]:
    """`serve`, stopped at the end however the bench ends."""
    process, url = serve(target, environment, workers, threads, log_path)
    try:
        yield process, url
    finally:
        stop(process)


def log_tail(log_path: str, size: int = 2000) -> str:
    with open(log_path, "rb") as log:
        return log.read()[-size:].decode(errors="replace")
