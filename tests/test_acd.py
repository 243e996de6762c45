"""The ACD on a real Redis: skills, longest idle first, priority without starvation, RONA,
wrap-up, keeping one's place by callback, hang-ups in any order, refusals that change nothing,
and many processes routing at once."""
from __future__ import annotations

import threading
import time

import pytest
import redis

from callqueue import acd as acd_module
from callqueue.acd import (
    AGENT_TRANSITIONS,
    CALL_TRANSITIONS,
    KEPT_PLACE_RETRY_S,
    OFFER_TIMEOUT_S,
    AcdError,
    AgentState,
    CallStatus,
    Distributor,
    skill,
)
from redis_conn import get_redis
from tests.conftest import wait_until

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
    assert acd.ahead("CA-damaged") == 0


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
        pending = acd.tick(now)
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
        acd.tick(now + 10)
    assert order == ["CA-vip", "CA-early", "CA-late", "CA-repeat"]


def test_rona_passes_the_offer_on_and_keeps_the_callers_place(acd):
    staff(acd)
    offer = acd.enqueue("CA1", skill(ZH), 10)[0]
    assert offer.agent_id == "delay-desk"
    assert acd.tick(10 + OFFER_TIMEOUT_S - 1) == []
    moved = acd.tick(10 + OFFER_TIMEOUT_S)
    assert [(o.call_sid, o.agent_id) for o in moved] == [("CA1", "damage-desk")]
    assert acd.agent("delay-desk")["state"] == AgentState.NOT_RESPONDING.value
    with pytest.raises(AcdError, match="not on offer"):
        acd.accept("delay-desk", "CA1", 30)                            # accept after RONA
    acd.accept("damage-desk", "CA1", 31)
    with pytest.raises(AcdError, match="not on offer"):
        acd.accept("damage-desk", "CA1", 32)                           # double accept
    assert acd.call("CA1")["status"] == CallStatus.CONNECTED.value


def test_a_transfer_hands_the_caller_on_ahead_of_later_callers_and_wraps_the_agent_up(acd):
    staff(acd)
    acd.set_state("english", AgentState.OFFLINE, 3)
    acd.enqueue("CA1", skill(ZH, "delayed"), 10)                       # delay-desk takes it
    acd.accept("delay-desk", "CA1", 11)
    acd.set_state("damage-desk", AgentState.BREAK, 12)
    assert acd.enqueue("CA2", skill(ZH, "damaged"), 20) == []          # waits: nobody on the damaged line
    assert acd.transfer("delay-desk", "CA1", 30, line=skill(ZH, "damaged")) == []
    assert acd.agent("delay-desk")["state"] == AgentState.WRAP_UP.value
    entry = acd.call("CA1")
    assert (entry["status"], entry["skill"], entry["transferred_from"]) == ("waiting", "zh-CN:damaged", "delay-desk")
    assert acd.ahead("CA1") == 0                                       # ahead of CA2, who called later
    offer = acd.set_state("damage-desk", AgentState.AVAILABLE, 40)[0]
    assert (offer.call_sid, offer.agent_id, offer.skill) == ("CA1", "damage-desk", "zh-CN:damaged")
    # Newest first: the first agent's handling counts as a call they finished.
    assert [d["decision"] for d in acd.decisions() if d.get("call") == "CA1"][:3] == ["offered", "transferred",
                                                                                      "finished"]


