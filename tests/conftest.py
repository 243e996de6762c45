"""Fixtures: a real embedded Redis for the session, a fresh app and SQLite database per test,
and `call`, which rings the hotline through the carrier simulator."""
from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta

import pytest

import redis_conn
from app import create_app
from database import new_session
from ivr.simulator import SimulatedCall
from network.demo import seed_network
from tracking.demo import DEMO_CALLER, seed_demo

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
# 10:00 in Shanghai on a Tuesday: inside calling hours.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def redis_url():
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


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def make_app(tmp_path, redis_url, clock):
    def make(**overrides):
        app = create_app({
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.sqlite3'}",
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
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def demo_parcels(app, clock):
    with app.app_context():
        session = new_session()
        records = seed_demo(session, app.extensions["calling_hours"].local(clock()).date())
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
