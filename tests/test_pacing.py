"""Outbound pacing across workers: never more calls in a second than the limit."""
from __future__ import annotations

import threading

from callqueue.pacing import WINDOW_S, Pacer


def test_workers_sharing_the_pacer_never_exceed_the_limit_in_any_second(app):
    from redis_conn import get_redis

    with app.app_context():
        connection = get_redis()
    limit, placed, lock = 10, [], threading.Lock()

    def worker():
        pacer = Pacer(connection, limit)
        for _ in range(8):
            slot = pacer.take(max_wait_s=10)
            with lock:
                placed.append(slot)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert None not in placed and len(placed) == 32
    placed.sort()
    # Any one-second window, wherever it starts, holds at most `limit` calls...
    assert max(sum(1 for t in placed[i:] if t < start + 1.0) for i, start in enumerate(placed)) <= limit
    # ...and the pacer made them wait rather than refuse: 32 calls at 10 a second span 3 windows.
    assert placed[-1] - placed[0] >= 3 * WINDOW_S - 0.01


def test_a_full_window_is_seen_without_taking_a_slot_and_a_short_wait_gives_up(app):
    from redis_conn import get_redis

    with app.app_context():
        pacer = Pacer(get_redis(), 2)
    assert not pacer.full()
    assert pacer.take(0) is not None and pacer.take(0) is not None
    assert pacer.full() and pacer.full()
    assert pacer.take(max_wait_s=0.2) is None
