"""A call's life whatever order the carrier's callbacks come in: the status callback, the
queue's exit and wait requests, the dial action; a caller who hangs up while waiting is never
offered to an agent, and callers whose end is never reported are swept."""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from callqueue.acd import skill
from calls import Phase, get_calls
from calls.records import CallRecord
from database import new_session
from tests.test_webhooks import signed_post
from tracking.demo import DEMO_CALLER

LINE = skill("zh-CN")


def to_agents(client, sid: str, caller: str = DEMO_CALLER) -> str:
    """Ring the hotline and press 0 for an agent: the caller waits in the general line."""
    signed_post(client, "/voice/incoming", {"CallSid": sid, "From": caller, "To": "4008000000"})
    return signed_post(client, "/voice/step", {"CallSid": sid, "Digits": "0"}).get_data(as_text=True)


def acd_status(app, sid: str) -> str:
    with app.app_context():
        return get_calls().acd().call(sid)["status"]


def record_of(app, sid: str) -> CallRecord | None:
    with app.app_context():
        session = new_session()
        record = session.scalar(select(CallRecord).where(CallRecord.call_sid == sid))
        session.close()
    return record


def wallboard(client) -> dict:
    return client.get("/console/api/wallboard").get_json()


@pytest.fixture
def supervisor(app, client, runner):
    runner.invoke(args=["agents", "add", "lead", "--name", "李主管", "--password", "pw-lead-1", "--role", "supervisor"])
    runner.invoke(args=["agents", "add", "wang", "--name", "王小明", "--password", "pw-wang-1",
                        "--languages", "zh-CN", "--skills", "damaged"])
    assert client.post("/console/api/login", json={"username": "lead", "password": "pw-lead-1"}).status_code == 200
    return client


HANG_UP = {
    "status": lambda client, sid: signed_post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed"}),
    "queue_exit": lambda client, sid: signed_post(client, "/voice/queue-exit", {"CallSid": sid, "QueueResult": "hangup"}),
    "queue_wait": lambda client, sid: signed_post(client, "/voice/queue-wait", {"CallSid": sid}),
    "dial_action": lambda client, sid: signed_post(client, "/voice/agent-call-ended",
                                                   {"CallSid": sid, "DialCallStatus": "no-answer"}),
}


@pytest.mark.parametrize("order", list(itertools.permutations(HANG_UP)))
def test_a_caller_hanging_up_in_the_queue_ends_the_same_whatever_order_the_callbacks_come_in(
        app, client, demo_parcels, order):
    sid = "CA" + "7" * 32
    assert "<Enqueue" in to_agents(client, sid)
    for callback in order:
        response = HANG_UP[callback](client, sid)
        assert response.status_code in (200, 204)
    assert acd_status(app, sid) == "abandoned"
    record = record_of(app, sid)
    assert (record.outcome, record.carrier_status) == ("abandoned", "completed")
    with app.app_context():
        calls = get_calls()
        assert calls.load(sid) is None and calls.acd().waiting_count(LINE) == 0
        assert calls.store.count(Phase.QUEUED, calls.stamp()) == 0


def test_callbacks_after_the_end_never_bring_the_call_back(app, client, demo_parcels):
    sid = "CA" + "8" * 32
    to_agents(client, sid)
    HANG_UP["status"](client, sid)
    for late in ("/voice/step", "/voice/stream-ended", "/voice/queue-exit", "/voice/agent-call-ended"):
        body = signed_post(client, late, {"CallSid": sid, "Digits": "1"}).get_data(as_text=True)
        assert "<Enqueue" not in body and "<Gather" not in body
    body = HANG_UP["queue_wait"](client, sid).get_data(as_text=True)
    assert "<Hangup" in body  # a late hold-music fetch for an ended call: nothing to wait for
    HANG_UP["status"](client, sid)  # a repeated status callback changes nothing
    with app.app_context():
        assert get_calls().load(sid) is None
    assert signed_post(client, "/voice/incoming", {"CallSid": sid, "From": DEMO_CALLER}).get_data(
        as_text=True).count("<Hangup") == 1  # a retried answer for an ended call does not start it again


def test_a_caller_who_hung_up_while_waiting_is_never_offered(app, supervisor, demo_parcels, clock):
    client = supervisor
    gone, staying = "CA" + "1" * 32, "CA" + "2" * 32
    to_agents(client, gone)
    clock.now += timedelta(seconds=5)
    to_agents(client, staying, caller="13912345678")
    board = wallboard(client)
    assert (board["waiting"], board["in_ivr"]) == (2, 0)
    HANG_UP["status"](client, gone)  # the status callback alone: Twilio never sent the queue's exit
    assert (wallboard(client)["waiting"], wallboard(client)["in_ivr"]) == (1, 0)
    with app.app_context():
        [offer] = get_calls().acd().set_state("wang", _available(), clock().timestamp())
    assert offer.call_sid == staying


