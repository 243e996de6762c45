"""A call's session: everything the hotline knows about one live call, typed.

It lives in Redis as JSON (calls.store), so any web process or media socket can take the
call's next step. Fields are grouped by who writes them: the flow's owner (the webhook or
media socket running the call) writes the flow fields; lifecycle events (queue, agent,
hang-up) write `phase`, `outcome` and `queue`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum


class Phase(str, Enum):
    """Where a live call is: in the IVR, waiting for an agent, or talking to one."""

    IVR = "ivr"
    QUEUED = "queued"
    AGENT = "agent"


FLOW_FIELDS = ("state", "events", "transcript", "waiting", "after_stream", "outcome")


@dataclass
class CallSession:
    sid: str
    caller: str           # From: the caller's number (inbound), the hotline's (outbound)
    called: str           # To
    direction: str        # inbound | outbound
    flow: str
    language: str
    started_at: str       # naive UTC, ISO
    vars: dict            # the flow's first variables
    state: dict = field(default_factory=dict)        # the engine's state ({} before the flow starts)
    events: list = field(default_factory=list)       # what the caller did, for the call record
    transcript: list = field(default_factory=list)   # what was said and heard
    waiting: dict | None = None       # the question the caller is being asked (to repeat it)
    after_stream: dict | None = None  # what the flow wants once its media stream closes
    outcome: str | None = None
    phase: Phase = Phase.IVR
    queue: dict | None = None         # {"skill", "priority"} once in the agents' line
    media: bool = False               # the flow runs on a media stream (speech, or the softphone)

    @property
    def customer(self) -> str:
        """The customer's number: who called in, or who the hotline called out to."""
        return self.caller if self.direction == "inbound" else self.called

    @property
    def done(self) -> bool:
        return bool(self.state.get("done"))

    @property
    def step(self) -> str:
        return self.state.get("step") or ""

    @property
    def flow_vars(self) -> dict:
        """The flow's variables as they are now (its first ones before it starts)."""
        return self.state.get("vars", self.vars)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "phase": self.phase.value}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes | str) -> CallSession:
        data = json.loads(raw)
        data["phase"] = Phase(data.get("phase", Phase.IVR.value))
        return cls(**data)
