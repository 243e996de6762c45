"""Callbacks: calling hours in Asia/Shanghai, slots, and RQ jobs run by a real worker."""
from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta

import pytest
from rq import Worker
from sqlalchemy import select

from callqueue.callbacks import book_callback, requested_time
from callqueue.hours import CallingHours
from callqueue.jobs import claim_key, dial_callback, get_queue, record_outcome, recover_callbacks, schedule_callback
from callqueue.models import Callback, CallbackStatus, DoNotCall
from clock import from_naive_utc, to_naive_utc
from database import new_session
from ivr.telephony import SIMULATOR_OUTBOX
from redis_conn import get_redis
from tests.conftest import AUTH_TOKEN, wait_until

HOURS = CallingHours.parse("08:30-18:00", "Asia/Shanghai")


def shanghai(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=HOURS.zone)


@pytest.mark.parametrize("moment, opening", [
    (shanghai(24, 10), shanghai(24, 10)),           # open: now
    (shanghai(24, 8, 29), shanghai(24, 8, 30)),     # just before opening
    (shanghai(24, 18, 0), shanghai(25, 8, 30)),     # closing time is closed
    (shanghai(24, 23, 59), shanghai(25, 8, 30)),
    (shanghai(25, 0, 1), shanghai(25, 8, 30)),
])
def test_next_opening(moment, opening):
    assert HOURS.next_opening(moment) == opening.astimezone(UTC)


def test_weekdays_only_skips_the_weekend():
    weekdays = CallingHours(HOURS.start, HOURS.end, HOURS.zone, days=(0, 1, 2, 3, 4))
    friday_evening = shanghai(27, 19)
    assert weekdays.next_opening(friday_evening) == shanghai(30, 8, 30).astimezone(UTC)


# National Day week closed, Saturday 10 October a make-up working day (调休), weekdays only,
# and a lunch break: the calendar a Chinese call centre runs on.
CALENDAR = CallingHours.parse("08:30-18:00", "Asia/Shanghai", days="mon-fri", holidays="2026-10-01..2026-10-07",
                              workdays="2026-10-10", quiet="12:00-13:30")


def local(month, day, hour, minute=0, second=0):
    return datetime(2026, month, day, hour, minute, second, tzinfo=HOURS.zone)


@pytest.mark.parametrize("moment, opening", [
    (local(9, 30, 17, 59), local(9, 30, 17, 59)),   # the last minute before the holiday
    (local(9, 30, 18, 0), local(10, 8, 8, 30)),     # closing time on the eve: after the holiday week
    (local(10, 3, 10), local(10, 8, 8, 30)),        # inside the holiday
    (local(10, 9, 18, 30), local(10, 10, 8, 30)),   # Friday evening -> the make-up Saturday
    (local(10, 10, 18, 30), local(10, 12, 8, 30)),  # make-up Saturday evening -> Monday (Sunday closed)
    (local(10, 12, 12, 0), local(10, 12, 13, 30)),  # lunch break
    (local(10, 12, 13, 29), local(10, 12, 13, 30)),
    (local(10, 12, 13, 30), local(10, 12, 13, 30)),
    (local(11, 27, 17, 50), local(11, 27, 17, 50)),
    (local(11, 28, 9, 0), local(11, 30, 8, 30)),    # an ordinary Saturday
])
def test_a_calendar_with_holidays_make_up_days_and_quiet_hours(moment, opening):
    assert CALENDAR.next_opening(moment) == opening.astimezone(UTC)
    assert CALENDAR.is_open(moment) == (moment == opening)


def test_hours_may_run_to_midnight():
    all_day = CallingHours.parse("00:00-24:00", "Asia/Shanghai")
    assert all_day.is_open(local(11, 24, 23, 59, 59)) and all_day.is_open(local(11, 25, 0, 0))


@pytest.mark.parametrize("text", ["8-18", "18:00-08:30", "08:30"])
def test_bad_hours_are_refused(text):
    with pytest.raises(ValueError):
        CallingHours.parse(text, "Asia/Shanghai")


