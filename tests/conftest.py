"""Fixtures: a Redis for the session (REDIS_URL's server, or an embedded one), a fresh app and
database per test (a new schema on DATABASE_URL's PostgreSQL, or a new SQLite file), and `call`,
which rings the hotline through the carrier simulator."""
from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, make_url

import redis_conn
from app import create_app
from database import new_session
from ivr.simulator import SimulatedCall
from network.demo import seed_network
from tracking.demo import DEMO_CALLER, seed_demo

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
# 10:00 in Shanghai on a Tuesday: inside calling hours.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def wait_until(condition, timeout_s: float = 60.0) -> None:
    """Poll `condition` until it holds; fail after `timeout_s` (a deadline, not a sleep: on a
    loaded machine it simply takes longer)."""
    deadline, pause = time.monotonic() + timeout_s, threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        pause.wait(0.01)


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("REDIS_URL"):  # ./test.sh's real-server pass; each test flushes its db
        yield os.environ["REDIS_URL"]
        return
    folder = tempfile.mkdtemp(prefix="hotline-redis-")
    embedded = redis_conn.start_embedded(folder)
    yield redis_conn.socket_url(embedded)
    redis_conn.stop_embedded(embedded)


class Clock:
    """A clock tests can move; the app reads time only through config['CLOCK']."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let time pass: the simulator's `sleep` in tests, so the hotline sees the wait."""
        self.now += timedelta(seconds=seconds)

    def seconds(self) -> float:
        """The time in seconds: a simulated caller's `monotonic`, so their patience on hold runs
        on the hotline's time (it passes only when the test moves it), not on the machine's."""
        return self.now.timestamp()

    def simulated_time(self) -> dict:
        """A simulated caller's sleep and monotonic on this clock, for a caller alone on the line:
        their waits move the hotline's time at once."""
        return {"sleep": self.advance, "monotonic": self.seconds}


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def database_url(tmp_path):
    """A database of the test's own: on DATABASE_URL's server a schema made and dropped around
    the test (far faster than a database each), else an SQLite file in the test's folder."""
    server = os.environ.get("DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
        return
    schema = f"test_{uuid.uuid4().hex}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture
def make_app(tmp_path, redis_url, database_url, clock):
    apps = []

    def make(**overrides):
        app = create_app({
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_ACCOUNT_SID": "",
            "SECRET_KEY": "test",
            "PUBLIC_BASE_URL": "",
            "HOTLINE_BRAND": "顺达快递",
            "HOTLINE_LANGUAGE": "zh-CN",
            "CLOCK": clock,
            "OUTBOUND_CALLS_PER_SECOND": 1000,  # tests of pacing set their own limit
            **overrides,
        })
        if app.config["REDIS_URL"] == redis_url:  # a test may point at a Redis that is down
            with app.app_context():
                redis_conn.get_redis().flushdb()
        apps.append(app)
        return app

    yield make
    # Every pooled connection closed before the schema is dropped: one left idle would block the drop.
    for app in apps:
        app.extensions["db_engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def demo_parcels(app, clock):
    with app.app_context():
        session = new_session()
        records = seed_demo(session, app.extensions["calling_hours"].local(clock()))
        seed_network(session)
        session.close()
    return {r["waybill"]: r for r in records}


@pytest.fixture
def session(app):
    """A database session inside the app's context, for tests of the domain packages."""
    with app.app_context():
        session = new_session()
        yield session
        session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def client_transport(client):
    """The simulator's HTTP, through Flask's test client (same requests, no sockets)."""
    def transport(url: str, params: dict, headers: dict) -> tuple[int, str]:
        path = url.removeprefix("http://localhost")
        response = client.post(path, data=params, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return transport


@pytest.fixture
def call(client, demo_parcels):
    """call(*keys, caller=...) -> the finished SimulatedCall."""
    def place(*keys: str, caller: str = DEMO_CALLER) -> SimulatedCall:
        simulated = SimulatedCall("http://localhost", AUTH_TOKEN, caller, transport=client_transport(client))
        return simulated.run(list(keys))

    return place
