"""Degrade, never strand: with Redis or the database out of reach a caller still reaches a
person (the app's own agents' line, or the overflow number) or a promise (a callback kept in
SQL), never a Twilio queue nobody serves; a call's end is written now or later, never lost."""
from __future__ import annotations

from sqlalchemy import select, text

from callqueue.jobs import get_queue, recover_callbacks
from callqueue.models import Callback, CallbackStatus
from calls import get_calls
from calls.records import CallRecord
from clock import to_naive_utc
from database import new_session
from redis_conn import get_redis
from tests.test_webhooks import INCOMING, signed_post

REDIS_DOWN = "redis://127.0.0.1:1/0"


def test_redis_out_of_reach_holds_the_caller_and_tries_again(make_app):
    app = make_app(REDIS_URL=REDIS_DOWN)
    body = signed_post(app.test_client(), "/voice/incoming", INCOMING).get_data(as_text=True)
    assert "系统暂时出现问题" in body
    assert "<Enqueue" not in body  # no Twilio queue that the app's agents never see
    assert "<Pause" in body and "/voice/rejoin?tries=1" in body


def test_redis_out_of_reach_with_an_overflow_number_dials_it(make_app):
    app = make_app(REDIS_URL=REDIS_DOWN, OVERFLOW_NUMBER="+862100000000")
    body = signed_post(app.test_client(), "/voice/incoming", INCOMING).get_data(as_text=True)
    assert "<Dial>+862100000000</Dial>" in body


def test_a_long_outage_ends_in_a_callback_that_is_kept_once_redis_is_back(make_app, redis_url, clock):
    down = make_app(REDIS_URL=REDIS_DOWN, REJOIN_TRIES=2)
    client = down.test_client()
    assert "/voice/rejoin?tries=2" in signed_post(client, "/voice/rejoin?tries=1", INCOMING).get_data(as_text=True)
    body = signed_post(client, "/voice/rejoin?tries=2", INCOMING).get_data(as_text=True)
    assert "我们已为您预约回电" in body and "<Hangup" in body
    back = make_app(DATABASE_URL=down.config["DATABASE_URL"])  # the same database, Redis running again
    with back.app_context():
        session = new_session()
        [callback] = session.scalars(select(Callback)).all()
        assert (callback.phone, callback.reason, callback.status) == ("13800138000", "outage", CallbackStatus.SCHEDULED)
        assert recover_callbacks(session, get_queue(get_redis()), get_redis(), to_naive_utc(clock())) == 1
        session.close()


def test_when_the_agents_line_is_back_the_held_caller_joins_it(app, client, demo_parcels):
    body = signed_post(client, "/voice/rejoin?tries=3", INCOMING).get_data(as_text=True)
    assert "<Enqueue" in body
    with app.app_context():
        assert get_calls().acd().call(INCOMING["CallSid"])["status"] == "waiting"  # the ACD offers it to agents


def test_a_caller_who_rejoined_the_line_is_not_swept_as_gone_from_the_ivr(app, client, demo_parcels, clock):
    signed_post(client, "/voice/incoming", INCOMING)  # in the IVR when the step failed
    signed_post(client, "/voice/rejoin?tries=1", INCOMING)
    on_hold_for = 0
    with app.app_context():
        calls = get_calls()
        while on_hold_for <= app.config["CALL_IDLE_END_SECONDS"]:
            clock.advance(app.config["QUEUE_ANNOUNCE_SECONDS"])
            on_hold_for += app.config["QUEUE_ANNOUNCE_SECONDS"]
            hold = signed_post(client, "/voice/queue-wait", {"CallSid": INCOMING["CallSid"]}).get_data(as_text=True)
            assert "<Hangup" not in hold
            assert calls.sweep() == 0
        assert calls.acd().call(INCOMING["CallSid"])["status"] == "waiting"


def break_table(app, table: str, broken: bool) -> None:
    with app.app_context():
        session = new_session()
        old, new = (table, f"{table}_away") if broken else (f"{table}_away", table)
        session.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
        session.commit()
        session.close()


def test_a_call_end_that_cannot_be_written_now_is_written_later(app, client, demo_parcels):
    signed_post(client, "/voice/incoming", INCOMING)
    break_table(app, "call_records", broken=True)
    response = signed_post(client, "/voice/status", {"CallSid": INCOMING["CallSid"], "CallStatus": "completed"})
    assert response.status_code == 204  # the session was ended; its record waits in Redis
    break_table(app, "call_records", broken=False)
    with app.app_context():
        assert get_calls().replay_ended() == 1
        session = new_session()
        record = session.scalar(select(CallRecord).where(CallRecord.call_sid == INCOMING["CallSid"]))
        session.close()
    assert record.carrier_status == "completed"


def test_a_status_callback_is_never_silently_accepted(app, client, demo_parcels):
    signed_post(client, "/voice/incoming", INCOMING)
    break_table(app, "callback_attempts", broken=True)  # the first thing the end writes
    response = signed_post(client, "/voice/status", {"CallSid": INCOMING["CallSid"], "CallStatus": "completed"})
    assert response.status_code == 202  # kept for the ticker
    break_table(app, "callback_attempts", broken=False)
    with app.app_context():
        assert get_calls().replay_ended() == 1
        assert get_calls().load(INCOMING["CallSid"]) is None
    down = signed_post(app.test_client(), "/voice/status", {"CallSid": "CA" + "9" * 32, "CallStatus": "completed"})
    assert down.status_code == 204  # an unknown call's end is simply nothing to do


def test_a_status_callback_nothing_can_keep_is_refused(make_app):
    app = make_app(REDIS_URL=REDIS_DOWN)
    break_table(app, "callback_attempts", broken=True)
    response = signed_post(app.test_client(), "/voice/status", {"CallSid": INCOMING["CallSid"],
                                                                  "CallStatus": "completed"})
    assert response.status_code == 503


def test_the_local_carrier_holds_its_calls_while_redis_is_out_of_reach(make_app):
    # Its answer is "nothing yet, ask again", never the callers' apology read as a redirect URL.
    app = make_app(REDIS_URL=REDIS_DOWN, LOCAL_CARRIER=True)
    client = app.test_client()
    for path in ("/voice/simulator/redirect", "/voice/simulator/outbound"):
        response = signed_post(client, path, INCOMING)
        assert response.status_code == 503 and "<Response" not in response.get_data(as_text=True)


def test_a_callback_due_while_the_database_is_away_is_dialled_once_it_is_back(app, clock):
    from callqueue.callbacks import book_callback
    from callqueue.jobs import claim_key, current_job_key, dial_callback

    with app.app_context():
        session = new_session()
        callback, _ = book_callback(session, phone="13800138000", slot="soonest", now=clock(),
                                    hours=app.extensions["calling_hours"], reason="outage")
        session.close()
        break_table(app, "callback_attempts", broken=True)  # fails after the attempt is claimed
        assert dial_callback(callback.id) == "db_retry"
        assert not get_redis().exists(claim_key(callback.id, 1))  # nothing was dialled: the claim goes
        retry = get_redis().get(current_job_key(callback.id)).decode()
        assert "-db-retry-" in retry and retry in get_queue(get_redis()).scheduled_job_registry.get_job_ids()
        break_table(app, "callback_attempts", broken=False)
        assert dial_callback(callback.id) == "ringing"  # the retry job, run as RQ would
        assert dial_callback(callback.id) == "skipped"  # and never twice
