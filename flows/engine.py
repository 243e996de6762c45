"""The flow engine: `step(state, event) -> (state, actions)`, pure.

A call's state is a small JSON-able dict; events are what the caller did (keys, silence)
or what an effect returned; actions are what the telephony edge must do next. The engine
never touches I/O: effects (look a parcel up, open a ticket) are `run` actions whose
outcome comes back as a `result` event.

Step kinds (one per step, declared in YAML):
  say       play prompt(s), then go to `next`
  menu      play a prompt and wait for one key; `options` maps keys to steps, or to
            {goto: step, set: {variable: value}} to remember the choice
  collect   play a prompt and wait for digits ended by #; store them `into` a variable
            (`speech: waybill` also takes the waybill the caller says, as a speech event;
            `speech: digits` digits said one by one)
  record    play a prompt and record what the caller says (ended by silence, # or a length
            limit); the recording's reference goes `into` a variable, its transcript (where a
            recogniser heard it) into `<into>_text`
  run       ask the edge to run an effect; `outcomes` maps its outcome to a step
  branch    go to `cases[vars[branch]]` or `default`
  transfer  hand the caller to an agent queue (the call leaves the flow)
  hangup    play an optional prompt and end the call
Any step may declare `attempts: N` and `exhausted: step`: entered more than N times in
one call, the caller goes to `exhausted` instead (re-prompts after silence count), and
`set: {variable: value}` to set variables when entered.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from flows.errors import FlowError

STEP_KINDS = ("say", "menu", "collect", "record", "run", "branch", "transfer", "hangup")
REPEAT_KEY = "*"
WAITING_ACTIONS = ("gather", "record")  # actions after which the edge waits for the caller
MAX_CHAINED_STEPS = 100  # a loop of say/branch steps is a flow bug, not a reason to hang


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    steps: dict[str, dict]
    defaults: dict = field(default_factory=dict)
    file: str = ""

    def kind(self, step: str) -> str:
        return next(k for k in STEP_KINDS if k in self.steps[step])

    def to_dict(self) -> dict:
        return {"name": self.name, "start": self.start, "defaults": copy.deepcopy(self.defaults),
                "steps": copy.deepcopy(self.steps)}


def new_state(flow: Flow, variables: dict | None = None) -> dict:
    return {"flow": flow.name, "step": None, "vars": dict(variables or {}), "counts": {}, "done": False}


class Engine:
    """Runs the flows it was given; holds no per-call data."""

    def __init__(self, flows: dict[str, Flow]):
        self.flows = flows

    def start(self, flow_name: str, variables: dict | None = None) -> tuple[dict, list[dict]]:
        flow = self.flows[flow_name]
        state = new_state(flow, variables)
        actions: list[dict] = []
        self._enter(flow, state, flow.start, actions)
        return state, actions

    def step(self, state: dict, event: dict) -> tuple[dict, list[dict]]:
        state = copy.deepcopy(state)
        flow = self.flows[state["flow"]]
        name = state["step"]
        if state["done"]:
            raise FlowError(f"the call has ended; got {event.get('type')!r}", file=flow.file, step=name)
        kind, spec = flow.kind(name), flow.steps[name]
        handler = getattr(self, f"_on_{kind}", None)
        actions: list[dict] = []
        if handler is None or not handler(flow, state, spec, event, actions):
            raise FlowError(f"a {kind} step does not accept event {event!r}", file=flow.file, step=name)
        return state, actions

    # Event handlers return False when the event does not fit the step.

    def _on_menu(self, flow, state, spec, event, actions) -> bool:
        if event["type"] == "timeout":
            return self._reprompt(flow, state, spec, "no_input", actions)
        if event["type"] != "digits":
            return False
        key = event.get("value", "")[:1]
        if key == REPEAT_KEY:
            actions.append(self._wait_action(flow, state, spec))
        elif key in spec["menu"]["options"]:
            option = spec["menu"]["options"][key]
            state["vars"].update(option.get("set", {}))
            self._enter(flow, state, option["goto"], actions)
        else:
            self._reprompt(flow, state, spec, "invalid" if key else "no_input", actions)
        return True

    def _on_collect(self, flow, state, spec, event, actions) -> bool:
        if event["type"] == "timeout":
            return self._reprompt(flow, state, spec, "no_input", actions)
        collect = spec["collect"]
        if event["type"] == "speech" and collect.get("speech"):
            # The edge recognised and ranked the caller's words; an empty value: nothing usable.
            value = event.get("value") or ""
            if not value or (collect["speech"] == "digits" and not self._digits_fit(collect, value)):
                return self._reprompt(flow, state, spec, "invalid", actions)
            state["vars"][collect["into"]] = event["value"]
            self._enter(flow, state, spec["next"], actions)
            return True
        if event["type"] != "digits":
            return False
        value = event.get("value", "").rstrip(collect.get("finish_on_key", "#"))
        if value == REPEAT_KEY:
            actions.append(self._wait_action(flow, state, spec))
        elif not value:
            self._reprompt(flow, state, spec, "no_input", actions)
        elif not self._digits_fit(collect, value):
            self._reprompt(flow, state, spec, "invalid", actions)
        else:
            state["vars"][collect["into"]] = value
            self._enter(flow, state, spec["next"], actions)
        return True

    @staticmethod
    def _digits_fit(collect: dict, value: str) -> bool:
        return value.isdigit() and collect.get("min_digits", 1) <= len(value) <= collect.get("max_digits", 32)

    def _on_record(self, flow, state, spec, event, actions) -> bool:
        if event["type"] == "timeout":
            return self._reprompt(flow, state, spec, "no_input", actions)
        if event["type"] != "recording":
            return False
        into = spec["record"]["into"]
        state["vars"][into] = event["value"]
        state["vars"][f"{into}_text"] = event.get("text", "")
        self._enter(flow, state, spec["next"], actions)
        return True

    def _on_run(self, flow, state, spec, event, actions) -> bool:
        if event["type"] != "result" or event.get("outcome") not in spec["outcomes"]:
            return False
        state["vars"].update(event.get("data") or {})
        self._enter(flow, state, spec["outcomes"][event["outcome"]], actions)
        return True

    def _reprompt(self, flow, state, spec, reason: str, actions) -> bool:
        prompt = spec.get(reason) or flow.defaults.get(reason)
        if prompt:
            actions.append(self._play(prompt, state))
        self._enter(flow, state, state["step"], actions)
        return True

    def _enter(self, flow: Flow, state: dict, name: str, actions: list[dict]) -> None:
        for _ in range(MAX_CHAINED_STEPS):
            spec = flow.steps[name]
            count = state["counts"][name] = state["counts"].get(name, 0) + 1
            if "attempts" in spec and count > spec["attempts"]:
                name = spec["exhausted"]
                continue
            state["step"] = name
            state["vars"].update(spec.get("set", {}))
            kind = flow.kind(name)
            if kind == "say":
                actions.extend(self._play(p, state) for p in _as_list(spec["say"]))
                name = spec["next"]
            elif kind == "branch":
                value = str(state["vars"].get(spec["branch"], ""))
                name = spec["cases"].get(value, spec["default"])
            elif kind in ("menu", "collect", "record", "run"):
                actions.append(self._wait_action(flow, state, spec))
                return
            else:  # transfer, hangup: the call leaves the flow
                actions.extend(self._play(p, state) for p in _as_list(spec.get("prompt")))
                actions.append({"type": "transfer", "queue": spec["transfer"]} if kind == "transfer"
                               else {"type": "hangup"})
                state["done"] = True
                return
        raise FlowError("steps loop without waiting for the caller", file=flow.file, step=name)

    def _wait_action(self, flow: Flow, state: dict, spec: dict) -> dict:
        if "run" in spec:
            return {"type": "run", "effect": spec["run"]}
        if "menu" in spec:
            menu = spec["menu"]
            return {"type": "gather", "step": state["step"], "prompt": self._play(menu["prompt"], state),
                    "num_digits": 1, "timeout": menu.get("timeout", flow.defaults.get("timeout", 5))}
        if "record" in spec:
            record = spec["record"]
            return {"type": "record", "step": state["step"], "prompt": self._play(record["prompt"], state),
                    "max_seconds": record.get("max_seconds", 60), "silence_seconds": record.get("silence_seconds", 3),
                    "timeout": record.get("timeout", flow.defaults.get("timeout", 5))}
        collect = spec["collect"]
        return {"type": "gather", "step": state["step"], "prompt": self._play(collect["prompt"], state),
                "max_digits": collect.get("max_digits", 32),
                "finish_on_key": collect.get("finish_on_key", "#"),
                "timeout": collect.get("timeout", flow.defaults.get("timeout", 5)),
                **({"speech": collect["speech"]} if collect.get("speech") else {})}

    @staticmethod
    def _play(prompt: str, state: dict) -> dict:
        # Prompt keys may name a variable ("status.{parcel_status}"); the snapshot of the
        # variables lets the edge render the words as they were at this moment.
        try:
            key = prompt.format_map(state["vars"])
        except KeyError as missing:
            raise FlowError(f"prompt {prompt!r} needs variable {missing}", step=state["step"]) from None
        return {"type": "play", "prompt": key, "vars": dict(state["vars"])}


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
