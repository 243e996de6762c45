"""The ACD on a real Redis: skills, longest idle first, priority without starvation, RONA,
wrap-up, keeping one's place by callback, and refusals that change nothing."""
from __future__ import annotations

import pytest

from callqueue.acd import KEPT_PLACE_RETRY_S, OFFER_TIMEOUT_S, AcdError, AgentState, CallStatus, Distributor, skill
from redis_conn import get_redis

ZH = "zh-CN"


@pytest.fixture
def acd(app):
    with app.app_context():
        yield Distributor(get_redis(), wrap_up_s=10)


def staff(acd, now=0.0):
    acd.register_agent("damage-desk", languages=[ZH], categories=["damaged", "lost"])
    acd.register_agent("delay-desk", languages=[ZH], categories=["delayed"])
    acd.register_agent("english", languages=["en-US"], categories=["damaged", "delayed"])
    for offset, agent in enumerate(["delay-desk", "damage-desk", "english"]):
        acd.set_state(agent, AgentState.AVAILABLE, now + offset)  # delay-desk idle longest


def test_each_call_reaches_a_qualified_agent(acd):
    staff(acd)
    assert acd.enqueue("CA1", skill(ZH, "lost"), 10)[0].agent_id == "damage-desk"
    assert acd.enqueue("CA2", skill("en-US", "delayed"), 11)[0].agent_id == "english"
    assert acd.enqueue("CA3", skill(ZH, "damaged"), 12) == []       # damage-desk is busy: CA3 waits
    assert acd.enqueue("CA4", skill(ZH, "delayed"), 13)[0].agent_id == "delay-desk"


def test_longest_idle_qualified_agent_first(acd):
    staff(acd)
    assert acd.enqueue("CA1", skill(ZH), 10)[0].agent_id == "delay-desk"   # general: all zh agents
    assert acd.enqueue("CA2", skill(ZH), 11)[0].agent_id == "damage-desk"


def test_a_freed_agent_takes_the_longest_waiting_call_of_their_skills(acd):
    staff(acd)
    acd.set_state("damage-desk", AgentState.BREAK, 5)
    acd.enqueue("CA-lost", skill(ZH, "lost"), 10)
    acd.enqueue("CA-damaged", skill(ZH, "damaged"), 12)
    offers = acd.set_state("damage-desk", AgentState.AVAILABLE, 20)
    assert [o.call_sid for o in offers] == ["CA-lost"]
    assert acd.position("CA-damaged") == 1


def test_ten_complaint_callers_and_three_agents(acd):
    staff(acd)
    pending = []
    for n in range(10):
        category = ["damaged", "lost", "delayed"][n % 3]
        pending += acd.enqueue(f"CA{n}", skill(ZH, category), 100 + n)
    served, now = [], 200.0
    while pending:
        for offer in pending:  # each agent answers their offer, talks, hangs up
            acd.accept(offer.agent_id, offer.call_sid, now)
            acd.finish(offer.agent_id, now + 1)
        served += pending
        now += 20
        pending = acd.tick(now, ["damage-desk", "delay-desk", "english"])
    assert len(served) == 10
    for offer in served:
        category = acd.call(offer.call_sid)["skill"].split(":")[1]
        assert offer.agent_id == ("delay-desk" if category == "delayed" else "damage-desk")
    # Within each skill, callers were served in the order they arrived.
    for category in ("damaged", "lost", "delayed"):
        order = [int(o.call_sid[2:]) for o in served if acd.call(o.call_sid)["skill"].endswith(category)]
        assert order == sorted(order)