def _available():
    from callqueue.acd import AgentState

    return AgentState.AVAILABLE


def test_a_caller_hanging_up_while_their_agent_rings_frees_the_agent(app, supervisor, demo_parcels, clock):
    client = supervisor
    sid, next_sid = "CA" + "3" * 32, "CA" + "4" * 32
    to_agents(client, sid)
    to_agents(client, next_sid, caller="13912345678")
    with app.app_context():
        acd = get_calls().acd()
        [offer] = acd.set_state("wang", _available(), clock().timestamp())
        assert offer.call_sid == sid
    HANG_UP["status"](client, sid)
    with app.app_context():
        agent = get_calls().acd().agent("wang")
    assert (agent["state"], agent["call"]) == ("offered", next_sid)  # freed, and offered the next caller


def test_callers_whose_end_is_never_reported_are_swept(app, supervisor, demo_parcels, clock):
    client = supervisor
    queued, in_ivr = "CA" + "5" * 32, "CA" + "6" * 32
    to_agents(client, queued)
    signed_post(client, "/voice/incoming", {"CallSid": in_ivr, "From": DEMO_CALLER})
    assert (wallboard(client)["waiting"], wallboard(client)["in_ivr"]) == (1, 1)
    with app.app_context():
        calls = get_calls()
        clock.now += timedelta(seconds=app.config["QUEUE_ANNOUNCE_SECONDS"])
        HANG_UP["queue_wait"](client, queued)  # still on hold: a sign of life
        assert calls.sweep() == 0
        clock.now += timedelta(seconds=app.config["QUEUE_STALE_SECONDS"] + 1)
        assert calls.sweep() == 1  # the hold music stopped being fetched: the caller has gone
        assert (wallboard(client)["waiting"], wallboard(client)["in_ivr"]) == (0, 1)
        clock.now += timedelta(seconds=app.config["CALL_IDLE_END_SECONDS"])
        assert calls.sweep() == 1  # no step in the IVR for far longer than any question waits
    assert (wallboard(client)["waiting"], wallboard(client)["in_ivr"]) == (0, 0)
    assert record_of(app, queued).carrier_status == "lost" and record_of(app, queued).outcome == "abandoned"
    assert record_of(app, in_ivr).carrier_status == "lost"


def test_queue_position_counts_the_callers_ahead(app, client, demo_parcels, clock):
    first, second = "CA" + "a" * 32, "CA" + "b" * 32
    to_agents(client, first)
    clock.now += timedelta(seconds=1)
    to_agents(client, second, caller="13912345678")
    alone = HANG_UP["queue_wait"](client, first).get_data(as_text=True)
    assert "下一位就是您" not in alone and "前面还有" not in alone and "目前暂无客服在线" in alone
    assert "您前面还有1位客户。" in HANG_UP["queue_wait"](client, second).get_data(as_text=True)
    with app.app_context():  # one agent signs in, on a break: on duty, so there is a wait to estimate
        from callqueue.acd import AgentState

        acd = get_calls().acd()
        acd.register_agent("li", languages=["zh-CN"], categories=[])
        acd.set_state("li", AgentState.BREAK, clock().timestamp())
    assert "下一位就是您，预计等待3分钟" in HANG_UP["queue_wait"](client, first).get_data(as_text=True)
    assert "您前面还有1位客户，预计等待6分钟" in HANG_UP["queue_wait"](client, second).get_data(as_text=True)


def test_an_outbound_callback_joins_the_queue_with_the_customers_number(app, client, demo_parcels):
    from callqueue.callbacks import book_callback

    with app.app_context():
        session = new_session()
        callback, _ = book_callback(session, phone="13912345678", slot="soonest", now=app.config["CLOCK"](),
                                    hours=app.extensions["calling_hours"], reason="test")
        callback_id = callback.id
        session.close()
    sid = "CA" + "c" * 32
    body = signed_post(client, f"/voice/callback/{callback_id}",
                       {"CallSid": sid, "From": "+864008000000", "To": "13912345678"}).get_data(as_text=True)
    while "<Enqueue" not in body:  # the callback flow greets the customer, then brings them to an agent
        assert "<Gather" in body, body
        body = signed_post(client, "/voice/step?event=timeout", {"CallSid": sid}).get_data(as_text=True)
    with app.app_context():
        assert get_calls().acd().call(sid)["phone"] == "13912345678"
