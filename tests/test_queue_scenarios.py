"""Whole queue scenarios through the simulator: callers and agents against a live server and
the production ticker. The hotline reads the test's clock, which only the test moves: arrival
order, longest idle and offer timeouts (RONA) come from it, and the test waits on what the ACD
holds (a caller in line, an agent available or offered), with deadlines, never on sleeps."""
from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

from callqueue import ticker
from callqueue.acd import OFFER_TIMEOUT_S, AcdError
from ivr.simulator import SimulatedCall, run_agent
from tests.conftest import AUTH_TOKEN, wait_until
from tracking.demo import DEMO_CALLER

PASSWORD = "s3cret-pass"
SF = "1234567890123#"


@pytest.fixture
def hotline(make_app, demo_parcels):
    """A live server with three agents and the production ticker (every 0.2 s) on the test's clock."""
    app = make_app(WRAP_UP_SECONDS=0, QUEUE_ANNOUNCE_SECONDS=1, AGENT_HOURS="00:00-24:00")
    runner = app.test_cli_runner()
    for name, skills in (("damage", "damaged,lost"), ("delay", "delayed"), ("attitude", "courier_attitude")):
        result = runner.invoke(args=["agents", "add", name, "--skills", skills, "--password", PASSWORD])
        assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    threading.Thread(target=ticker.run, args=(app, stop, 0.2), daemon=True).start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    stop.set()
    server.shutdown()


def caller_on(clock, base, phone, hold_s) -> SimulatedCall:
    """A caller who holds on for hold_s of the hotline's time, however slowly this machine runs."""
    return SimulatedCall(base, AUTH_TOKEN, phone, hold_s=hold_s, monotonic=clock.seconds)


def complaint_caller(clock, base, category_key, caller=DEMO_CALLER, hold=20.0, extra=()):
    keys = ["2", category_key, SF, "1", "1", "1", "1", "0", *extra]  # SF of SF/YTO, yes, demand, phone
    return caller_on(clock, base, caller, hold).run(keys)


def in_thread(results, key, function, *args, **kwargs):
    thread = threading.Thread(target=lambda: results.__setitem__(key, function(*args, **kwargs)))
    thread.start()
    return thread


def acd_entry(app, kind, ident) -> dict:
    """What the ACD holds for a call (kind "call") or an agent ("agent"); {} when it has none."""
    from callqueue.routing import distributor
    from redis_conn import get_redis

    with app.app_context():
        acd = distributor(get_redis(), app.config)
        try:
            return acd.call(ident) if kind == "call" else acd.agent(ident)
        except AcdError:
            return {}


def wait_in_line(app, call: SimulatedCall, status="waiting") -> None:
    wait_until(lambda: acd_entry(app, "call", call.sid).get("status") == status, timeout_s=60)


def wait_agent(app, name, state) -> None:
    wait_until(lambda: acd_entry(app, "agent", name).get("state") == state, timeout_s=60)


def ring_in_turn(app, clock, results, key, call: SimulatedCall, inputs) -> threading.Thread:
    """A caller who rings once the one before is in line, a second later by the hotline's clock."""
    thread = in_thread(results, key, call.run, inputs)
    wait_in_line(app, call)
    clock.advance(1)
    return thread


def open_console(base, name, state="available") -> requests.Session:
    """An agent's console, logged in and set to `state`, that nobody at the desk answers."""
    http = requests.Session()
    for path, body in (("login", {"username": name, "password": PASSWORD}), ("state", {"state": state})):
        response = http.post(f"{base}/console/api/{path}", json=body, timeout=30)
        assert response.status_code == 200, response.text
    return http


def test_complaint_callers_reach_qualified_agents(hotline, clock):
    app, base = hotline
    results = {}
    agents = [in_thread(results, name, run_agent, base, name, PASSWORD, answer_after=0.1, calls=count, timeout_s=60)
              for name, count in (("damage", 2), ("delay", 1))]
    callers = [in_thread(results, f"caller-{n}", complaint_caller, clock, base, key, f"1390000000{n}")
               for n, key in enumerate(["1", "3", "2"])]  # damaged, delayed, lost
    for thread in agents + callers:
        thread.join(90)
    assert sorted(c["line"] for c in results["damage"]) == ["zh-CN:damaged", "zh-CN:lost"]
    assert [c["line"] for c in results["delay"]] == ["zh-CN:delayed"]
    for n in range(3):
        call = results[f"caller-{n}"]
        assert call.connected_to in ("client:damage", "client:delay"), call.as_json()


