"""Outbound pacing across workers: never more calls in a second than the limit.

The pacers run on the test's clock: a wait for a slot moves it (`sleep`), and the moment a
take returns is when its call reaches the carrier."""
from __future__ import annotations

import math
import threading
from datetime import timedelta

import pytest

from callqueue.pacing import WINDOW_S, Pacer


@pytest.fixture
def connection(app):
    from redis_conn import get_redis

    with app.app_context():
        return get_redis()


def pacer(connection, clock, limit, reading=None):
    """A worker's pacer on the test's clock; `reading` is the clock it stamps by (default the same)."""
    def sleep(seconds):  # the fake clock keeps microseconds: round up, as a real sleep overshoots
        clock.advance(math.ceil(seconds * 1e6) / 1e6)

    return Pacer(connection, limit, reading or clock, sleep=sleep, monotonic=lambda: clock().timestamp())


def busiest_second(moments):
    moments = sorted(moments)
    return max(sum(1 for t in moments[i:] if t < start + 1.0) for i, start in enumerate(moments))


def test_workers_sharing_the_pacer_never_exceed_the_limit_in_any_second(connection, clock):
    limit, start = 10, clock().timestamp()
    workers = [pacer(connection, clock, limit) for _ in range(4)]
    placed = []
    for _ in range(8):  # the four workers in turn, each placing a call when its slot comes
        for worker in workers:
            assert worker.take(max_wait_s=10) is not None
            placed.append(clock().timestamp())
    assert len(placed) == 32 and busiest_second(placed) == limit
    # They waited rather than refused: ten calls a window, each window WINDOW_S after the last.
    assert [round((t - start) / WINDOW_S, 3) for t in placed] == [0.0] * 10 + [1.0] * 10 + [2.0] * 10 + [3.0] * 2


def test_workers_racing_for_the_last_slots_take_exactly_the_limit(connection, clock):
    """Real threads, the clock stopped: however they interleave, the script lets ten through."""
    limit, results, lock = 10, [], threading.Lock()

    def worker():
        mine = [pacer(connection, clock, limit).take(max_wait_s=0) for _ in range(8)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 32 and sum(r is not None for r in results) == limit


def test_a_full_window_is_seen_without_taking_a_slot_and_a_short_wait_gives_up(connection, clock):
    two = pacer(connection, clock, 2)
    assert not two.full()
    assert two.take(0) is not None and two.take(0) is not None
    assert two.full() and two.full()
    before = clock()
    assert two.take(max_wait_s=0.2) is None
    assert clock() == before  # it gave up at once: the slot frees only after WINDOW_S
    assert two.take(max_wait_s=WINDOW_S) is not None and clock() == before + timedelta(seconds=WINDOW_S)


def test_a_worker_whose_clock_reads_behind_stamps_no_earlier_than_the_newest_slot(connection, clock):
    ahead = pacer(connection, clock, 10)
    behind = pacer(connection, clock, 10, reading=lambda: clock() - timedelta(seconds=0.5))
    stamp = ahead.take(0)
    assert behind.take(0) == stamp


def test_a_worker_stalled_between_reading_the_clock_and_taking_its_slot_never_exceeds_the_limit(connection, clock):
    """Worker A reads the clock, then stalls 1.1 s before its script runs (descheduled on a
    loaded machine). Stamped with the time it read, its slot would be dropped by the next
    worker's script while its call is only now reaching the carrier: three calls in that second
    with a limit of two. It gives that slot back and takes one stamped when it got it."""
    limit, placed = 2, []
    stalled = {"once": True}

    def stalling_clock():
        now = clock()
        if stalled.pop("once", False):
            clock.advance(1.1)  # descheduled right after reading the time
        return now

    first, late, others = (pacer(connection, clock, limit), pacer(connection, clock, limit, stalling_clock),
                           pacer(connection, clock, limit))
    assert first.take(0) is not None
    placed.append(clock().timestamp())
    clock.advance(0.1)
    assert late.take(max_wait_s=5) is not None
    placed.append(clock().timestamp())  # its call reaches the carrier now, 1.2 s after the first
    for _ in range(3):
        assert others.take(max_wait_s=5) is not None
        placed.append(clock().timestamp())
    assert busiest_second(placed) <= limit
