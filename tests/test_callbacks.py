"""Callbacks: calling hours in Asia/Shanghai, slots, and RQ jobs run by a real worker."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from rq import Worker
from sqlalchemy import select

from callqueue.callbacks import book_callback, requested_time
from callqueue.hours import CallingHours
from callqueue.jobs import dial_callback, get_queue, reschedule_pending, schedule_callback
from callqueue.models import Callback, CallbackStatus
from database import new_session
from ivr.telephony import SIMULATOR_OUTBOX
from redis_conn import get_redis

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
    assert HOURS.next_opening(moment) == opening.astimezone(timezone.utc)


def test_weekdays_only_skips_the_weekend():
    weekdays = CallingHours(HOURS.start, HOURS.end, HOURS.zone, days=(0, 1, 2, 3, 4))
    friday_evening = shanghai(27, 19)
    assert weekdays.next_opening(friday_evening) == shanghai(30, 8, 30).astimezone(timezone.utc)


@pytest.mark.parametrize("text", ["8-18", "18:00-08:30", "08:30"])
def test_bad_hours_are_refused(text):
    with pytest.raises(ValueError):
        CallingHours.parse(text, "Asia/Shanghai")


def test_slots():
    morning = shanghai(24, 10)
    assert requested_time("soonest", morning, HOURS) == morning
    assert requested_time("afternoon", morning, HOURS) == shanghai(24, 14).astimezone(timezone.utc)
    assert requested_time("afternoon", shanghai(24, 16), HOURS) == shanghai(24, 16).astimezone(timezone.utc)
    assert requested_time("tomorrow_morning", morning, HOURS) == shanghai(25, 9).astimezone(timezone.utc)
    with pytest.raises(ValueError):
        requested_time("never", morning, HOURS)


@pytest.fixture
def booked(app, clock):
    """A callback due now (by the worker's real clock), stored and scheduled."""
    with app.app_context():
        session = new_session()
        callback, moved = book_callback(session, phone="13800138000", slot="soonest",
                                        now=clock(), hours=HOURS, reason="test")
        assert not moved
        callback.due_at = datetime.now(timezone.utc).replace(tzinfo=None)  # due now for the worker
        session.commit()
        schedule_callback(get_queue(get_redis()), callback)
        yield callback.id
        session.close()


def outbox(app):
    with app.app_context():
        return [json.loads(item) for item in get_redis().lrange(SIMULATOR_OUTBOX, 0, -1)]


def test_real_worker_with_scheduler_dials_due_callback(app, booked):
    with app.app_context():
        connection = get_redis()
        Worker([get_queue(connection)], connection=connection).work(burst=True, with_scheduler=True)
        session = new_session()
        callback = session.get(Callback, booked)
        assert callback.status is CallbackStatus.DIALLED and callback.attempts == 1
        session.close()
    calls = outbox(app)
    assert [c["to"] for c in calls] == ["13800138000"]
    assert calls[0]["url"].endswith(f"/voice/callback/{booked}")
    assert calls[0]["sid"] == callback.outbound_call_sid


def test_a_job_delivered_twice_dials_once(app, booked):
    with app.app_context():
        assert dial_callback(booked) == "dialled"
        assert dial_callback(booked) == "skipped"
    assert len(outbox(app)) == 1


def test_callbacks_lost_from_redis_are_rescheduled(app, booked):
    with app.app_context():
        connection = get_redis()
        connection.flushdb()
        session = new_session()
        assert reschedule_pending(session, get_queue(connection)) == 1
        assert reschedule_pending(session, get_queue(connection)) == 0
        session.close()
        assert get_queue(connection).scheduled_job_registry.get_job_ids() == [f"callback-{booked}-attempt-1"]


def test_carrier_refusal_is_recorded_not_lost(app, booked, monkeypatch):
    import ivr.telephony

    class Refusing:
        def place_call(self, **_):
            raise RuntimeError("carrier said no")

    monkeypatch.setattr(ivr.telephony, "get_telephony", lambda: Refusing())
    with app.app_context():
        assert dial_callback(booked) == "failed"
        session = new_session()
        callback = session.scalar(select(Callback))
        assert callback.last_error == "carrier said no"
        session.close()


def test_answered_callback_greets_and_joins_the_agent_queue(client, booked):
    from tests.test_webhooks import signed_post

    response = signed_post(client, f"/voice/callback/{booked}", {"CallSid": "CA" + "5" * 32, "To": "13800138000"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "您预约的回电已接通" in body and "<Enqueue" in body and ">agents</Enqueue>" in body