@pytest.mark.parametrize("setting, problem", [
    ({"CALLING_DAYS": "weekdays"}, "use mon, tue, wed, thu, fri, sat, sun"),
    ({"HOLIDAYS": "2026-10-01..2026-09-01"}, "ends before it starts"),
    ({"HOLIDAYS": "1 October"}, "is not YYYY-MM-DD"),
    ({"CALLING_QUIET_HOURS": "13:30-12:00"}, "quiet hours '13:30-12:00' end before they start"),
    ({"HOTLINE_TIMEZONE": "Asia/Beijing"}, "HOTLINE_TIMEZONE='Asia/Beijing' is not a time zone"),
])
def test_a_bad_calendar_setting_is_refused_at_start(setting, problem):
    from config import ConfigError, load_config

    with pytest.raises(ConfigError, match=problem.replace("(", r"\(")):
        load_config(setting)


def test_a_closed_calendar_is_a_clear_error():
    closed = CallingHours.parse("08:30-18:00", "Asia/Shanghai", holidays="2026-01-01..2027-12-31")
    with pytest.raises(ValueError, match="check the holiday calendar"):
        closed.next_opening(local(3, 1, 10))


def test_slots():
    morning = shanghai(24, 10)
    assert requested_time("soonest", morning, HOURS) == morning
    assert requested_time("afternoon", morning, HOURS) == shanghai(24, 14).astimezone(UTC)
    assert requested_time("afternoon", shanghai(24, 16), HOURS) == shanghai(24, 16).astimezone(UTC)
    assert requested_time("tomorrow_morning", morning, HOURS) == shanghai(25, 9).astimezone(UTC)
    with pytest.raises(ValueError):
        requested_time("never", morning, HOURS)


@pytest.fixture
def booked(app, clock):
    """A callback due now by the test's clock, stored and queued for the workers."""
    with app.app_context():
        session = new_session()
        callback, moved = book_callback(session, phone="13800138000", slot="soonest",
                                        now=clock(), hours=HOURS, reason="test")
        assert not moved and from_naive_utc(callback.due_at) == clock()
        queue = get_queue(get_redis())
        schedule_callback(queue, callback)
        assert queue.job_ids == [f"callback-{callback.id}-attempt-1"]  # due already: straight to the queue
        yield callback.id
        session.close()


def outbox(app):
    with app.app_context():
        return [json.loads(item) for item in get_redis().lrange(SIMULATOR_OUTBOX, 0, -1)]


def load(app, callback_id):
    with app.app_context():
        session = new_session()
        callback = session.get(Callback, callback_id)
        snapshot = (callback.status, callback.attempts, [(a.number, a.outcome) for a in callback.history],
                    callback.due_at)
        session.close()
    return snapshot


def work(app):
    """A real RQ worker's burst in this process. It installs its SIGINT and SIGTERM handlers here:
    they are put back after, or a later signal would raise StopRequested in whatever test runs."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with app.app_context():
            connection = get_redis()
            Worker([get_queue(connection)], connection=connection).work(burst=True, with_scheduler=True)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def test_real_worker_with_scheduler_dials_due_callback(make_app, clock):
    """A callback due later goes through RQ's scheduler, which reads the wall clock (it has no
    seam for another): here, and only here, the hotline's clock is set from the wall clock, 10 s
    behind it, and the callback falls due 5 s ahead by the hotline's clock: scheduled, and due
    by the scheduler's clock however late the burst worker starts."""
    app = make_app(CALLING_HOURS="00:00-24:00")
    clock.now = datetime.now(UTC) - timedelta(seconds=10)
    with app.app_context():
        session = new_session()
        callback, _ = book_callback(session, phone="13800138000", slot="soonest", now=clock(),
                                    hours=app.extensions["calling_hours"], reason="test")
        callback.due_at = to_naive_utc(clock() + timedelta(seconds=5))
        session.commit()
        booked = callback.id
        queue = get_queue(get_redis())
        schedule_callback(queue, callback)
        assert (queue.count, queue.scheduled_job_registry.get_job_ids()) == (0, [f"callback-{booked}-attempt-1"])
        session.close()
    handler = signal.getsignal(signal.SIGTERM)
    work(app)
    assert signal.getsignal(signal.SIGTERM) is handler  # the worker's handlers do not outlive it
    status, attempts, history, _ = load(app, booked)
    assert (status, attempts, history) == (CallbackStatus.RINGING, 1, [(1, "")])
    calls = outbox(app)
    assert [c["to"] for c in calls] == ["13800138000"]
    assert calls[0]["url"].endswith(f"/voice/callback/{booked}?attempt=1")


