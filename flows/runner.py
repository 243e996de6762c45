"""Runs a call forward: engine steps, with the effects they ask for carried out in between.

The engine stays pure; this loop is the one place that turns `run` actions into results.
"""
from __future__ import annotations

from flows.effects import EFFECTS, EffectContext
from flows.engine import Engine


def resolve_effects(engine: Engine, state: dict, actions: list[dict], ctx: EffectContext):
    """Carry out trailing `run` actions until the flow waits for the caller or ends."""
    while actions and actions[-1]["type"] == "run":
        effect = EFFECTS[actions.pop()["effect"]]
        outcome, data = effect(ctx, state["vars"])
        state, more = engine.step(state, {"type": "result", "outcome": outcome, "data": data})
        actions = actions + more
    return state, actions
