"""`python -m callqueue.worker`: an RQ worker with its scheduler, inside the app context.

A SimpleWorker runs jobs in its own process: callback jobs take milliseconds, and forking a
work horse per job would cost more than the job and make callbacks fire late under load.
Its scheduler sweeps for due jobs every SWEEP_S instead of RQ's every second: a sweep a
second apart alone would make callbacks up to a second late.

Both outlive a Redis restart: the scheduler waits for Redis and carries on (RQ's own dies and
is restarted only by the worker's ten-minute maintenance), and the worker registers itself
again when a restarted Redis has forgotten it. `background_status` tells /health and
/metrics which workers and which scheduler are alive by their heartbeats, so a killed one
is not counted for the minutes its key outlives it.
"""
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker, Worker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.utils import utcparse

SWEEP_S = 0.2
# A worker heartbeats at least every WORKER_TTL_S - 15 s (RQ's dequeue timeout); one silent
# for longer than WORKER_TTL_S has died, and RQ drops its key a minute after that. (A plain
# `rq worker` needs `--worker-ttl 30` to be judged the same way.)
WORKER_TTL_S = 30
# How often the worker looks after its scheduler (RQ restarts a dead one then) and registries.
MAINTENANCE_S = 15
# The scheduler heartbeats every second: three missed and it is dead.
SCHEDULER_SILENT_S = 3.0
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
log = logging.getLogger(__name__)


class SweepingScheduler(RQScheduler):
    """RQ's scheduler loop, sweeping every SWEEP_S. RQ sweeps every `interval`, which must stay
    whole seconds (its lock TTLs are built from it), so heartbeats keep that pace. While Redis
    is out of reach it waits and tries again instead of dying."""

    def work(self) -> None:
        self._install_signal_handlers()
        last_heartbeat = 0.0
        born, redis_down = False, False
        while not self._stop_requested:
            try:
                if not born or redis_down:  # a restarted Redis may have lost our locks and our record
                    self.register_birth()
                    self.acquire_locks()
                    born = True
                if redis_down:
                    log.warning("scheduler: Redis is back")
                    redis_down = False
                if self.should_reacquire_locks:
                    self.acquire_locks()
                if time.monotonic() - last_heartbeat >= self.interval:
                    self.heartbeat()
                    last_heartbeat = time.monotonic()
                self.enqueue_scheduled_jobs()
            except REDIS_DOWN as error:
                if not redis_down:
                    log.warning("scheduler: Redis out of reach (%s); waiting for it", error)
                redis_down = True
                time.sleep(self.interval)
                continue
            time.sleep(SWEEP_S)
        self.stop()


class CallbackWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", WORKER_TTL_S)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_S)
        super().__init__(*args, **kwargs)

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        # A Redis that restarted without its data has forgotten this worker: join its registry again.
        if pipeline is None and not self.connection.exists(self.key):
            worker_registration.register(self)
        return super().heartbeat(timeout, pipeline)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT, log_format: str = DEFAULT_LOGGING_FORMAT):
        # RQ's own method with the sweeping scheduler (RQ has no setting for its scheduler class).
        self.scheduler = SweepingScheduler(self.queues, connection=self.connection, serializer=self.serializer,
                                           logging_level=logging_level or self.log.level,
                                           date_format=date_format, log_format=log_format)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()


def background_status(connection, queue_name: str, now: datetime | None = None) -> dict:
    """Workers and the scheduler of one queue, judged by their heartbeats."""
    now = now or datetime.now(UTC)
    live, stale = 0, 0
    for worker in Worker.all(connection=connection):
        heartbeat = worker.last_heartbeat
        silent_s = (now - heartbeat.replace(tzinfo=UTC)).total_seconds() if heartbeat else None
        if silent_s is not None and silent_s <= WORKER_TTL_S:
            live += 1
        else:
            stale += 1
    return {"workers": live, "stale_workers": stale, "scheduler": scheduler_status(connection, queue_name, now)}


def scheduler_status(connection, queue_name: str, now: datetime) -> dict:
    """Whether a scheduler holds the queue's lock and has heartbeaten lately."""
    holder = connection.get(RQScheduler.get_locking_key(queue_name))
    if holder is None:
        return {"alive": False, "error": "no scheduler holds the lock: scheduled callbacks wait for recovery"}
    stamp = connection.hget(SCHEDULER_KEY_TEMPLATE % holder.decode(), "last_heartbeat")
    age = (now - utcparse(stamp.decode()).replace(tzinfo=UTC)).total_seconds() if stamp else None
    if age is None or age > SCHEDULER_SILENT_S:
        return {"alive": False, "silent_s": None if age is None else round(age, 1),
                "error": "the scheduler holding the lock has stopped: scheduled callbacks wait for recovery"}
    return {"alive": True, "silent_s": round(age, 1)}


def main() -> None:
    import logs
    from app import create_app
    from callqueue.jobs import get_queue
    from redis_conn import get_redis

    app = create_app({"LOAD_SPEECH_MODELS": False})
    logs.configure(app.config["LOG_JSON"])
    # Each dial logs one line of its own; RQ's four lines per job would bury them (and cost time).
    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    with app.app_context():
        connection = get_redis()
        CallbackWorker([get_queue(connection)], connection=connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