def test_a_transfer_to_a_colleague_offers_them_the_call_or_is_refused(acd):
    staff(acd)
    acd.enqueue("CA1", skill(ZH, "delayed"), 10)
    acd.accept("delay-desk", "CA1", 11)
    acd.set_state("english", AgentState.BREAK, 12)
    for colleague in ("english", "nobody", "delay-desk"):              # not available, unknown, themselves
        with pytest.raises(AcdError, match="not available"):
            acd.transfer("delay-desk", "CA1", 13, to_agent=colleague)
    with pytest.raises(AcdError, match="not connected"):
        acd.transfer("damage-desk", "CA1", 13, to_agent="english")      # not their call
    assert acd.call("CA1")["status"] == CallStatus.CONNECTED.value     # refusals changed nothing
    offer = acd.transfer("delay-desk", "CA1", 14, to_agent="damage-desk")[0]
    assert (offer.call_sid, offer.agent_id, offer.skill) == ("CA1", "damage-desk", "zh-CN:delayed")
    assert acd.agent("delay-desk")["state"] == AgentState.WRAP_UP.value
    acd.set_state("delay-desk", AgentState.BREAK, 15)
    assert acd.tick(14 + OFFER_TIMEOUT_S) == []                        # not taken: back in the call's line
    assert acd.call("CA1")["status"] == CallStatus.WAITING.value and acd.ahead("CA1") == 0
    assert acd.lines() == ["en-US:damaged", "en-US:delayed", "en-US:general", "zh-CN:damaged", "zh-CN:delayed",
                           "zh-CN:general", "zh-CN:lost"]


