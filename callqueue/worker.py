"""`python -m callqueue.worker`: an RQ worker with its scheduler, inside the app context."""
from __future__ import annotations

import logging

from rq import Worker


def main() -> None:
    from app import create_app
    from callqueue.jobs import get_queue
    from redis_conn import get_redis

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    app = create_app({"LOAD_SPEECH_MODELS": False})
    with app.app_context():
        connection = get_redis()
        Worker([get_queue(connection)], connection=connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