def test_a_worker_runs_a_callback_due_by_the_hotlines_clock(app, booked):
    work(app)
    assert load(app, booked)[:3] == (CallbackStatus.RINGING, 1, [(1, "")])
    assert [c["to"] for c in outbox(app)] == ["13800138000"]


def test_a_job_delivered_twice_dials_once(app, booked):
    with app.app_context():
        get_redis().set(claim_key(booked, 1), "claimed")   # another worker holds this attempt
        assert dial_callback(booked) == "duplicate"
        get_redis().delete(claim_key(booked, 1))
        assert dial_callback(booked) == "ringing"
        assert dial_callback(booked) == "skipped"
    assert len(outbox(app)) == 1


def test_worker_killed_before_dialling_is_recovered_without_loss(app, booked, clock):
    with app.app_context():
        connection = get_redis()
        connection.set(claim_key(booked, 1), "claimed")    # it claimed the attempt, then died
        connection.delete(*connection.keys("rq:*"))         # and its job is gone (e.g. Redis restarted)
        session = new_session()
        assert recover_callbacks(session, get_queue(connection), connection, to_naive_utc(clock())) == 1
        assert recover_callbacks(session, get_queue(connection), connection, to_naive_utc(clock())) == 0
        session.close()
        assert dial_callback(booked) == "ringing"
    assert len(outbox(app)) == 1


def test_recovery_over_more_callbacks_than_one_batch_goes_on_over_several_passes(app, clock):
    """Each pass reads one batch after the cursor, in id order: seven lost jobs with a batch of
    three are rescheduled over three passes, each once, and the fourth pass starts over."""
    with app.app_context():
        session, connection = new_session(), get_redis()
        ids = [book_callback(session, phone=f"1380013800{n}", slot="soonest", now=clock(), hours=HOURS,
                             reason="test")[0].id for n in range(7)]
        session.commit()
        queue = get_queue(connection)
        for callback in session.scalars(select(Callback)):
            schedule_callback(queue, callback)
        connection.delete(*connection.keys("rq:*"))  # Redis lost every job
        repaired = [recover_callbacks(session, queue, connection, to_naive_utc(clock()), batch=3) for _ in range(4)]
        assert repaired == [3, 3, 1, 0]
        recovered = [job for job in queue.job_ids + queue.scheduled_job_registry.get_job_ids() if "-recovered-" in job]
        assert sorted(int(job.split("-")[1]) for job in recovered) == sorted(ids)
        session.close()


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "machine"])
def test_not_reached_is_retried_inside_calling_hours(app, booked, clock, outcome):
    with app.app_context():
        dial_callback(booked)
        sid = outbox(app)[0]["sid"]
        session = new_session()
        evening = datetime(2026, 11, 24, 9, 50)  # 17:50 in Shanghai: the retry moves to 08:30 tomorrow
        record_outcome(session, sid, outcome, evening)
        record_outcome(session, sid, "completed", evening)   # a repeated status callback changes nothing
        session.close()
    status, attempts, history, due = load(app, booked)
    assert (status, history) == (CallbackStatus.SCHEDULED, [(1, outcome)])
    assert due == datetime(2026, 11, 25, 0, 30)