def test_a_transferred_callback_waits_under_its_dialled_call_keeping_its_place(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA-kept", skill(ZH), 0, phone="13800138000")
    acd.keep_place("CA-kept", 10)
    acd.enqueue("CA-later", skill(ZH), 20)
    acd.accept("a", acd.set_state("a", AgentState.AVAILABLE, 30)[0].call_sid, 31)
    with pytest.raises(AcdError, match="dialled call is unknown"):
        acd.transfer("a", "CA-kept", 40)                              # which call is the customer on?
    acd.transfer("a", "CA-kept", 40, leg="CA-dialled")
    with pytest.raises(AcdError, match="unknown call"):
        acd.call("CA-kept")
    entry = acd.call("CA-dialled")
    assert (entry["status"], entry["callback"], entry["phone"]) == ("waiting", "0", "13800138000")
    assert acd.ahead("CA-dialled") == 0 and acd.ahead("CA-later") == 1  # still first: its place came along
    offers = acd.set_state("a", AgentState.AVAILABLE, 50)            # out of wrap-up: offered as any caller
    assert [(o.call_sid, o.callback) for o in offers] == [("CA-dialled", False)]


def test_keeping_ones_place_by_callback(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA-first", skill(ZH), 0)
    acd.enqueue("CA-second", skill(ZH), 5)
    acd.keep_place("CA-first", 30)                       # hangs up, keeps place
    offers = acd.set_state("a", AgentState.AVAILABLE, 60)
    assert offers == [type(offers[0])("CA-first", "a", skill(ZH), True)]   # the agent is reserved; dial them
    assert acd.call("CA-first")["status"] == CallStatus.CALLBACK_DUE.value
    assert acd.ahead("CA-second") == 0                # nobody behind overtook
    # The customer does not answer in time: the reservation lapses, the place is kept.
    acd.tick(60 + OFFER_TIMEOUT_S)
    assert acd.call("CA-first")["status"] == CallStatus.CALLBACK_WAITING.value
    assert acd.ahead("CA-first") == 0


def test_wrap_up_then_available(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.set_state("a", AgentState.AVAILABLE, 0)
    acd.enqueue("CA1", skill(ZH), 1)
    acd.accept("a", "CA1", 2)
    acd.finish("a", 100)
    acd.enqueue("CA2", skill(ZH), 101)
    assert acd.agent("a")["state"] == AgentState.WRAP_UP.value
    assert [o.call_sid for o in acd.tick(110)] == ["CA2"]


def test_abandoned_calls_leave_the_line(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA1", skill(ZH), 0)
    acd.enqueue("CA2", skill(ZH), 1)
    acd.abandon("CA1", 5)
    assert acd.ahead("CA2") == 0
    assert acd.call("CA1")["status"] == CallStatus.ABANDONED.value
    assert [d["decision"] for d in acd.decisions()][:1] == ["abandoned"]


def snapshot(connection) -> dict:
    """Every key's type and serialised value: equal snapshots, nothing changed."""
    return {key: connection.dump(key) for key in connection.keys("*")}


def test_refusals_change_nothing(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    with pytest.raises(AcdError, match="unknown agent"):
        acd.set_state("ghost", AgentState.AVAILABLE, 0)
    with pytest.raises(AcdError, match="cannot set themselves"):
        acd.set_state("a", AgentState.ON_CALL, 0)
    acd.enqueue("CA1", skill(ZH), 0)
    acd.enqueue("CA2", skill(ZH), 1)
    acd.set_state("a", AgentState.AVAILABLE, 2)
    before = snapshot(acd.redis)
    refusals = [
        (lambda: acd.enqueue("CA1", skill(ZH), 3), "already queued"),
        (lambda: acd.ahead("CA-none"), "unknown call"),
        (lambda: acd.ahead("CA1"), "offered, not waiting"),
        (lambda: acd.set_state("a", AgentState.BREAK, 3), "finish that first"),
        (lambda: acd.accept("a", "CA2", 3), "not on offer"),
        (lambda: acd.finish("a", 3), "not on a call"),
        (lambda: acd.keep_place("CA1", 3), "offered, not waiting"),
        (lambda: acd.callback_unanswered("CA2", 3), "no callback"),
    ]
    for refused, reason in refusals:
        with pytest.raises(AcdError, match=reason):
            refused()
    assert snapshot(acd.redis) == before
    assert acd.agent("a")["state"] == AgentState.OFFERED.value and acd.call("CA1")["agent"] == "a"


def test_state_survives_a_new_distributor(acd, app):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA1", skill(ZH), 0)
    with app.app_context():
        restarted = Distributor(get_redis())
    assert restarted.ahead("CA1") == 0
    assert restarted.set_state("a", AgentState.AVAILABLE, 5)[0].call_sid == "CA1"


def test_at_scale_no_call_is_misrouted_lost_or_starved(capsys):
    """The benchmark's scenario, small: the production ticker, caller threads and agent threads."""
    from bench.queue import main

    figures = main(["--agents", "8", "--caller-threads", "2", "--rate", "6", "--seconds", "3"])
    assert (figures["misroutes"], figures["misrouted_offers"], figures["lost_calls"], figures["starved"]) == (0, 0, 0, 0)
    assert figures["calls_joined"] > 0 and figures["accept_count"] == figures["served"] == figures["calls_joined"]
    assert figures["unserved"] == figures["still_in_line"] == 0
    assert figures["offers"] >= figures["served"]  # the RONAs' offers moved on too


def test_the_queue_benchmark_counts_an_offer_of_the_wrong_line():
    from bench.queue import misrouted

    agents, calls = {"a": {"zh-CN:damaged"}}, {"CA1": {"skill": "zh-CN:damaged"}, "CA2": {"skill": "zh-CN:lost"}}
    offers = [{"agent": "a", "call": "CA1", "skill": "zh-CN:damaged"},
              {"agent": "a", "call": "CA2", "skill": "zh-CN:lost"},       # a line the agent does not serve
              {"agent": "a", "call": "CA2", "skill": "zh-CN:damaged"}]    # a line that is not the call's
    assert misrouted(offers, agents, calls) == 2


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
    assert acd.tick(40 + KEPT_PLACE_RETRY_S - 1) == []
    acd.set_state("b", AgentState.AVAILABLE, 150)
    offers = acd.tick(40 + KEPT_PLACE_RETRY_S)  # later: back in line with the place it had
    assert [(o.call_sid, o.agent_id, o.callback) for o in offers] == [("CA-kept", "b", True)]
    assert acd.call("CA-kept")["status"] == CallStatus.CALLBACK_DUE.value
    acd.accept("b", "CA-kept", 161)
    acd.callback_unanswered("CA-kept", 170)
    acd.tick(170 + KEPT_PLACE_RETRY_S)
    acd.accept("b", "CA-kept", 171 + KEPT_PLACE_RETRY_S)
    acd.enqueue("CA-third", skill(ZH), 300)
    offers = acd.callback_unanswered("CA-kept", 400)         # third time: the place is given up
    assert acd.call("CA-kept")["status"] == CallStatus.ABANDONED.value
    assert [o.call_sid for o in offers] == ["CA-third"]
    assert "kept_place_given_up" in [d["decision"] for d in acd.decisions(5)]


def test_the_transition_tables_are_sound():
    """Every trigger names real states, every state can be reached from an entry's creation,
    and only final states have no way out."""
    for transitions, states, final in ((AGENT_TRANSITIONS, AgentState, set()),
                                       (CALL_TRANSITIONS, CallStatus, {CallStatus.ABANDONED})):
        for trigger, (sources, target) in transitions.items():
            assert isinstance(target, states) and all(isinstance(source, states) for source in sources), trigger
        reached = {target for sources, target in transitions.values() if not sources}
        while True:
            more = {target for sources, target in transitions.values() if reached & set(sources)} - reached
            if not more:
                break
            reached |= more
        assert reached == set(states)
        exits = {source for sources, _ in transitions.values() for source in sources}
        assert set(states) - exits == final


def test_ahead_counts_the_callers_in_front(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA-alone", skill(ZH), 0)
    assert acd.ahead("CA-alone") == 0
    acd.enqueue("CA-second", skill(ZH), 10)
    acd.enqueue("CA-vip", skill(ZH), 20, priority=("vip",))   # head start 90 s: goes first
    acd.enqueue("CA-other-line", skill(ZH, "lost"), 5)
    assert [acd.ahead(sid) for sid in ("CA-vip", "CA-alone", "CA-second", "CA-other-line")] == [0, 1, 2, 0]
    acd.set_state("a", AgentState.AVAILABLE, 30)                # CA-vip is offered: out of line
    assert acd.ahead("CA-alone") == 0
    with pytest.raises(AcdError, match="not waiting"):
        acd.ahead("CA-vip")


def test_abandon_is_safe_in_every_status_and_idempotent(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.register_agent("b", languages=[ZH], categories=[])
    for n, sid in enumerate(["CA-rings", "CA-talks", "CA-next", "CA-kept"]):
        acd.enqueue(sid, skill(ZH), n)
    acd.keep_place("CA-kept", 5)
    acd.set_state("a", AgentState.AVAILABLE, 6)                 # a: CA-rings
    acd.set_state("b", AgentState.AVAILABLE, 7)                 # b: CA-talks
    acd.accept("b", "CA-talks", 8)

    # Offered: the agent's phone stops ringing and the agent takes the next caller at once.
    offers = acd.abandon("CA-rings", 9)
    assert [(o.call_sid, o.agent_id) for o in offers] == [("CA-next", "a")]
    assert acd.call("CA-rings")["status"] == CallStatus.ABANDONED.value
    assert [d["decision"] for d in acd.decisions(3)] == ["offered", "offer_withdrawn", "abandoned"]
    # Waiting: leaves the line.
    acd.enqueue("CA-waits", skill(ZH), 10)
    assert acd.abandon("CA-waits", 11) == [] and acd.waiting_count(skill(ZH)) == 1   # only CA-kept is left
    # Again, and in every other status: nothing changes, no error.
    acd.finish("b", 12)
    acd.tick(12 + 10)                                           # b is reserved for the kept place
    assert acd.call("CA-kept")["status"] == CallStatus.CALLBACK_DUE.value
    before = snapshot(acd.redis)
    for sid in ("CA-rings", "CA-waits", "CA-talks", "CA-kept", "CA-unknown"):
        assert acd.abandon(sid, 14) == []
    assert snapshot(acd.redis) == before


def test_abandon_leaves_a_kept_place_alone(acd):
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA-kept", skill(ZH), 0)
    acd.keep_place("CA-kept", 1)
    assert acd.abandon("CA-kept", 2) == []
    assert acd.call("CA-kept")["status"] == CallStatus.CALLBACK_WAITING.value and acd.ahead("CA-kept") == 0


def test_every_call_entry_expires_and_touching_it_renews_that(app):
    with app.app_context():
        acd = Distributor(get_redis(), call_ttl_s=600)
    acd.register_agent("a", languages=[ZH], categories=[])
    acd.enqueue("CA1", skill(ZH), 0)
    acd.enqueue("CA2", skill(ZH), 1, by_callback=True)
    for sid in ("CA1", "CA2"):
        assert 0 < acd.redis.ttl(f"hotline:acd:call:{sid}") <= 600
    acd.redis.expire("hotline:acd:call:CA1", 5)
    assert acd.seen("CA1", 2) and acd.redis.ttl("hotline:acd:call:CA1") > 5
    acd.redis.expire("hotline:acd:call:CA1", 5)
    acd.set_state("a", AgentState.AVAILABLE, 3)                # offered: a change renews it too
    assert acd.redis.ttl("hotline:acd:call:CA1") > 5
    acd.redis.delete("hotline:acd:call:CA2")                    # CA2's entry expired while in line
    acd.accept("a", "CA1", 4)
    acd.finish("a", 5)
    assert acd.tick(100) == [] and acd.waiting_count(skill(ZH)) == 0   # dropped, never offered


def test_tick_touches_only_what_is_due(acd):
    for n in range(40):
        acd.register_agent(f"idle-{n}", languages=[ZH], categories=["lost"])
        acd.set_state(f"idle-{n}", AgentState.BREAK if n % 2 else AgentState.AVAILABLE, n)
    acd.register_agent("ringing", languages=[ZH], categories=["damaged"])
    acd.register_agent("wrapping", languages=[ZH], categories=["delayed"])
    acd.set_state("ringing", AgentState.AVAILABLE, 50)
    acd.set_state("wrapping", AgentState.AVAILABLE, 50)
    acd.enqueue("CA-damaged", skill(ZH, "damaged"), 51)
    acd.enqueue("CA-delayed", skill(ZH, "delayed"), 51)
    acd.accept("wrapping", "CA-delayed", 52)
    acd.finish("wrapping", 53)                                  # wraps up until 63
    before = snapshot(acd.redis)
    acd.redis.config_resetstat()
    assert acd.tick(60) == []                                   # nothing due yet: nothing read or changed
    assert acd.redis.info("commandstats").get("cmdstat_hgetall") is None
    assert snapshot(acd.redis) == before
    acd.tick(51 + OFFER_TIMEOUT_S)                              # both due: RONA, end of wrap-up
    assert acd.redis.info("commandstats")["cmdstat_hgetall"]["calls"] == 3   # the 2 due agents, the RONA'd call
    assert acd.agent("ringing")["state"] == AgentState.NOT_RESPONDING.value
    assert acd.agent("wrapping")["state"] == AgentState.AVAILABLE.value


def test_signs_of_life_and_the_calls_a_sweep_checks(acd):
    for n, sid in enumerate(["CA-quiet", "CA-alive", "CA-kept", "CA-gone", "CA-rings"]):
        acd.enqueue(sid, skill(ZH, "lost") if sid == "CA-rings" else skill(ZH), n)
    acd.register_agent("lost-desk", languages=[ZH], categories=["lost"])
    acd.set_state("lost-desk", AgentState.AVAILABLE, 10)        # CA-rings is offered: still on the line
    assert acd.seen("CA-alive", 50) and acd.seen("CA-rings", 50)
    assert acd.seen("CA-alive", 20)                             # a late stamp never moves it back
    acd.keep_place("CA-kept", 11)
    acd.abandon("CA-gone", 12)
    assert not acd.seen("CA-kept", 50) and not acd.seen("CA-unknown", 50)
    assert sorted(acd.waiting_sids()) == ["CA-alive", "CA-quiet", "CA-rings"]
    assert acd.stale_waiting(40) == ["CA-quiet"]
    assert acd.stale_waiting(0) == []
    assert acd.keep_waiting("CA-alive", 51) and not acd.keep_waiting("CA-kept", 51)
    assert acd.call("CA-alive")["keep_waiting"] == "1"


def test_many_processes_at_once_never_double_offer_or_lose_a_call(acd, redis_url, monkeypatch):
    """Callers, agents and tickers in separate threads, each with its own connection (as
    separate processes would): the decisions, replayed, show no agent offered two calls and no
    call offered to two agents, and every call ends served (or abandoned by its caller)."""
    monkeypatch.setattr(acd_module, "OFFER_TIMEOUT_S", 0.05)    # some offers time out mid-race: RONA too
    agents = {f"agent-{n}": ["damaged", "lost", "delayed"][n % 3] for n in range(6)}
    asleep = "agent-0"                                          # never answers: each offer to it times out
    for agent_id, category in agents.items():
        acd.register_agent(agent_id, languages=[ZH], categories=[category])
    sids = [f"CA{n}" for n in range(60)]
    hang_ups = set(sids[::6])
    started = time.monotonic()
    done, failures = threading.Event(), []

    def clock() -> float:
        return time.monotonic() - started

    def own() -> Distributor:
        return Distributor(redis.Redis.from_url(redis_url), wrap_up_s=0)

    def guarded(work):
        def run():
            try:
                work()
            except Exception as error:  # reported by the test thread below
                failures.append(error)
        return threading.Thread(target=run)

    def callers(part: int):
        acd = own()
        for n, sid in enumerate(sids[part::3]):
            line = skill(ZH, ["damaged", "lost", "delayed"][n % 3])
            acd.enqueue(sid, line, clock(), priority=("vip",) if n % 4 == 0 else ())
            if sid in hang_ups:
                acd.abandon(sid, clock())                       # waiting, or already ringing

    def agent(agent_id: str):
        acd = own()
        while not done.is_set():
            state = acd.agent(agent_id)
            if state["state"] == AgentState.OFFERED.value and agent_id != asleep:
                try:
                    acd.accept(agent_id, state["call"], clock())
                    acd.finish(agent_id, clock())
                except AcdError:
                    pass                                        # the offer moved on (RONA) or the caller hung up
            elif state["state"] in (AgentState.OFFLINE.value, AgentState.NOT_RESPONDING.value):
                acd.set_state(agent_id, AgentState.AVAILABLE, clock())
            else:
                acd.tick(clock())

    acd.set_state(asleep, AgentState.AVAILABLE, clock())        # the longest idle: it gets the first "damaged" call
    threads = [guarded(lambda p=p: callers(p)) for p in range(3)]
    threads += [guarded(lambda a=a: agent(a)) for a in agents]
    for thread in threads:
        thread.start()

    def settled() -> bool:
        statuses = [acd.redis.hget(f"hotline:acd:call:{sid}", "status") for sid in sids]
        return failures != [] or all(
            s == b"connected" or (s == b"abandoned" and sid in hang_ups) for sid, s in zip(sids, statuses, strict=True))

    try:
        wait_until(settled)
    finally:
        done.set()
        for thread in threads:
            thread.join(30)
    assert failures == []

    offered_to, held_by, accepted = {}, {}, []
    for decision in reversed(acd.decisions(100_000)):
        kind, agent_id, sid = decision["decision"], decision.get("agent"), decision.get("call")
        if kind == "offered":
            assert agent_id not in offered_to, decision         # never two calls at once
            assert sid not in held_by, decision                 # never two agents, never after being served
            offered_to[agent_id], held_by[sid] = sid, agent_id
        elif kind == "accepted":
            assert offered_to.get(agent_id) == sid, decision
            accepted.append(sid)
        elif kind in ("rona", "offer_withdrawn"):
            assert offered_to.pop(agent_id) == sid and held_by.pop(sid) == agent_id, decision
        elif kind == "finished":
            assert offered_to.pop(agent_id) == sid, decision  # the call stays in held_by: served
    connected = [sid for sid in sids if acd.call(sid)["status"] == CallStatus.CONNECTED.value]
    assert sorted(accepted) == sorted(connected)                # each served exactly once
    assert set(sids) - set(connected) <= hang_ups               # nobody else left unserved
    assert acd.waiting_sids() == [] and acd.redis.zcard("hotline:acd:offers") == 0
    for line in ("damaged", "lost", "delayed"):
        assert acd.waiting_count(skill(ZH, line)) == 0
    assert asleep not in held_by.values() and "rona" in [d["decision"] for d in acd.decisions(100_000)]
    assert all(acd.redis.ttl(f"hotline:acd:call:{sid}") > 0 for sid in sids)
