"""The toll-fraud guard: callbacks are booked and dialled only to the destinations the hotline
calls (mainland mobiles and landlines by default), and to one number a few times a day at most."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from callqueue.callbacks import book_callback
from callqueue.destinations import CallbackRefused, Destinations, e164, from_config
from callqueue.jobs import dial_callback
from callqueue.models import Callback, CallbackStatus
from clock import to_naive_utc
from config import SETTINGS
from database import new_session
from tests.test_callbacks import HOURS, outbox
from tests.test_calls import heard, record_of
from tests.test_console_security import signed_in
from tracking.service import normalise_phone

DEFAULT = from_config({"CALLBACK_DESTINATIONS": SETTINGS["CALLBACK_DESTINATIONS"][0],
                       "CALLBACKS_PER_NUMBER_PER_DAY": 3})
PREMIUM = "+19005551234"


@pytest.mark.parametrize("phone, in_e164", [
    ("13800138000", "+8613800138000"),
    ("+86 138-0013-8000", "+8613800138000"),
    ("0086 21 6234 5678", "+862162345678"),
    ("021-62345678", "+862162345678"),
    ("+1 900 555 1234", PREMIUM),
    ("0019005551234", PREMIUM),
])
def test_e164(phone, in_e164):
    assert e164(phone) == in_e164


@pytest.mark.parametrize("phone, allowed", [
    ("13800138000", True),          # a mobile
    ("19912345678", True),
    ("02162345678", True),          # a Shanghai landline
    ("01062345678", True),          # Beijing
    ("075512345678", True),         # Shenzhen, eight digits
    ("12345678901", False),         # no mobile starts 12
    ("4008000000", False),          # a shared-cost 400 line
    ("08001234567", False),         # a free-phone 800 line (the caller does not pay; we would)
    (PREMIUM, False),               # a US premium-rate number
    ("+442071234567", False),       # abroad
    ("+86138001380001", False),     # a digit too many
])
def test_the_default_destinations(phone, allowed):
    assert (DEFAULT.why_not(phone) is None) is allowed
    assert (DEFAULT.why_not(normalise_phone(phone)) is None) is allowed


def test_a_bad_pattern_fails_at_start():
    with pytest.raises(Exception, match="unterminated|missing"):
        from_config({"CALLBACK_DESTINATIONS": r"\+86(1", "CALLBACKS_PER_NUMBER_PER_DAY": 3})


def test_the_daily_cap_counts_the_last_24_hours(app, clock):
    destinations = Destinations(DEFAULT.patterns, per_number_per_day=2)
    with app.app_context():
        session = new_session()
        for _ in range(2):
            book_callback(session, phone="13800138000", slot="soonest", now=clock(), hours=HOURS,
                          reason="test", destinations=destinations)
        session.commit()
        with pytest.raises(CallbackRefused, match="2 callbacks to this number in the last 24 hours"):
            book_callback(session, phone="13800138000", slot="soonest", now=clock(), hours=HOURS,
                          reason="test", destinations=destinations)
        book_callback(session, phone="13900001111", slot="soonest", now=clock(), hours=HOURS,
                      reason="test", destinations=destinations)           # another number is not capped
        book_callback(session, phone="13800138000", slot="soonest", now=clock() + timedelta(days=1, minutes=1),
                      hours=HOURS, reason="test", destinations=destinations)   # nor the same one tomorrow
        session.close()


def test_a_premium_caller_asking_for_a_callback_is_offered_another_number_or_an_agent(call, app):
    result = call("3", "1", "1", caller="+1 900 555 1234")
    assert "抱歉，这个号码无法预约回电。换一个手机号码请按1，转人工客服请按0" in heard(result)
    with app.app_context():
        session = new_session()
        assert session.scalar(select(func.count(Callback.id))) == 0
        session.close()
    assert record_of(app, result).outcome != "callback_booked"


def test_the_console_refuses_a_premium_number_and_a_fourth_callback_today(app, runner, demo_parcels):
    assert runner.invoke(args=["agents", "add", "wang", "--role", "agent", "--password", "s3cret-pass"]).exit_code == 0
    console = signed_in(app, "wang")
    response = console.post("/console/api/callbacks", json={"phone": "+1 900 555 1234", "slot": "soonest"})
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("no callback booked: the number is outside the destinations")
    assert "9005551234" not in response.get_json()["error"]
    for _ in range(3):
        assert console.post("/console/api/callbacks", json={"phone": "13800138000", "slot": "soonest"}).status_code == 200
    fourth = console.post("/console/api/callbacks", json={"phone": "13800138000", "slot": "soonest"})
    assert fourth.status_code == 400
    assert "3 callbacks to this number in the last 24 hours already" in fourth.get_json()["error"]


def test_the_cli_refuses_a_premium_number(runner):
    result = runner.invoke(args=["callbacks", "book", PREMIUM, "--slot", "soonest"])
    assert result.exit_code != 0 and "outside the destinations" in result.output


def test_a_worker_never_dials_a_refused_number_written_straight_to_the_database(app, clock):
    with app.app_context():
        session = new_session()
        now = to_naive_utc(clock())   # the hotline's clock: the worker reads it too
        callback = Callback(phone=PREMIUM, status=CallbackStatus.SCHEDULED, due_at=now - timedelta(seconds=1),
                            requested_at=now, created_at=now, slot="soonest", reason="smuggled")
        session.add(callback)
        session.commit()
        assert dial_callback(callback.id) == "cancelled"
        session.refresh(callback)
        assert callback.last_error == "the number is outside the destinations the hotline calls"
        session.close()
    assert outbox(app) == []
