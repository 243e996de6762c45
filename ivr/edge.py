"""What the TwiML webhooks and the media stream share to run a call: the flow engine, the
words and audio of prompts, the call's session in Redis, and the effects' context."""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from flask import current_app
from redis.exceptions import RedisError

from callqueue.jobs import get_queue, schedule_callback
from database import get_session
from flows.effects import EffectContext
from ivr.sessions import CallSessions
from redis_conn import get_redis
from speech.waybills import ParcelRef
from tracking.service import parcels_by_keyed_digits

log = logging.getLogger(__name__)


def schedule_callback_job(callback) -> None:
    try:
        schedule_callback(get_queue(get_redis()), callback)
    except RedisError:
        # SQL already holds the callback; the worker reschedules it when Redis is back.
        log.exception("callback %s stored but not scheduled", callback.id)


def outcome(state: dict, actions: list[dict]) -> str:
    """How a call that left the flow ended, for its record."""
    if actions and actions[-1]["type"] == "transfer":
        return "transferred"
    variables = state["vars"]
    if variables.get("ticket_number"):
        return "complaint_filed"
    if variables.get("callback_time"):
        return "callback_booked"
    return "self_service"


class CallEdge:
    def __init__(self):
        app = current_app
        self.config = app.config
        self.engine = app.extensions["flow_engine"]
        self.catalogues = app.extensions["prompt_catalogues"]
        self.prompt_cache = app.extensions["prompt_cache"]
        self.speech_models = app.extensions["speech_models"]
        self.recordings_dir = Path(app.instance_path) / "recordings"

    def now(self):
        return self.config["CLOCK"]()

    def sessions(self) -> CallSessions:
        return CallSessions(get_redis(), self.config["CALL_SESSION_TTL_SECONDS"])

    def catalogue(self, language: str | None = None):
        return self.catalogues.get(language or "", self.catalogues[self.config["HOTLINE_LANGUAGE"]])

    def words(self, call: dict, play: dict) -> str:
        return self.catalogue(call["language"]).render(play["prompt"], play["vars"])

    def audio(self, text: str, language: str) -> bytes:
        return self.prompt_cache.audio(text, language)

    def menu_words(self, language: str, step: str) -> dict[str, list[str]]:
        return self.catalogue(language).menu_words.get(step, {})

    def key_for_words(self, language: str, step: str, text: str) -> str | None:
        return self.catalogue(language).key_for_words(step, text)

    def context(self, call: dict) -> EffectContext:
        return EffectContext(
            session=get_session(), now=self.now(), caller=call["from"], call_sid=call["sid"],
            sla=current_app.extensions["sla_policy"], hours=current_app.extensions["calling_hours"],
            schedule_callback=schedule_callback_job,
            callback_window=timedelta(days=self.config["CALLBACK_WINDOW_DAYS"]),
        )

    def parcel_lookup(self):
        """The waybill ranker's view of the parcel database: keyed digits -> parcels and their phones."""
        session = get_session()

        def lookup(digit_strings: set[str]) -> dict[str, list[ParcelRef]]:
            return {digits: [ParcelRef(p.waybill, (p.sender_phone, p.recipient_phone)) for p in parcels]
                    for digits, parcels in parcels_by_keyed_digits(session, digit_strings).items()}

        return lookup

    def distributor(self):
        from callqueue.routing import distributor

        return distributor(get_redis(), self.config)

    def join_queue(self, call: dict) -> None:
        """The flow handed the caller to agents: take their place in the ACD's line."""
        from callqueue.acd import AcdError
        from callqueue.routing import line_for, priority_for

        vip = {n.strip() for n in self.config["VIP_NUMBERS"].split(",") if n.strip()}
        priority = priority_for(get_session(), call["from"], self.now(), vip)
        line = line_for(call)
        try:
            self.distributor().enqueue(call["sid"], line, self.now().timestamp(), phone=call["from"],
                                       priority=priority)
        except AcdError:
            pass  # already in line (a repeated webhook)
        call["queue"] = {"skill": line, "priority": list(priority)}

    def note_event(self, call: dict, event: dict) -> None:
        """Record what the caller did, for the call record."""
        call["events"].append({
            "at": self.now().isoformat(timespec="seconds"), "event": event["type"],
            "value": event.get("value"), "step": call["state"].get("step"),
            **({"heard": event["heard"]} if "heard" in event else {}),
        })
        keyed = event["type"] in ("digits", "timeout") and "heard" not in event  # not words mapped to a key
        if call["transcript"] and keyed:
            call["transcript"][-1].setdefault("pressed", event.get("value"))
