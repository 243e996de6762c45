"""One owner for a call's life: start, advance, leave for the agents' queue, connected, ended.

The TwiML webhooks, the Media Streams socket and the browser softphone are thin adapters
over this service: they turn what the carrier sent into calls here and what comes back into
TwiML or audio. The carrier's callbacks (status, stream stop, queue wait, dial action) may
arrive in any order, twice, or never; every method here ends in the same state whichever
order they come in:
  - `ended` takes the session atomically and always takes the call out of the ACD's line;
  - everything else writes only while the call is live (`CallStore.change`);
  - `sweep` (the ticker, every few seconds) ends calls whose hang-up never came.
No database session is held across a wait: each step opens one and closes it.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callqueue.acd import AcdError, CallStatus, Distributor, skill
from callqueue.callbacks import book_callback
from callqueue.destinations import CallbackRefused
from callqueue.jobs import record_outcome, schedule_callback_job
from callqueue.routing import distributor, kept_place_key, scheduled_callback_attempt
from calls.queueing import line_for, priority_for
from calls.records import save_record, save_stream_end, settled_outcome
from calls.session import FLOW_FIELDS, CallSession, Phase
from calls.store import CallStore
from clock import to_naive_utc
from flows.effects import EffectContext
from flows.engine import WAITING_ACTIONS
from flows.runner import resolve_effects
from keys import key_for
from masking import mask_phone
from speech.waybills import ParcelRef
from throttling import FailureLimits
from tracking.service import parcels_by_keyed_digits

log = logging.getLogger(__name__)

FINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
ENDED_LATER = key_for("calls", "ended_later")  # carrier reports of a call's end, to be written
LOST = "lost"  # the carrier never reported the call's end: the sweep ended it
# A caller who leaves the agents' line, by their status in it then.
LEFT_LINE_OUTCOMES = {CallStatus.WAITING.value: "abandoned", CallStatus.OFFERED.value: "abandoned",
                      CallStatus.CALLBACK_WAITING.value: "kept_place"}


def outcome(state: dict, actions: list[dict]) -> str:
    """How a call that left the flow ended, for its record."""
    if actions and actions[-1]["type"] == "transfer":
        return "transferred"
    variables = state["vars"]
    if variables.get("ticket_number"):
        return "complaint_filed"
    if variables.get("callback_time"):
        return "callback_booked"
    # What the caller got (see settled_outcome); nothing: the IVR ended the call unserved.
    return variables.get("call_outcome") or "ended_in_ivr"


@dataclass(frozen=True)
class QueueStatus:
    """What a waiting caller is told: callers ahead, estimated minutes, whether to offer a callback."""

    ahead: int
    minutes: int | None  # None while no agent of the line is signed in: nothing to estimate from
    offer_callback: bool


class CallService:
    def __init__(self, app, connection):
        self.app, self.config = app, app.config
        self.engine = app.extensions["flow_engine"]
        self.catalogues = app.extensions["prompt_catalogues"]
        self.prompt_cache = app.extensions["prompt_cache"]
        self.speech_models = app.extensions["speech_models"]
        self.recordings_dir = Path(app.instance_path) / "recordings"
        self.redis = connection
        self.store = CallStore(connection, self.config["CALL_SESSION_TTL_SECONDS"])

    def now(self) -> datetime:
        return self.config["CLOCK"]()

    def stamp(self) -> float:
        return self.now().timestamp()

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A database session for one step, closed at once: none is held across a wait."""
        session = self.app.extensions["db_sessions"]()
        try:
            yield session
        finally:
            session.close()

    def acd(self) -> Distributor:
        return distributor(self.redis, self.config)

    # --- words and audio ---

    def catalogue(self, language: str | None = None):
        return self.catalogues.get(language or "", self.catalogues[self.config["HOTLINE_LANGUAGE"]])

    def words(self, call: CallSession, play: dict) -> str:
        return self.catalogue(call.language).render(play["prompt"], play["vars"])

    def audio(self, text: str, language: str) -> bytes:
        return self.prompt_cache.audio(text, language)

    def menu_words(self, language: str, step: str) -> dict[str, list[str]]:
        return self.catalogue(language).menu_words.get(step, {})

    def key_for_words(self, language: str, step: str, text: str) -> str | None:
        return self.catalogue(language).key_for_words(step, text)

    def parcel_lookup(self):
        """The waybill ranker's view of the parcel database: keyed digits -> parcels and their phones."""
        def lookup(digit_strings: set[str]) -> dict[str, list[ParcelRef]]:
            with self.db() as session:
                return {digits: [ParcelRef(p.waybill, (p.sender_phone, p.recipient_phone)) for p in parcels]
                        for digits, parcels in parcels_by_keyed_digits(session, digit_strings).items()}

        return lookup

    # --- start ---

    def new_call(self, flow: str, direction: str, variables: dict, *, sid: str, caller: str,
                 called: str, media: bool = False) -> CallSession:
        """A call's session as it starts: who, which flow, and the flow's first variables."""
        language = self.config["HOTLINE_LANGUAGE"]
        speech = self.speech_models.get(language) is not None
        agents = self.app.extensions["agent_hours"]
        agents_back = agents.local(agents.next_opening(self.now()))
        return CallSession(
            sid=sid, caller=caller, called=called, direction=direction, flow=flow, language=language,
            started_at=to_naive_utc(self.now()).isoformat(), media=media or speech,
            vars={"brand": self.config["HOTLINE_BRAND"], "language": language,
                  "input_mode": "speech" if speech else "keypad",
                  "agents_open": "yes" if agents.is_open(self.now()) else "",
                  "agents_back": agents_back.isoformat(timespec="minutes"),
                  # The schedule callers hear comes from the settings, and dates near the
                  # call's own day are said as today / tomorrow.
                  "agent_hours": self.config["AGENT_HOURS"], "agent_days": self.config["AGENT_DAYS"],
                  "today": agents.local(self.now()).date().isoformat(), **variables},
        )

    def start(self, call: CallSession) -> CallSession | None:
        """Store a new call. A retried webhook finds the call it already started; None if that
        call has ended (a retry arriving after the hang-up)."""
        if self.store.create(call, self.stamp()):
            log.info("%s call %s %s %s", call.direction, call.sid, "from" if call.direction == "inbound" else "to",
                     mask_phone(call.customer))
            return call
        return self.store.load(call.sid)

    def load(self, sid: str) -> CallSession | None:
        return self.store.load(sid)

    # --- advance ---

    def begin(self, call: CallSession) -> list[dict]:
        """The flow's first actions; a call whose flow already runs repeats its question."""
        if call.state:
            return [call.waiting] if call.waiting else [{"type": "hangup"}]
        return self.step(call, None)

    def step(self, call: CallSession, event: dict | None) -> list[dict]:
        """Feed one event to the flow (None: it starts), carrying out its effects, until it waits
        for the caller or leaves the flow. Changes the session in memory only (see `save`)."""
        self.note_event(call, event or {"type": "start"})
        if event is None:
            state, actions = self.engine.start(call.flow, call.vars)
        else:
            state, actions = self.engine.step(call.state, event)
        with self.db() as session:
            state, actions = resolve_effects(self.engine, state, actions, self._context(call, session))
        call.state = state
        last = actions[-1] if actions else {"type": "hangup"}
        if last["type"] in WAITING_ACTIONS:
            call.waiting = last
        if state["done"]:
            call.outcome = outcome(state, actions)
        return actions

    def heard(self, call: CallSession, actions: list[dict]) -> None:
        """Keep the words of the prompts these actions play, for the record and the screen pop."""
        call.transcript.extend(
            {"heard": self.words(call, play)}
            for play in (a["prompt"] if a["type"] in WAITING_ACTIONS else a for a in actions)
            if play["type"] == "play"
        )

    def _context(self, call: CallSession, session: Session) -> EffectContext:
        return EffectContext(
            session=session, now=self.now(), caller=call.customer, call_sid=call.sid,
            sla=self.app.extensions["sla_policy"], hours=self.app.extensions["calling_hours"],
            schedule_callback=schedule_callback_job,
            callback_window=timedelta(days=self.config["CALLBACK_WINDOW_DAYS"]),
            callback_destinations=self.app.extensions["callback_destinations"],
            identity_failures=FailureLimits(
                self.redis, "identity-failures", self.config["IDENTITY_LOCKOUT_HOURS"] * 3600,
                {"waybill": self.config["IDENTITY_MAX_FAILURES_PER_WAYBILL"],
                 "caller": self.config["IDENTITY_MAX_FAILURES_PER_CALLER"]}),
        )

    def note_event(self, call: CallSession, event: dict) -> None:
        """Record what the caller did, for the call record."""
        call.events.append({
            "at": self.now().isoformat(timespec="seconds"), "event": event["type"],
            "value": event.get("value"), "step": call.state.get("step"),
            **({"heard": event["heard"]} if "heard" in event else {}),
        })
        keyed = event["type"] in ("digits", "timeout") and "heard" not in event  # not words mapped to a key
        if call.transcript and keyed:
            call.transcript[-1].setdefault("pressed", event.get("value"))

    def save(self, call: CallSession) -> bool:
        """Save what the flow did (its own fields, the phase and the queue) onto the newest session.
        False when the call has ended meanwhile: then its record gets what the flow did since."""
        def take_flow(newest: CallSession) -> None:
            for name in FLOW_FIELDS:
                setattr(newest, name, getattr(call, name))
            newest.phase, newest.queue = call.phase, call.queue

        if self.store.change(call.sid, take_flow, self.stamp()) is not None:
            return True
        with self.db() as session:
            save_stream_end(session, call, to_naive_utc(self.now()))
        return False

    # --- the agents' queue ---

    def leave_for_queue(self, call: CallSession) -> None:
        """The flow handed the caller to agents: take their place in the ACD's line, by the
        customer's number (an outbound callback's customer is the number dialled)."""
        vip = {n.strip() for n in self.config["VIP_NUMBERS"].split(",") if n.strip()}
        with self.db() as session:
            priority = priority_for(session, call.customer, self.now(), vip)
        line = line_for(call)
        try:
            self.acd().enqueue(call.sid, line, self.stamp(), phone=call.customer, priority=priority)
        except AcdError:
            pass  # already in line (a repeated webhook)
        call.queue = {"skill": line, "priority": list(priority)}
        call.phase = Phase.QUEUED

    def back_in_line(self, sid: str) -> None:
        """Its agent transferred the caller (callqueue.acd's transfer): they wait in the ACD's line
        again, as any caller for an agent (for the sweep, and their record if they hang up). A
        callback's customer, on the call dialled to them, gets the session that call never had
        (none, if its hang-up came first: the sweep then clears its place in line)."""
        entry = self.acd().call(sid)

        def requeued(call: CallSession) -> None:
            call.queue = {**(call.queue or {"priority": []}), "skill": entry["skill"]}
            call.phase = Phase.QUEUED

        if self.store.change(sid, requeued, self.stamp()) is None:
            dialled = self.new_call("hotline", "outbound", {}, sid=sid, caller=self.config["TWILIO_CALLER_ID"],
                                    called=entry.get("phone", ""))
            requeued(dialled)
            self.store.create(dialled, self.stamp())

    def queue_status(self, sid: str) -> QueueStatus | None:
        """A waiting caller's place (and a sign of life for the sweep); None once not waiting."""
        acd = self.acd()
        try:
            acd.seen(sid, self.stamp())
            entry = acd.call(sid)
            ahead = acd.ahead(sid)
        except AcdError:
            return None
        agents = acd.agents_on_duty(entry["skill"])
        waited = self.stamp() - float(entry["enqueued_at"])
        return QueueStatus(
            ahead=ahead,
            minutes=max(1, round((ahead + 1) * self.config["AVERAGE_HANDLE_SECONDS"] / agents / 60)) if agents else None,
            offer_callback=waited >= self.config["QUEUE_MAX_WAIT_SECONDS"] and entry.get("keep_waiting") != "1",
        )

    def keep_place(self, sid: str) -> bool:
        """The caller hangs up but keeps their place; False if no longer waiting (an agent came)."""
        try:
            self.acd().keep_place(sid, self.stamp())
        except AcdError:
            return False
        return True

    def keep_waiting(self, sid: str) -> None:
        self.acd().keep_waiting(sid, self.stamp())

    def left_queue(self, sid: str, result: str) -> None:
        """<Enqueue action>: the caller left the queue (hung up, kept their place, or was connected)."""
        acd = self.acd()
        in_line = self._line_status(acd, sid)
        if result == "hangup":
            acd.abandon(sid, self.stamp())
        if in_line == CallStatus.CALLBACK_WAITING.value:
            what = "kept_place"
        else:
            what = "abandoned" if result == "hangup" else f"queue_{result or 'left'}"
        self.store.change(sid, lambda call: _outcome_unless_with_agent(call, what), self.stamp())

    @staticmethod
    def _line_status(acd: Distributor, sid: str) -> str | None:
        try:
            return acd.call(sid)["status"]
        except AcdError:
            return None

    def connected(self, sid: str) -> None:
        """The caller is being put through to their agent."""
        self.store.change(sid, lambda call: setattr(call, "phase", Phase.AGENT), self.stamp())

    def agent_call_ended(self, sid: str, dial_status: str) -> None:
        """<Dial action>: the call put through to an agent ended (a call never put through has
        no agent call to end)."""
        what = "answered_by_agent" if dial_status == "completed" else "agent_missed"

        def settle(call: CallSession) -> None:
            if call.phase is Phase.AGENT:
                call.outcome = what

        self.store.change(sid, settle, self.stamp())

    def stream_closed(self, sid: str) -> dict:
        """The call's media stream closed: what the flow wanted next (an agent, or hang up); a
        stream broken mid-question goes on by keypad from that question."""
        call = self.store.load(sid)
        if call is None:
            return {"type": "hangup"}
        if call.after_stream:
            after = call.after_stream
            call.after_stream = None
            if after["type"] == "transfer":
                self.leave_for_queue(call)
        elif not call.done and call.waiting:
            after = call.waiting
        else:
            after = {"type": "hangup"}
        self.save(call)
        return after

    # --- after a failure ---

    def rejoin(self, sid: str, customer: str) -> bool:
        """A step failed (the database, say): put the caller in the ACD's line with nothing but
        Redis. True when they are in line (or already were)."""
        line = skill(self.config["HOTLINE_LANGUAGE"])
        try:
            try:
                self.acd().enqueue(sid, line, self.stamp(), phone=customer)
            except AcdError:
                pass  # already in line
            # The session says so too, or the idle sweep would take a caller on hold for one
            # who stopped answering the IVR and end their call.
            self.store.change(sid, lambda call: _mark_queued(call, line), self.stamp())
        except RedisError:
            log.warning("call %s: the agents' line is out of reach", sid)
            return False
        return True

    def promise_callback(self, sid: str, customer: str) -> bool:
        """Nothing could bring the caller to an agent: book a callback in SQL (the recovery pass
        schedules it once Redis is back). True when booked."""
        try:
            with self.db() as session:
                callback, _ = book_callback(session, phone=customer, slot="soonest", now=self.now(),
                                            hours=self.app.extensions["calling_hours"], reason="outage",
                                            origin_call_sid=sid,
                                            window=timedelta(days=self.config["CALLBACK_WINDOW_DAYS"]),
                                            destinations=self.app.extensions["callback_destinations"])
                schedule_callback_job(callback)
        except SQLAlchemyError:
            log.exception("call %s: no callback could be booked either", sid)
            return False
        except CallbackRefused as refused:
            log.warning("call %s: no callback promised: %s", sid, refused)
            return False
        return True

    def ended_later(self, **report) -> bool:
        """The call's end could not be written now: keep the carrier's report (`ended`'s arguments)
        in Redis for the ticker to write (`replay_ended`). False if Redis is out of reach too."""
        return self._later({"report": report})

    def _later(self, entry: dict) -> bool:
        try:
            self.redis.rpush(ENDED_LATER, json.dumps(entry, ensure_ascii=False))
        except RedisError:
            return False
        return True

    def replay_ended(self, most: int = 100) -> int:
        """Write what `ended` could not: carrier reports, and records of sessions already ended;
        one that fails again goes back for later."""
        written = 0
        for _ in range(most):
            raw = self.redis.lpop(ENDED_LATER)
            if raw is None:
                break
            entry = json.loads(raw)
            try:
                if "report" in entry:
                    self.ended(**entry["report"])
                else:
                    with self.db() as session:
                        save_record(session, CallSession.from_json(entry["session"]),
                                    datetime.fromisoformat(entry["ended_at"]), entry["status"])
            except (RedisError, SQLAlchemyError):
                self.redis.rpush(ENDED_LATER, raw)
                break
            written += 1
        return written

    # --- the end ---

    def ended(self, sid: str, carrier_status: str, machine: bool = False,
              attempt: tuple[int, int] | None = None) -> None:
        """The carrier reported the call's end. Idempotent, and right whatever came before it:
        the caller leaves the agents' line (never offered afterwards), the session ends for good
        and its record is written; a callback's attempt (by the call's SID, or the callback and
        attempt numbers its URLs carried) gets its outcome."""
        now = to_naive_utc(self.now())
        with self.db() as session:
            record_outcome(session, sid, "machine" if machine else carrier_status, now, *(attempt or ()))
        acd = self.acd()
        kept = self.redis.getdel(kept_place_key(sid))
        if kept and carrier_status != "completed":  # the customer called back for a reserved agent did not answer
            try:
                acd.callback_unanswered(kept.decode(), self.stamp(),
                                        keep_place=scheduled_callback_attempt(kept.decode()) is None)
            except AcdError:
                pass  # a repeated status callback: already settled
        in_line = self._line_status(acd, sid)
        acd.abandon(sid, self.stamp())
        call = self.store.end(sid)
        if call is not None:
            if call.phase is Phase.QUEUED and in_line in LEFT_LINE_OUTCOMES:
                call.outcome = LEFT_LINE_OUTCOMES[in_line]  # as if the queue's exit had come first
            try:
                with self.db() as session:
                    save_record(session, call, now, carrier_status)
            except SQLAlchemyError:
                # The session has been taken for good: its record is kept in Redis until written.
                log.exception("record of call %s kept to be written later", sid)
                self._later({"session": call.to_json(), "ended_at": now.isoformat(), "status": carrier_status})
                return
            log.info("call %s ended: %s", sid, settled_outcome(call))

    def sweep(self) -> int:
        """End what the carrier never reported: callers in the agents' line whose call is gone or
        who stopped fetching the queue's hold music, and calls silent in the IVR far longer than
        any question waits. Returns how many calls were ended."""
        now, acd = self.stamp(), self.acd()
        ended = 0
        for sid in acd.waiting_sids():
            if not self.store.is_live(sid) and scheduled_callback_attempt(sid) is None:
                acd.abandon(sid, now)
                ended += 1
        for sid in acd.stale_waiting(now - self.config["QUEUE_STALE_SECONDS"]):
            if scheduled_callback_attempt(sid) is None:
                self.ended(sid, LOST)
                ended += 1
        for sid in self.store.idle(Phase.IVR, now - self.config["CALL_IDLE_END_SECONDS"]):
            if self.store.is_live(sid):
                self.ended(sid, LOST)
                ended += 1
            else:
                self.store.forget(sid)
        for phase in (Phase.QUEUED, Phase.AGENT):
            for sid in self.store.idle(phase, now - self.store.ttl):
                self.store.forget(sid)  # its session expired
        return ended


def _mark_queued(call: CallSession, line: str) -> None:
    call.queue = call.queue or {"skill": line, "priority": []}
    call.phase = Phase.QUEUED


def _outcome_unless_with_agent(call: CallSession, what: str) -> None:
    if call.phase is not Phase.AGENT:  # once put through, the agent call's end tells the outcome
        call.outcome = what


def get_calls() -> CallService:
    """The call service for this app (built per use: it holds nothing but handles)."""
    from flask import current_app

    from redis_conn import get_redis

    return CallService(current_app, get_redis())
