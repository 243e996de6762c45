"""Console polling benchmark: open agent consoles and wallboards while calls are answered.

    python -m bench.consoles --consoles 200 --json

Method (printed with the figures as "method"):
The real app under gunicorn (gthread, --workers x --threads, as production runs it) on embedded
Redis and SQLite. Keypad calls (signed POST /voice/incoming, then the final /voice/status)
arrive at --rate per second for --seconds with no console open: the baseline. Then --consoles
screens log in over --login-spread seconds (one in ten a supervisor's wallboard, the rest agents'
consoles) and, once all are in, poll as the
pages do (poll.js): GET /console/api/me every 1 s or /console/api/wallboard every 2 s, each
after the last answer, sending the ETag back (If-None-Match) so an unchanged view is a 304; the
same keypad calls arrive meanwhile for --seconds. Reported per phase: webhook p50/p99 (the
carrier's wall time), polls and their share of 304s, poll p50/p99, and the server's CPU seconds
(gunicorn's processes, psutil). Errors: a webhook or poll that fails, is not 2xx/304, or a
webhook over 5 s; a login refused. Exit status 1 on any error.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

import psutil
import requests

from bench.capacity import Tally, keypad_arrivals
from bench.figures import method, percentile, print_figures
from bench.servers import log_tail, scratch, served

PASSWORD = "bench-console-password"
WALLBOARD_EVERY = 10  # one screen in ten is a supervisor's wallboard
POLL_EVERY_S = {"agent": 1.0, "supervisor": 2.0}  # as console.js and wallboard.js poll
POLL_URL = {"agent": "/console/api/me", "supervisor": "/console/api/wallboard"}
POLL_TIMEOUT_S = 30.0


class Polls:
    """Thread-safe record of every console poll."""

    def __init__(self):
        self._lock = threading.Lock()
        self.ms: list[float] = []
        self.not_modified = 0
        self.errors: list[str] = []

    def add(self, ms: float, status: int) -> None:
        with self._lock:
            self.ms.append(ms)
            self.not_modified += status == 304

    def error(self, detail: str) -> None:
        with self._lock:
            self.errors.append(detail[:300])


def add_screens(environment: dict, folder: str, count: int) -> tuple[list[tuple[str, str]], str]:
    """Console users for `count` screens, agents registered with the ACD; and the apology the
    hotline says when a step fails (a webhook that says it is an error)."""
    os.environ.update(environment)
    from app import create_app
    from callqueue.routing import distributor
    from console.models import User
    from database import new_session
    from redis_conn import get_redis

    app = create_app({"INSTANCE_PATH": folder, "LOAD_SPEECH_MODELS": False})
    screens = [(f"screen{n:04d}", "supervisor" if n % WALLBOARD_EVERY == 0 else "agent") for n in range(count)]
    with app.app_context():
        probe = User()
        probe.set_password(PASSWORD)  # hashed once: scrypt per user would make set-up the benchmark
        session = new_session()
        try:
            session.add_all(User(username=name, role=role, display_name=name, languages=["zh-CN"],
                                 categories=["damaged"], password_hash=probe.password_hash, phone="")
                            for name, role in screens)
            session.commit()
        finally:
            session.close()
        acd = distributor(get_redis(), app.config)
        for name, role in screens:
            if role == "agent":
                acd.register_agent(name, languages=["zh-CN"], categories=["damaged"])
        apology = app.extensions["prompt_catalogues"][app.config["HOTLINE_LANGUAGE"]].render("technical_problem", {})
    return screens, apology


def logged_in_session(base: str, username: str, password: str, polls: Polls, timeout_s: float) -> requests.Session:
    """A console login of its own; a refused or failed login is counted as an error in `polls`."""
    client = requests.Session()
    try:
        login = client.post(base + "/console/api/login", json={"username": username, "password": password},
                            timeout=timeout_s)
        if login.status_code != 200:
            polls.error(f"login {username}: HTTP {login.status_code}")
    except requests.RequestException as error:
        polls.error(f"login {username}: {type(error).__name__}: {error}")
    return client


def open_screen(base: str, username: str, role: str, delay_s: float, polls: Polls, logged_in: threading.Barrier,
                stop: threading.Event) -> None:
    """One console page: log in (after `delay_s`), then poll its view after each answer, as poll.js does."""
    stop.wait(delay_s)
    client = logged_in_session(base, username, PASSWORD, polls, POLL_TIMEOUT_S)
    logged_in.wait()
    etag = ""
    while not stop.is_set():
        began = time.perf_counter()
        try:
            response = client.get(base + POLL_URL[role], headers={"If-None-Match": etag} if etag else {},
                                  timeout=POLL_TIMEOUT_S)
            polls.add((time.perf_counter() - began) * 1000, response.status_code)
            if response.status_code == 200:
                etag = response.headers.get("ETag", "")
            elif response.status_code != 304:
                polls.error(f"{POLL_URL[role]}: HTTP {response.status_code}")
        except requests.RequestException as error:
            polls.error(f"{POLL_URL[role]}: {type(error).__name__}: {error}")
        stop.wait(POLL_EVERY_S[role])
    client.close()  # a page closed: its kept-alive connection would hold gunicorn's shutdown


def server_cpu_s(server: subprocess.Popen) -> float:
    processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


def keypad_phase(base: str, rate: float, seconds: float, apology: str, server) -> dict:
    """Keypad calls at `rate` for `seconds`: their webhook times, errors, and the server's CPU."""
    tally, stop = Tally(), threading.Event()
    cpu_before = server_cpu_s(server)
    arrivals = threading.Thread(target=keypad_arrivals, args=(base, rate, stop, tally, apology))
    arrivals.start()
    stop.wait(seconds)
    stop.set()
    arrivals.join()
    window = tally.take()
    latencies = window.webhook_ms or [0.0]
    return {
        "webhooks": len(window.webhook_ms),
        "webhook_p50_ms": round(statistics.median(latencies), 1),
        "webhook_p99_ms": round(percentile(latencies, 0.99), 1),
        "webhook_errors": sum(window.errors.values()),
        "first_webhook_error": next(iter(window.examples.values()), None),
        "server_cpu_s": round(server_cpu_s(server) - cpu_before, 1),
    }


