"""The pure flow engine: every step kind, retries, strictness, purity."""
from __future__ import annotations

import copy

import pytest
import yaml

from flows.engine import Engine
from flows.errors import FlowError
from flows.loader import load_flow, load_flows

FLOW = """
name: demo
start: hello
defaults: {no_input: silence, invalid: wrong, timeout: 4}
steps:
  hello: {say: [hi, "intro.{mood}"], next: menu}
  menu:
    menu:
      prompt: choose
      options: {1: ask, 2: {goto: check, set: {choice: two}}, 0: agent}
    attempts: 2
    exhausted: agent
  ask:
    collect: {prompt: number, into: number, min_digits: 3, max_digits: 5}
    next: check
  check:
    run: look_up
    outcomes: {found: route, missing: bye}
  route:
    branch: kind
    cases: {gold: agent}
    default: bye
  agent: {transfer: specialists, prompt: connecting}
  bye: {hangup: true, prompt: goodbye}
"""


@pytest.fixture
def engine(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(FLOW)
    return Engine({"demo": load_flow(path)})


def prompts(actions):
    return [a["prompt"] if a["type"] == "play" else a["prompt"]["prompt"] for a in actions
            if a["type"] in ("play", "gather")]


def start(engine, **variables):
    return engine.start("demo", {"mood": "happy", **variables})


def test_start_chains_say_steps_and_waits_at_the_menu(engine):
    state, actions = start(engine)
    assert prompts(actions) == ["hi", "intro.happy", "choose"]
    assert actions[-1] == {"type": "gather", "step": "menu", "prompt": actions[-1]["prompt"], "num_digits": 1,
                           "timeout": 4}
    assert state["step"] == "menu" and not state["done"]


def test_menu_option_with_set_remembers_the_choice(engine):
    state, _ = start(engine)
    state, actions = engine.step(state, {"type": "digits", "value": "2"})
    assert state["vars"]["choice"] == "two"
    assert actions == [{"type": "run", "effect": "look_up"}]


def test_star_repeats_without_using_an_attempt(engine):
    state, _ = start(engine)
    for _ in range(5):
        state, actions = engine.step(state, {"type": "digits", "value": "*"})
        assert prompts(actions) == ["choose"]
    assert state["counts"]["menu"] == 1


def test_invalid_key_then_silence_then_exhausted(engine):
    state, _ = start(engine)
    state, actions = engine.step(state, {"type": "digits", "value": "7"})
    assert prompts(actions) == ["wrong", "choose"]
    state, actions = engine.step(state, {"type": "timeout"})
    assert prompts(actions) == ["silence", "connecting"]
    assert actions[-1] == {"type": "transfer", "queue": "specialists"}
    assert state["done"]


def test_collect_checks_length_and_strips_the_finish_key(engine):
    state, _ = start(engine)
    state, _ = engine.step(state, {"type": "digits", "value": "1"})
    state, actions = engine.step(state, {"type": "digits", "value": "12#"})
    assert prompts(actions) == ["wrong", "number"]
    state, actions = engine.step(state, {"type": "digits", "value": "1234#"})
    assert state["vars"]["number"] == "1234"
    assert actions == [{"type": "run", "effect": "look_up"}]


def test_collect_rejects_non_digits(engine):
    state, _ = start(engine)
    state, _ = engine.step(state, {"type": "digits", "value": "1"})
    state, actions = engine.step(state, {"type": "digits", "value": "12ab"})
    assert prompts(actions) == ["wrong", "number"]


def test_run_result_sets_variables_and_branches(engine):
    state, _ = start(engine)
    state, _ = engine.step(state, {"type": "digits", "value": "2"})
    gold, actions = engine.step(state, {"type": "result", "outcome": "found", "data": {"kind": "gold"}})
    assert actions[-1]["type"] == "transfer"
    plain, actions = engine.step(state, {"type": "result", "outcome": "found", "data": {"kind": "tin"}})
    assert prompts(actions) == ["goodbye"] and actions[-1] == {"type": "hangup"}
    assert plain["done"]


def test_unknown_outcome_and_wrong_events_are_errors(engine):
    state, _ = start(engine)
    with pytest.raises(FlowError, match="does not accept"):
        engine.step(state, {"type": "result", "outcome": "found"})
    state, _ = engine.step(state, {"type": "digits", "value": "2"})
    with pytest.raises(FlowError, match="step 'check'"):
        engine.step(state, {"type": "result", "outcome": "exploded"})
    with pytest.raises(FlowError):
        engine.step(state, {"type": "digits", "value": "1"})


def test_no_events_after_the_call_ended(engine):
    state, _ = start(engine)
    state, _ = engine.step(state, {"type": "digits", "value": "0"})
    with pytest.raises(FlowError, match="ended"):
        engine.step(state, {"type": "digits", "value": "1"})


def test_step_is_pure(engine):
    state, _ = start(engine)
    before = copy.deepcopy(state)
    engine.step(state, {"type": "digits", "value": "2"})
    engine.step(state, {"type": "digits", "value": "7"})
    assert state == before


def test_play_actions_snapshot_the_variables(engine):
    state, _ = start(engine)
    state, _ = engine.step(state, {"type": "digits", "value": "2"})
    _, actions = engine.step(state, {"type": "result", "outcome": "missing", "data": {"name": "x"}})
    assert actions[0]["vars"]["name"] == "x"


def test_flows_round_trip_through_dicts(tmp_path):
    for flow in load_flows().values():
        dumped = tmp_path / f"{flow.name}.yaml"
        dumped.write_text(yaml.safe_dump(flow.to_dict(), allow_unicode=True))
        assert load_flow(dumped).to_dict() == flow.to_dict()


def test_every_hotline_step_can_be_reached_and_run(app):
    """Walk the real hotline: every key, silence and outcome from every step, none raising."""
    engine = app.extensions["flow_engine"]
    flow = engine.flows["hotline"]
    visited = set()
    todo = [engine.start("hotline", {"brand": "b", "input_mode": mode, "agents_open": agents,
                                     "agents_back": "2026-11-25T08:30"})[0]
            for mode in ("speech", "keypad") for agents in ("yes", "")]
    while todo:
        state = todo.pop()
        name = state["step"]
        seen = (name, state["vars"].get("purpose"), state["vars"].get("input_mode"), state["vars"]["agents_open"],
                min(state["counts"][name], 4))
        if state["done"] or seen in visited:
            continue
        visited.add(seen)
        spec = flow.steps[name]
        if "menu" in spec:
            events = [{"type": "digits", "value": key} for key in spec["menu"]["options"]]
            events.append({"type": "timeout"})
        elif "record" in spec:
            events = [{"type": "recording", "value": "CA1-1.wav", "text": "hello"}, {"type": "timeout"}]
        elif "collect" in spec:
            events = [{"type": "digits", "value": "1" * spec["collect"].get("min_digits", 1)}, {"type": "timeout"}]
            if spec["collect"].get("speech"):
                events += [{"type": "speech", "value": "SF1234567890123"}, {"type": "speech", "value": ""}]
        else:
            events = [{"type": "result", "outcome": outcome, "data": {"party": "recipient", "parcel_status": "in_transit",
                                                               "pickup_hours": "09:00-12:00", "delivery_window": "morning"}}
                      for outcome in spec["outcomes"]]
        for event in events:
            todo.append(engine.step(state, event)[0])
    waiting = {name for name, spec in flow.steps.items() if {"menu", "collect", "record", "run"} & set(spec)}
    assert waiting <= {seen[0] for seen in visited}


def test_a_record_step_keeps_the_recording_and_its_transcript(tmp_path):
    path = tmp_path / "message.yaml"
    path.write_text("""
name: message
start: record
defaults: {no_input: silence}
steps:
  record:
    record: {prompt: after_the_tone, into: note, max_seconds: 30, silence_seconds: 2}
    next: bye
    attempts: 2
    exhausted: bye
  bye: {hangup: true, prompt: "thanks"}
""")
    engine = Engine({"message": load_flow(path)})
    state, actions = engine.start("message")
    assert actions[-1] == {"type": "record", "step": "record", "prompt": actions[-1]["prompt"], "max_seconds": 30,
                           "silence_seconds": 2, "timeout": 5}
    state, actions = engine.step(state, {"type": "timeout"})
    assert [a["prompt"] if a["type"] == "play" else a["type"] for a in actions] == ["silence", "record"]
    state, actions = engine.step(state, {"type": "recording", "value": "CA1-1.wav", "text": "late again"})
    assert state["vars"] == {"note": "CA1-1.wav", "note_text": "late again"}
    assert actions[-1] == {"type": "hangup"} and state["done"]