def test_an_unanswered_offer_goes_to_the_next_agent(hotline, clock):
    app, base = hotline
    results = {}
    sleepy = open_console(base, "damage")   # available first: the longest idle; never answers
    wait_agent(app, "damage", "available")
    clock.advance(1)
    awake = in_thread(results, "awake", run_agent, base, "delay", PASSWORD, answer_after=0.1, timeout_s=60)
    wait_agent(app, "delay", "available")
    call = caller_on(clock, base, DEMO_CALLER, 30)
    caller = in_thread(results, "caller", call.run, ["0"])
    wait_agent(app, "damage", "offered")
    assert acd_entry(app, "agent", "delay")["state"] == "available"   # nobody else rang yet
    clock.advance(OFFER_TIMEOUT_S + 1)    # the offer rang out unanswered: the ticker moves it on
    for thread in (awake, caller):
        thread.join(60)
    sleepy.close()
    assert acd_entry(app, "agent", "damage")["state"] == "not_responding"
    assert [c["line"] for c in results["awake"]] == ["zh-CN:general"]
    assert results["caller"].connected_to == "client:delay"
    with app.app_context():
        from callqueue.routing import distributor
        from redis_conn import get_redis

        decisions = [d["decision"] for d in distributor(get_redis(), app.config).decisions(50)]
    assert "rona" in decisions


def test_a_caller_who_keeps_their_place_is_called_back_in_turn(hotline, clock):
    app, base = hotline
    results = {}
    first = caller_on(clock, base, "13900000001", 0).run(["0", "1"])   # keeps place
    assert first.ended_by == "hangup" and "已为您保留排队位置" in first.turns[-1]["heard"]
    wait_in_line(app, first, "callback_waiting")
    clock.advance(1)
    call = caller_on(clock, base, "13900000002", 20)
    second = in_thread(results, "second", call.run, ["0"])
    wait_in_line(app, call)
    agent = in_thread(results, "agent", run_agent, base, "damage", PASSWORD, answer_after=0.1, calls=2, timeout_s=40)
    second.join(60)
    agent.join(60)
    handled = results["agent"]
    assert [h["kept_place"] for h in handled] == [True, False]   # the first in line first, by callback
    assert handled[0]["caller"] == "139****0001"
    with app.app_context():
        from ivr.telephony import SIMULATOR_OUTBOX
        from redis_conn import get_redis

        outbound = get_redis().lrange(SIMULATOR_OUTBOX, 0, -1)
    assert len(outbound) == 1 and b"13900000001" in outbound[0] and b"/voice/connect/damage" in outbound[0]
    assert results["second"].connected_to == "client:damage"


def own_parcels(app, count):
    """A parcel per caller, so each passes the identity check with their own caller ID."""
    from database import new_session
    from tracking.importer import import_records

    records = [{"waybill": f"SF90000000000{n:02d}", "carrier": "SF", "status": "in_transit",
                "recipient_phone": f"1370000{n:04d}", "recipient_name": f"客户{n}"} for n in range(count)]
    with app.app_context():
        session = new_session()
        import_records(session, list(enumerate(records, start=1)))
        session.close()
    return [(r["recipient_phone"], r["waybill"][2:] + "#") for r in records]


def test_three_agents_and_ten_complaint_callers(hotline, clock):
    """Each caller files a complaint, asks for a specialist, and reaches a qualified agent;
    within each line callers are served in the order they joined it (a second apart)."""
    app, base = hotline
    callers = own_parcels(app, 10)
    categories = ["1", "2", "3", "7", "1", "3", "7", "2", "3", "7"]  # damaged, lost, delayed, courier attitude
    results, threads = {}, []
    for n, ((phone, keys), category) in enumerate(zip(callers, categories, strict=True)):
        inputs = ["2", category, keys, "1", "1", "1", "0"]
        threads.append(ring_in_turn(app, clock, results, n, caller_on(clock, base, phone, 40), inputs))
    expected = {"damage": 4, "delay": 3, "attitude": 3}
    agents = [in_thread(results, name, run_agent, base, name, PASSWORD, answer_after=0.05, calls=count,
                        timeout_s=60) for name, count in expected.items()]
    for thread in threads + agents:
        thread.join(90)
    skills = {"damage": {"zh-CN:damaged", "zh-CN:lost"}, "delay": {"zh-CN:delayed"},
              "attitude": {"zh-CN:courier_attitude"}}
    for name, count in expected.items():
        handled = results[name]
        assert len(handled) == count and {h["line"] for h in handled} <= skills[name]
        # Served in arrival order: the masked numbers end in the caller's index.
        order = [int(h["caller"][-4:]) for h in handled]
        assert order == sorted(order), (name, order)
    for n in range(10):
        assert results[n].connected_to.startswith("client:"), results[n].as_json()