def measure(base: str, server, screens: list[tuple[str, str]], args, apology: str) -> dict:
    baseline = keypad_phase(base, args.rate, args.seconds, apology, server)
    polls, stop = Polls(), threading.Event()
    logged_in = threading.Barrier(len(screens) + 1)
    threads = [threading.Thread(target=open_screen, daemon=True, args=(
        base, name, role, n * args.login_spread / len(screens), polls, logged_in, stop))
        for n, (name, role) in enumerate(screens)]
    for thread in threads:
        thread.start()
    logged_in.wait()
    polls_before = len(polls.ms)
    loaded = keypad_phase(base, args.rate, args.seconds, apology, server)
    stop.set()
    for thread in threads:
        thread.join(timeout=POLL_TIMEOUT_S + 5)
    measured_polls = polls.ms[polls_before:] or polls.ms or [0.0]
    return {
        "consoles": len(screens), "wallboards": sum(1 for _, role in screens if role == "supervisor"),
        "seconds": args.seconds, "calls_per_second": args.rate,
        "baseline_webhook_p50_ms": baseline["webhook_p50_ms"], "baseline_webhook_p99_ms": baseline["webhook_p99_ms"],
        "webhook_p50_ms": loaded["webhook_p50_ms"], "webhook_p99_ms": loaded["webhook_p99_ms"],
        "baseline_webhooks": baseline["webhooks"], "webhooks": loaded["webhooks"],
        "polls": len(polls.ms), "polls_per_second": round(len(measured_polls) / args.seconds, 1),
        "share_304": round(polls.not_modified / len(polls.ms), 3) if polls.ms else 0.0,
        "poll_p50_ms": round(statistics.median(measured_polls), 1),
        "poll_p99_ms": round(percentile(measured_polls, 0.99), 1),
        "baseline_server_cpu_s": baseline["server_cpu_s"], "server_cpu_s": loaded["server_cpu_s"],
        "errors": baseline["webhook_errors"] + loaded["webhook_errors"] + len(polls.errors),
        "first_error": baseline["first_webhook_error"] or loaded["first_webhook_error"]
        or (polls.errors[0] if polls.errors else None),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consoles", type=int, default=200, help="screens open: agents' consoles and wallboards")
    parser.add_argument("--rate", type=float, default=10.0, help="keypad calls per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--login-spread", type=float, default=20.0,
                        help="seconds over which the screens log in (a shift starting, not one instant)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with scratch("bench-consoles-", SEED_DEMO_ON_FIRST_RUN="false") as place:
        environment = {**place.environment, "HOTLINE_INSTANCE": place.folder}
        screens, apology = add_screens(environment, place.folder, args.consoles)
        log_path = f"{place.folder}/server.log"
        with served("app:create_app()", environment, args.workers, args.threads, log_path) as (server, base):
            figures = {"method": method(__doc__), **measure(base, server, screens, args, apology)}
        if figures["errors"]:
            figures["server_log_tail"] = log_tail(log_path, 1500)
    print_figures(figures, args.json)
    return figures


def failed(figures: dict) -> bool:
    return bool(figures["errors"])


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
