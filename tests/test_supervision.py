"""Background processes under faults: the scheduler outlives a Redis outage, a worker that a
restarted Redis forgot registers again, and /health judges workers and the scheduler by their
heartbeats, so a killed one is never counted as running."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker

from callqueue.jobs import QUEUE_NAME, get_queue
from callqueue.worker import CallbackWorker, SweepingScheduler, background_status
from tests.conftest import wait_until


class Outage:
    """Connections to the test Redis that fail while `down` is set, as a restarting Redis's do.
    (RQ's scheduler builds its own pool from the connection's class, so the fault lives here.)"""

    down = False
    refused = 0

    @classmethod
    def connection_class(cls, base: type) -> type:
        def send_packed_command(self, *args, **kwargs):
            if cls.down:
                cls.refused += 1
                self.disconnect()
                raise RedisConnectionError("Connection refused (test outage)")
            return base.send_packed_command(self, *args, **kwargs)

        return type("OutageConnection", (base,), {"send_packed_command": send_packed_command})


@pytest.fixture
def connection(redis_url):
    Outage.down, Outage.refused = False, 0
    pool = redis.ConnectionPool.from_url(redis_url)
    pool.connection_class = Outage.connection_class(pool.connection_class)
    client = redis.Redis(connection_pool=pool)
    client.flushdb()
    yield client
    Outage.down = False
    pool.disconnect()


def ping():
    return "pinged"


def test_scheduler_waits_out_a_redis_outage_and_queues_due_jobs_after_it(connection):
    queue = get_queue(connection)
    scheduler = SweepingScheduler([queue], connection=connection)
    scheduler._install_signal_handlers = lambda: None  # signals belong to the main thread; stopped below
    scheduler.acquire_locks()
    thread = threading.Thread(target=scheduler.work, daemon=True)
    thread.start()
    try:
        Outage.down = True
        wait_until(lambda: Outage.refused >= 3, timeout_s=30)  # it met the outage more than once
        Outage.down = False
        # RQ's scheduler reads the wall clock (it has no seam for another): due a second ago by it.
        queue.enqueue_at(datetime.now(UTC) - timedelta(seconds=1), ping)
        wait_until(lambda: queue.count == 1, timeout_s=30)
        assert thread.is_alive()
    finally:
        scheduler.request_stop()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_worker_forgotten_by_a_restarted_redis_registers_again(connection):
    worker = CallbackWorker([get_queue(connection)], connection=connection)
    worker.register_birth()
    connection.flushdb()  # Redis restarted without its data
    worker.heartbeat()
    assert [w.name for w in Worker.all(connection=connection)] == [worker.name]
    assert background_status(connection, QUEUE_NAME)["workers"] == 1


def test_workers_and_scheduler_are_judged_by_their_heartbeats(connection):
    queue = get_queue(connection)
    worker = CallbackWorker([queue], connection=connection)
    worker.register_birth()
    worker.heartbeat()
    scheduler = SweepingScheduler([queue], connection=connection)
    scheduler.acquire_locks()
    scheduler.register_birth()
    # Judged at the moment of their own heartbeats (RQ stamps them by the wall clock), and a minute later.
    worker.refresh()
    now = max(worker.last_heartbeat, scheduler.last_heartbeat).replace(tzinfo=UTC)

    status = background_status(connection, QUEUE_NAME, now)
    assert (status["workers"], status["stale_workers"]) == (1, 0)
    assert status["scheduler"]["alive"] is True

    later = background_status(connection, QUEUE_NAME, now + timedelta(seconds=60))  # both killed a minute ago
    assert (later["workers"], later["stale_workers"]) == (0, 1)
    assert later["scheduler"]["alive"] is False
    assert "stopped" in later["scheduler"]["error"]

    scheduler.release_locks()
    assert "no scheduler holds the lock" in background_status(connection, QUEUE_NAME, now)["scheduler"]["error"]


def test_health_says_when_the_scheduler_is_dead_and_callbacks_are_late(app, client, clock):
    from callqueue.models import Callback, CallbackStatus
    from clock import to_naive_utc
    from database import new_session
    from redis_conn import get_redis

    with app.app_context():
        connection = get_redis()
        worker = CallbackWorker([get_queue(connection)], connection=connection)
        worker.register_birth()
        worker.heartbeat()
        session = new_session()
        due = to_naive_utc(clock() - timedelta(minutes=5))
        session.add(Callback(phone="13800138000", slot="soonest", reason="test", status=CallbackStatus.SCHEDULED,
                             requested_at=due, due_at=due, created_at=due, expires_at=due + timedelta(days=3)))
        session.commit()
        session.close()
    report = client.get("/health").get_json()
    assert report["worker"]["workers"] == 1
    assert report["worker"]["ok"] is False and "no scheduler holds the lock" in report["worker"]["error"]
    assert report["callbacks"] == {"ok": False, "error": "RuntimeError: 1 callbacks over 60 s late"}
    assert report["status"] == "degraded"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'hotline_rq_workers{state="live"} 1.0' in metrics
    assert "hotline_rq_scheduler_alive 0.0" in metrics
