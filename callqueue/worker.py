"""`python -m callqueue.worker`: an RQ worker with its scheduler, inside the app context.

A SimpleWorker runs jobs in its own process: callback jobs take milliseconds, and forking a
work horse per job would cost more than the job and make callbacks fire late under load.
Its scheduler sweeps for due jobs every SWEEP_S instead of RQ's every second: a sweep a
second apart alone would make callbacks up to a second late.
"""
from __future__ import annotations

import logging
import time

from rq import SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler

SWEEP_S = 0.2


class SweepingScheduler(RQScheduler):
    """RQ's scheduler loop, sweeping every SWEEP_S. RQ sweeps every `interval`, which must stay
    whole seconds (its lock TTLs are built from it), so heartbeats keep that pace."""

    def work(self) -> None:
        self._install_signal_handlers()
        self.register_birth()
        last_heartbeat = 0.0
        while not self._stop_requested:
            if self.should_reacquire_locks:
                self.acquire_locks()
            if time.monotonic() - last_heartbeat >= self.interval:
                self.heartbeat()
                last_heartbeat = time.monotonic()
            self.enqueue_scheduled_jobs()
            time.sleep(SWEEP_S)
        self.stop()


class CallbackWorker(SimpleWorker):
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