def test_priority_goes_ahead_but_only_by_its_head_start(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA-early", skill(ZH), 0)
    acd.enqueue("CA-late", skill(ZH), 100)
    acd.enqueue("CA-vip", skill(ZH), 50, priority=("escalated",))   # head start 120 s: ahead of both
    acd.enqueue("CA-repeat", skill(ZH), 200, priority=("repeat_caller",))  # 60 s: not ahead of CA-late
    order = []
    acd.set_state("a", AgentState.AVAILABLE, 300)
    for now in range(301, 305):
        offer = acd.decisions(1)[0]
        order.append(offer["call"])
        acd.accept("a", offer["call"], now)
        acd.finish("a", now)
        acd.tick(now + 10, ["a"])
    assert order == ["CA-vip", "CA-early", "CA-late", "CA-repeat"]


def test_rona_passes_the_offer_on_and_keeps_the_callers_place(acd):
    staff(acd)
    offer = acd.enqueue("CA1", skill(ZH), 10)[0]
    assert offer.agent_id == "delay-desk"
    assert acd.tick(10 + OFFER_TIMEOUT_S - 1, ["delay-desk"]) == []
    moved = acd.tick(10 + OFFER_TIMEOUT_S, ["delay-desk"])
    assert [(o.call_sid, o.agent_id) for o in moved] == [("CA1", "damage-desk")]
    assert acd.agent("delay-desk")["state"] == AgentState.NOT_RESPONDING.value
    with pytest.raises(AcdError, match="not on offer"):
        acd.accept("delay-desk", "CA1", 30)                            # accept after RONA
    acd.accept("damage-desk", "CA1", 31)
    with pytest.raises(AcdError, match="not on offer"):
        acd.accept("damage-desk", "CA1", 32)                           # double accept
    assert acd.call("CA1")["status"] == CallStatus.CONNECTED.value


def test_keeping_ones_place_by_callback(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA-first", skill(ZH), 0)
    acd.enqueue("CA-second", skill(ZH), 5)
    acd.keep_place("CA-first", 30)                       # hangs up, keeps place
    offers = acd.set_state("a", AgentState.AVAILABLE, 60)
    assert offers == [type(offers[0])("CA-first", "a", skill(ZH), True)]   # the agent is reserved; dial them
    assert acd.call("CA-first")["status"] == CallStatus.CALLBACK_DUE.value
    assert acd.position("CA-second") == 1                # nobody behind overtook
    # The customer does not answer in time: the reservation lapses, the place is kept.
    acd.tick(60 + OFFER_TIMEOUT_S, ["a"])
    assert acd.call("CA-first")["status"] == CallStatus.CALLBACK_WAITING.value
    assert acd.position("CA-first") == 1


def test_wrap_up_then_available(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.set_state("a", AgentState.AVAILABLE, 0)
    acd.enqueue("CA1", skill(ZH), 1)
    acd.accept("a", "CA1", 2)
    acd.finish("a", 100)
    acd.enqueue("CA2", skill(ZH), 101)
    assert acd.agent("a")["state"] == AgentState.WRAP_UP.value
    assert [o.call_sid for o in acd.tick(110, ["a"])] == ["CA2"]


def test_abandoned_calls_leave_the_line(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA1", skill(ZH), 0)
    acd.enqueue("CA2", skill(ZH), 1)
    acd.abandon("CA1", 5)
    assert acd.position("CA2") == 1
    assert acd.call("CA1")["status"] == CallStatus.ABANDONED.value
    assert [d["decision"] for d in acd.decisions()][:1] == ["abandoned"]


def test_refusals_change_nothing(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    with pytest.raises(AcdError, match="unknown agent"):
        acd.set_state("ghost", AgentState.AVAILABLE, 0)
    with pytest.raises(AcdError, match="cannot set themselves"):
        acd.set_state("a", AgentState.ON_CALL, 0)
    acd.enqueue("CA1", skill(ZH), 0)
    with pytest.raises(AcdError, match="already queued"):
        acd.enqueue("CA1", skill(ZH), 1)
    with pytest.raises(AcdError, match="unknown call"):
        acd.position("CA-none")
    acd.set_state("a", AgentState.AVAILABLE, 2)
    with pytest.raises(AcdError, match="finish that first"):
        acd.set_state("a", AgentState.BREAK, 3)
    assert acd.agent("a")["state"] == AgentState.OFFERED.value and acd.call("CA1")["agent"] == "a"


def test_state_survives_a_new_distributor(acd, app):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA1", skill(ZH), 0)
    with app.app_context():
        restarted = Distributor(get_redis())
    assert restarted.position("CA1") == 1
    assert restarted.set_state("a", AgentState.AVAILABLE, 5)[0].call_sid == "CA1"


def test_at_scale_no_call_is_misrouted_lost_or_starved(capsys):
    """The benchmark's scenario, small: many agents and callers, thousands of decisions."""
    from bench.queue import main

    figures = main(["--waiting", "60", "--agents", "12", "--decisions", "400"])
    assert (figures["misroutes"], figures["lost_calls"], figures["starved"]) == (0, 0, 0)
    assert figures["decisions"] >= 400


def test_a_kept_place_callback_not_answered_keeps_the_place_within_limits(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.register_agent("b", languages=[ZH], categories=[])
    acd.enqueue("CA-kept", skill(ZH), 0)
    acd.enqueue("CA-next", skill(ZH), 5)
    acd.keep_place("CA-kept", 10)
    offer = acd.set_state("a", AgentState.AVAILABLE, 20)[0]
    acd.accept("a", offer.call_sid, 21)                     # the agent is reserved; the customer is dialled
    offers = acd.callback_unanswered("CA-kept", 40)          # ... and does not answer
    assert [o.call_sid for o in offers] == ["CA-next"]       # the freed agent takes the next caller meanwhile
    acd.accept("a", "CA-next", 41)
    assert acd.tick(40 + KEPT_PLACE_RETRY_S - 1, ["a", "b"]) == []
    acd.set_state("b", AgentState.AVAILABLE, 150)
    offers = acd.tick(40 + KEPT_PLACE_RETRY_S, ["a", "b"])  # later: back in line with the place it had
    assert [(o.call_sid, o.agent_id, o.callback) for o in offers] == [("CA-kept", "b", True)]
    assert acd.call("CA-kept")["status"] == CallStatus.CALLBACK_DUE.value
    acd.accept("b", "CA-kept", 161)
    acd.callback_unanswered("CA-kept", 170)
    acd.tick(170 + KEPT_PLACE_RETRY_S, ["a", "b"])
    acd.accept("b", "CA-kept", 171 + KEPT_PLACE_RETRY_S)
    acd.enqueue("CA-third", skill(ZH), 300)
    offers = acd.callback_unanswered("CA-kept", 400)         # third time: the place is given up
    assert acd.call("CA-kept")["status"] == CallStatus.ABANDONED.value
    assert [o.call_sid for o in offers] == ["CA-third"]
    assert "kept_place_given_up" in [d["decision"] for d in acd.decisions(5)]