def test_a_vip_caller_goes_ahead(make_app, demo_parcels, clock):
    app = make_app(WRAP_UP_SECONDS=0, QUEUE_ANNOUNCE_SECONDS=1, AGENT_HOURS="00:00-24:00",
                   VIP_NUMBERS="13700009999")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["agents", "add", "solo", "--password", PASSWORD]).exit_code == 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    stop = threading.Event()
    threading.Thread(target=ticker.run, args=(app, stop, 0.2), daemon=True).start()
    try:
        results = {}
        first = ring_in_turn(app, clock, results, "regular", caller_on(clock, base, "13700001111", 30),
                             ["0"])
        vip = ring_in_turn(app, clock, results, "vip", caller_on(clock, base, "13700009999", 30), ["0"])
        agent = in_thread(results, "solo", run_agent, base, "solo", PASSWORD, answer_after=0.05, calls=2, timeout_s=40)
        for thread in (first, vip, agent):
            thread.join(60)
        assert [h["caller"] for h in results["solo"]] == ["137****9999", "137****1111"]  # ahead, but served both
        assert results["regular"].connected_to == results["vip"].connected_to == "client:solo"
    finally:
        stop.set()
        server.shutdown()


@pytest.fixture
def agent_first(make_app):
    """A live server whose CLI-booked callbacks reserve an agent before dialling, open all day."""
    app = make_app(WRAP_UP_SECONDS=0, CALLBACK_AGENT_FIRST="cli", CALLING_HOURS="00:00-24:00")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["agents", "add", "damage", "--skills", "damaged", "--password", PASSWORD]).exit_code == 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    threading.Thread(target=ticker.run, args=(app, stop, 0.2), daemon=True).start()
    booked = runner.invoke(args=["callbacks", "book", "13900000009"]).output
    callback_id = int(booked.split()[1].lstrip("#"))
    yield app, f"http://127.0.0.1:{server.server_port}", callback_id
    stop.set()
    server.shutdown()


def fire(app, callback_id):
    from callqueue.jobs import dial_callback
    from ivr.telephony import SIMULATOR_OUTBOX
    from redis_conn import get_redis

    with app.app_context():
        result = dial_callback(callback_id)
        return result, get_redis().llen(SIMULATOR_OUTBOX)


def callback_state(app, callback_id):
    from callqueue.models import Callback
    from database import new_session

    with app.app_context():
        session = new_session()
        callback = session.get(Callback, callback_id)
        state = (callback.status.value, [(a.number, a.outcome) for a in callback.history])
        session.close()
    return state


def test_a_callback_that_reserves_an_agent_first_dials_once_the_agent_accepts(agent_first):
    from ivr.simulator import answer_outbound

    app, base, callback_id = agent_first
    assert fire(app, callback_id) == ("awaiting_agent", 0)   # in the agents' line; nobody dialled yet
    assert callback_state(app, callback_id) == ("awaiting_agent", [(1, "")])
    results = {}
    agent = in_thread(results, "agent", run_agent, base, "damage", PASSWORD, answer_after=0.1, timeout_s=30)
    customer = answer_outbound(base, AUTH_TOKEN, "human", [], wait_s=20)
    agent.join(40)
    assert [(h["kept_place"], h["caller"]) for h in results["agent"]] == [(True, "139****0009")]
    assert customer.connected_to == "client:damage"
    assert callback_state(app, callback_id) == ("completed", [(1, "completed")])


def test_an_unanswered_agent_first_callback_frees_the_agent_and_retries_later(agent_first):
    from ivr.simulator import answer_outbound

    app, base, callback_id = agent_first
    fire(app, callback_id)
    results = {}
    agent = in_thread(results, "agent", run_agent, base, "damage", PASSWORD, answer_after=0.1, timeout_s=30)
    assert answer_outbound(base, AUTH_TOKEN, "no-answer", [], wait_s=20)["status"] == "no-answer"
    agent.join(40)
    assert callback_state(app, callback_id) == ("scheduled", [(1, "no-answer")])
    with app.app_context():
        from callqueue.routing import distributor, scheduled_callback_sid
        from redis_conn import get_redis

        acd = distributor(get_redis(), app.config)
        assert acd.call(scheduled_callback_sid(callback_id, 1))["status"] == "abandoned"   # not back in line
        assert "callback_unanswered" in [d["decision"] for d in acd.decisions(20)]