def test_a_retry_on_friday_evening_waits_for_monday_on_weekday_hours(make_app, clock):
    app = make_app(CALLING_DAYS="mon-fri")
    clock.now = local(11, 27, 17, 0).astimezone(UTC)  # Friday 17:00 in Shanghai
    with app.app_context():
        session = new_session()
        callback, moved = book_callback(session, phone="13800138000", slot="soonest", now=clock(),
                                        hours=app.extensions["calling_hours"], reason="test")
        assert not moved and dial_callback(callback.id) == "ringing"
        record_outcome(session, outbox(app)[0]["sid"], "no-answer", to_naive_utc(local(11, 27, 17, 45)))
        session.close()
        assert load(app, callback.id)[3] == to_naive_utc(local(11, 30, 8, 30))


def test_a_job_that_fires_late_at_night_waits_for_the_morning(app, booked, clock):
    clock.now = local(11, 24, 22, 0).astimezone(UTC)  # the worker was down until 22:00
    with app.app_context():
        assert dial_callback(booked) == "closed"
        assert dial_callback(booked) == "closed"  # a duplicate delivery: still nothing dialled
        reopened = [j for j in get_queue(get_redis()).scheduled_job_registry.get_job_ids() if "-reopened-" in j]
    assert outbox(app) == [] and len(reopened) == 2
    status, attempts, history, due = load(app, booked)
    assert (status, attempts, history, due) == (CallbackStatus.SCHEDULED, 0, [], to_naive_utc(local(11, 25, 8, 30)))
    clock.now = local(11, 25, 8, 30).astimezone(UTC)
    with app.app_context():
        assert [dial_callback(booked), dial_callback(booked)] == ["ringing", "skipped"]
    assert len(outbox(app)) == 1


def test_a_callback_asked_for_on_a_holiday_moves_past_it_and_says_so(make_app):
    app = make_app(HOLIDAYS="2026-11-24..2026-11-25")
    from ivr.simulator import SimulatedCall
    from tests.conftest import AUTH_TOKEN, client_transport

    result = SimulatedCall("http://localhost", AUTH_TOKEN, "13800138000",
                           transport=client_transport(app.test_client())).run(["3", "1", "1"])
    heard = " ".join(t["heard"] for t in result.turns)
    assert "您选的时间不在服务时间内，已顺延到最近的服务时间" in heard and "后天早上8点半前后致电" in heard


def test_an_agent_first_callback_nobody_takes_leaves_the_line_and_is_retried(make_app, clock):
    from callqueue.routing import distributor, scheduled_callback_sid

    app = make_app(CALLBACK_AGENT_FIRST="cli,ivr_request")
    with app.app_context():
        session = new_session()
        survey, _ = book_callback(session, phone="13800138001", slot="soonest", now=clock(), hours=HOURS,
                                  reason="cli", kind="survey")
        callback, _ = book_callback(session, phone="13800138000", slot="soonest", now=clock(), hours=HOURS,
                                    reason="cli")
        session.close()
        assert dial_callback(survey.id) == "ringing"  # a survey never waits for an agent
        assert dial_callback(callback.id) == "awaiting_agent"
        assert dial_callback(callback.id) == "skipped"
        acd = distributor(get_redis(), app.config)
        entry = acd.call(scheduled_callback_sid(callback.id, 1))
        assert (entry["status"], entry["skill"], entry["priority"]) == ("callback_waiting", "zh-CN:general",
                                                                         "promised_callback")
        queue, connection, session = get_queue(get_redis()), get_redis(), new_session()
        now = to_naive_utc(clock())
        assert recover_callbacks(session, queue, connection, now + timedelta(minutes=10)) == 0
        assert recover_callbacks(session, queue, connection, now + timedelta(minutes=31)) == 1
        assert acd.call(scheduled_callback_sid(callback.id, 1))["status"] == "abandoned"
        session.close()
    status, attempts, history, due = load(app, callback.id)
    assert (status, history, due) == (CallbackStatus.SCHEDULED, [(1, "no_agent")], now + timedelta(minutes=61))
    assert len(outbox(app)) == 1  # only the survey was dialled


