"""`python -m callqueue.worker`: an RQ worker with its scheduler, inside the app context.

A SimpleWorker runs jobs in its own process: callback jobs take milliseconds, and forking a
work horse per job would cost more than the job and make callbacks fire late under load.
"""
from __future__ import annotations

from rq import SimpleWorker


def main() -> None:
    import logs
    from app import create_app
    from callqueue.jobs import get_queue
    from redis_conn import get_redis

    app = create_app({"LOAD_SPEECH_MODELS": False})
    logs.configure(app.config["LOG_JSON"])
    with app.app_context():
        connection = get_redis()
        SimpleWorker([get_queue(connection)], connection=connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