def test_out_of_attempts_fails_and_past_the_window_expires(app, booked, clock):
    with app.app_context():
        now = to_naive_utc(clock())
        for _ in range(3):
            assert dial_callback(booked) == "ringing"
            session = new_session()  # as each status callback is its own request
            record_outcome(session, outbox(app)[-1]["sid"], "no-answer", now)
            session.close()
    assert load(app, booked)[:3] == (CallbackStatus.FAILED, 3, [(1, "no-answer"), (2, "no-answer"), (3, "no-answer")])
    assert len(outbox(app)) == 3


def test_expired_window(app, booked, clock):
    with app.app_context():
        session = new_session()
        callback = session.get(Callback, booked)
        callback.expires_at = to_naive_utc(clock()) + timedelta(minutes=10)
        session.commit()
        dial_callback(booked)
        record_outcome(session, outbox(app)[0]["sid"], "busy", to_naive_utc(clock()))
        assert session.get(Callback, booked).status is CallbackStatus.EXPIRED
        session.close()


def test_do_not_call_is_honoured(app, booked, clock):
    with app.app_context():
        session = new_session()
        session.add(DoNotCall(phone="13800138000", added_at=to_naive_utc(clock()), reason="asked"))
        session.commit()
        session.close()
        assert dial_callback(booked) == "cancelled"
    assert outbox(app) == []


def test_carrier_refusal_is_recorded_and_retried(app, booked, monkeypatch):
    import ivr.telephony

    class Refusing:
        def place_call(self, **_):
            raise RuntimeError("carrier said no")

    monkeypatch.setattr(ivr.telephony, "get_telephony", lambda: Refusing())
    with app.app_context():
        assert dial_callback(booked) == "scheduled"
    status, attempts, history, _ = load(app, booked)
    assert history == [(1, "carrier_error")] and status is CallbackStatus.SCHEDULED


def test_answered_callback_greets_and_joins_the_agent_queue(client, booked, app):
    from tests.test_webhooks import signed_post

    with app.app_context():
        dial_callback(booked)
    sid = outbox(app)[0]["sid"]
    response = signed_post(client, f"/voice/callback/{booked}", {"CallSid": sid, "To": "13800138000",
                                                                 "AnsweredBy": "human"})
    body = response.get_data(as_text=True)
    assert "您预约的回电已接通" in body and ">agents</Enqueue>" in body
    signed_post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed"})
    assert load(app, booked)[:3] == (CallbackStatus.COMPLETED, 1, [(1, "completed")])


def test_an_answering_machine_gets_a_message_and_a_retry(client, booked, app):
    from tests.test_webhooks import signed_post

    with app.app_context():
        dial_callback(booked)
    sid = outbox(app)[0]["sid"]
    body = signed_post(client, f"/voice/callback/{booked}", {"CallSid": sid, "AnsweredBy": "machine_start"}
                       ).get_data(as_text=True)
    assert "我们稍后会再次致电" in body and "<Hangup />" in body
    assert load(app, booked)[:3] == (CallbackStatus.SCHEDULED, 1, [(1, "machine")])


def test_killed_workers_and_a_restarted_scheduler_never_dial_twice_nor_lose_a_callback(make_app, clock, redis_url,
                                                                                      tmp_path):
    """Real worker processes (each with RQ's scheduler) SIGKILLed while callbacks fall due; then
    recovery and a fresh worker: every callback dialled, none dialled twice.

    The worker processes and RQ's scheduler read the wall clock, so the callbacks fall due by
    it (the only use of the wall clock here). Nothing waits for a moment to come: each step
    waits, with a deadline, for what it needs to see (dials at the carrier, callbacks settled),
    and recovery runs at an explicit moment, as the ticker's pass would some minutes after the
    kills, past every grace period (the dead workers' scheduler lock keeps a new scheduler out
    for a minute: recovery must queue their jobs itself)."""
    import os
    import signal
    import subprocess
    import sys
    from collections import Counter
    from pathlib import Path

    import callqueue.jobs

    settings = {"CALLING_HOURS": "00:00-24:00", "OUTBOUND_CALLS_PER_SECOND": "1000",
                "OUTBOUND_MAX_CONCURRENT": "100000", "SEED_DEMO_ON_FIRST_RUN": "false"}
    app = make_app(**{k: int(v) if v.isdigit() else v for k, v in settings.items()})
    clock.now = start = datetime.now(UTC)
    count = 120
    with app.app_context():
        session = new_session()
        queue = get_queue(get_redis())
        for n in range(count):
            callback, _ = book_callback(session, phone=f"139{n:08d}", slot="soonest", now=clock(),
                                        hours=app.extensions["calling_hours"], reason="chaos")
            callback.due_at = to_naive_utc(start + timedelta(seconds=1 + n * 0.03))  # due over ~4 s
            session.commit()
            schedule_callback(queue, callback)
        last_due = from_naive_utc(callback.due_at)
        session.close()
    environment = {**os.environ, **settings, "REDIS_URL": redis_url, "DATABASE_URL": app.config["DATABASE_URL"],
                   "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": "test",
                   "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}

    def worker():
        return subprocess.Popen([sys.executable, "-m", "callqueue.worker"], env=environment, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def kill(process):  # the worker and RQ's scheduler, its child process
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def dialled():
        with app.app_context():
            return [json.loads(item)["to"] for item in get_redis().lrange(SIMULATOR_OUTBOX, 0, -1)]

    def unsettled():  # callbacks not yet at the carrier
        with app.app_context():
            session = new_session()
            left = session.query(Callback).filter(Callback.status.in_(
                [CallbackStatus.SCHEDULED, CallbackStatus.DIALLING])).count()
            session.close()
        return left

    first = worker()  # dies after 20 dials, callbacks still falling due
    wait_until(lambda: len(dialled()) >= 20, timeout_s=120)
    kill(first)
    assert 20 <= len(dialled()) < count, "the first worker died part way"
    with app.app_context():
        waiting = get_queue(get_redis()).count  # what the dead scheduler had queued and nobody took
    second = worker()  # its scheduler is locked out by the dead one's: it takes what is queued, then dies
    before = len(dialled())
    wait_until(lambda: len(dialled()) >= before + min(20, waiting), timeout_s=120)
    kill(second)

    # The ticker's recovery pass, past every grace period after the kills and the last due time.
    clock.now = max(datetime.now(UTC), last_due) + callqueue.jobs.STALE_DIALLING + callqueue.jobs.SCHEDULER_STALL
    with app.app_context():
        session = new_session()
        recover_callbacks(session, get_queue(get_redis()), get_redis(), to_naive_utc(clock()))
        session.close()
    survivor = worker()
    try:
        wait_until(lambda: unsettled() == 0, timeout_s=120)
    finally:
        kill(survivor)
    phones = Counter(dialled())
    with app.app_context():
        session = new_session()
        outcomes = {c.phone: (c.status, [a.outcome for a in c.history]) for c in session.query(Callback)}
        session.close()
    assert len(outcomes) == count
    # An attempt a worker was killed in the middle of is found at the carrier (and waits for its
    # outcome) or, never placed, dialled afresh: each callback reached the customer once.
    assert {phone: outcome for phone, outcome in outcomes.items()
            if outcome != (CallbackStatus.RINGING, [""])} == {}
    assert set(phones) == set(outcomes) and set(phones.values()) == {1}


def test_a_due_time_between_seconds_is_scheduled_on_the_next_whole_one(app, clock):
    """RQ's scheduler keeps whole seconds, dropping the fraction: rounded up, a job never fires early."""
    with app.app_context():
        session = new_session()
        callback, _ = book_callback(session, phone="13800138000", slot="soonest", now=clock(), hours=HOURS,
                                    reason="test")
        due = clock() + timedelta(minutes=5, milliseconds=300)
        callback.due_at = to_naive_utc(due)
        session.commit()
        queue = get_queue(get_redis())
        schedule_callback(queue, callback)
        [job_id] = queue.scheduled_job_registry.get_job_ids()
        scheduled = queue.scheduled_job_registry.get_scheduled_time(job_id)
        session.close()
    assert scheduled == due.replace(microsecond=0) + timedelta(seconds=1)


def test_callback_statuses_are_declared_as_data():
    from callqueue.lifecycle import TRANSITIONS

    reachable = {CallbackStatus.SCHEDULED} | {target for _, target in TRANSITIONS.values()}
    assert reachable == set(CallbackStatus)
    for trigger, (sources, target) in TRANSITIONS.items():
        assert sources and target not in sources, trigger


def test_two_workers_cannot_both_take_an_attempt(app, clock):
    """Each move is one conditional UPDATE: the second worker to dial the same attempt is refused."""
    from callqueue.lifecycle import CallbackMoved, move

    with app.app_context():
        first, second = new_session(), new_session()
        callback, _ = book_callback(first, phone="13800138000", slot="soonest", now=clock(), hours=HOURS,
                                    reason="test")
        same = second.get(Callback, callback.id)
        move(first, callback, "dial", attempts=1)
        with pytest.raises(CallbackMoved):
            move(second, same, "dial", attempts=1)
        second.expire_all()
        assert (second.get(Callback, callback.id).status, second.get(Callback, callback.id).attempts) == (
            CallbackStatus.DIALLING, 1)
        first.close()
        second.close()


class Killed(BaseException):
    """The worker's process dies here (nothing after this line of it runs)."""


def kill_at(monkeypatch, death: str) -> None:
    """Make the next dial die at one point: before its DIALLING status is saved, before the carrier
    is reached, or after the carrier placed the call but before its RINGING status is saved."""
    import callqueue.jobs
    import ivr.telephony

    real_move, real_telephony = callqueue.jobs.move, ivr.telephony.get_telephony

    def move(session, callback, trigger, **fields):
        if (death, trigger) in (("claimed", "dial"), ("placed", "ring")):
            raise Killed
        return real_move(session, callback, trigger, **fields)

    class DyingCarrier:
        def place_call(self, **call):
            raise Killed

        def __getattr__(self, name):
            return getattr(real_telephony(), name)

    monkeypatch.setattr(callqueue.jobs, "move", move)
    if death == "dialling":
        monkeypatch.setattr(ivr.telephony, "get_telephony", DyingCarrier)
    return lambda: (monkeypatch.setattr(callqueue.jobs, "move", real_move),
                    monkeypatch.setattr(ivr.telephony, "get_telephony", real_telephony))


@pytest.mark.parametrize("death", ["claimed", "dialling", "placed"])
def test_a_worker_killed_at_any_point_of_a_dial_reaches_the_customer_once(app, clock, monkeypatch, death):
    from tests.test_webhooks import signed_post

    with app.app_context():
        session = new_session()
        callback, _ = book_callback(session, phone="13800138000", slot="soonest", now=clock(), hours=HOURS,
                                    reason="test")
        callback_id = callback.id
        queue = get_queue(get_redis())
        schedule_callback(queue, callback)
        session.close()
        get_redis().lpop(queue.key)  # the worker took the job from the queue, then died in it
        revive = kill_at(monkeypatch, death)
        with pytest.raises(Killed):
            dial_callback(callback_id)
        revive()
        clock.now += timedelta(minutes=3)
        session = new_session()  # the ticker's recovery pass, a while later
        assert recover_callbacks(session, queue, get_redis(), to_naive_utc(clock())) == 1
        session.close()
        while queue.count:  # the jobs recovery queued, as a worker would run them
            job = queue.dequeue_any([queue], None, connection=get_redis())[0]
            job.perform()
    [placed] = outbox(app)  # one call to the customer, whatever point the worker died at
    status, attempts, history, _ = load(app, callback_id)
    assert (status, attempts, history) == (CallbackStatus.RINGING, 1, [(1, "")])
    signed_post(app.test_client(), f"/voice/status?callback={callback_id}&attempt=1",
                {"CallSid": placed["sid"], "CallStatus": "completed"})
    assert load(app, callback_id)[:3] == (CallbackStatus.COMPLETED, 1, [(1, "completed")])
