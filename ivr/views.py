"""Twilio voice webhooks: carrier requests in, TwiML out.

Each request: check the signature, load the call's session from Redis, turn the request
into an engine event, run the flow forward, save the session, answer with TwiML.
Anything unexpected becomes a spoken apology and a transfer to agents, never a 500.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from redis.exceptions import RedisError
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from callqueue.jobs import get_queue, schedule_callback
from clock import to_naive_utc
from database import get_session
from flows.effects import EffectContext
from flows.runner import resolve_effects
from ivr.records import save_record
from ivr.security import twilio_signature_required
from ivr.sessions import CallSessions
from ivr.twiml import render, spoken
from masking import mask_phone
from redis_conn import get_redis

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)

FINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
URLS = {"step": "/voice/step", "queue_wait": "/voice/queue-wait", "queue_exit": "/voice/queue-exit"}
AGENT_QUEUE = "agents"


def _sessions() -> CallSessions:
    return CallSessions(get_redis(), current_app.config["CALL_SESSION_TTL_SECONDS"])


def _catalogue(language: str | None = None):
    catalogues = current_app.extensions["prompt_catalogues"]
    return catalogues.get(language or "", catalogues[current_app.config["HOTLINE_LANGUAGE"]])


def _now():
    return current_app.config["CLOCK"]()


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def _schedule(callback) -> None:
    try:
        schedule_callback(get_queue(get_redis()), callback)
    except RedisError:
        # SQL already holds the callback; the worker reschedules it when Redis is back.
        log.exception("callback %s stored but not scheduled", callback.id)


def _context(call: dict) -> EffectContext:
    return EffectContext(
        session=get_session(), now=_now(), caller=call["from"], call_sid=call["sid"],
        sla=current_app.extensions["sla_policy"], hours=current_app.extensions["calling_hours"],
        schedule_callback=_schedule,
    )


def _advance(call: dict, event: dict | None) -> Response:
    """Feed one event (None: the call starts) and answer with the TwiML the flow asks for."""
    engine = current_app.extensions["flow_engine"]
    if event is None:
        state, actions = engine.start(call["flow"], call["vars"])
    else:
        state, actions = engine.step(call["state"], event)
    state, actions = resolve_effects(engine, state, actions, _context(call))
    call["state"] = state
    call["events"].append({"at": _now().isoformat(timespec="seconds"), "event": (event or {}).get("type", "start"),
                           "value": (event or {}).get("value"), "step": state["step"]})
    if state["done"]:
        call["outcome"] = _outcome(state, actions)
    catalogue = _catalogue(call["language"])
    call["transcript"].extend(
        {"heard": catalogue.render(play["prompt"], play["vars"])}
        for play in (a["prompt"] if a["type"] == "gather" else a for a in actions)
        if play["type"] == "play"
    )
    _sessions().save(call)
    return _twiml(render(actions, catalogue, URLS))


def _outcome(state: dict, actions: list[dict]) -> str:
    if actions and actions[-1]["type"] == "transfer":
        return "transferred"
    variables = state["vars"]
    if variables.get("ticket_number"):
        return "complaint_filed"
    if variables.get("callback_time"):
        return "callback_booked"
    return "self_service"


def _new_call(flow: str, direction: str, variables: dict) -> dict:
    form = request.form
    language = current_app.config["HOTLINE_LANGUAGE"]
    return {
        "sid": form["CallSid"], "from": form.get("From", ""), "to": form.get("To", ""),
        "direction": direction, "flow": flow, "language": language,
        "started_at": to_naive_utc(_now()).isoformat(), "state": {}, "events": [], "transcript": [],
        "outcome": None,
        "vars": {"brand": current_app.config["HOTLINE_BRAND"], "language": language, **variables},
    }


def _require(*names: str) -> None:
    missing = [name for name in names if not request.form.get(name, "").strip()]
    if missing:
        abort(400, description=f"missing parameter(s): {', '.join(missing)}")


@bp.post("/incoming")
@twilio_signature_required
def incoming():
    _require("CallSid", "From")
    call = _new_call("hotline", "inbound", {"contact_phone": request.form["From"]})
    log.info("call %s from %s", call["sid"], mask_phone(call["from"]))
    return _advance(call, None)


@bp.post("/callback/<int:callback_id>")
@twilio_signature_required
def callback_answered(callback_id: int):
    """An outbound callback the customer answered: greet them and bring them to an agent."""
    _require("CallSid")
    call = _new_call("callback", "outbound", {"callback_id": callback_id})
    return _advance(call, None)


@bp.post("/step")
@twilio_signature_required
def step():
    _require("CallSid")
    call = _sessions().load(request.form["CallSid"])
    if call is None:
        return _twiml(spoken(_catalogue(), "session_expired"))
    if request.args.get("event") == "timeout":
        event = {"type": "timeout"}
    else:
        event = {"type": "digits", "value": request.form.get("Digits", "")}
    if call["transcript"]:
        call["transcript"][-1]["pressed"] = event.get("value")
    return _advance(call, event)


@bp.post("/queue-wait")
@twilio_signature_required
def queue_wait():
    response = VoiceResponse()
    position = request.form.get("QueuePosition", "")
    key = "queue_position" if position.isdigit() else "queue_waiting"
    response.say(_catalogue().render(key, {"position": position}), language=_catalogue().language)
    response.pause(length=10)
    return _twiml(response)


@bp.post("/queue-exit")
@twilio_signature_required
def queue_exit():
    _require("CallSid")
    sessions = _sessions()
    call = sessions.load(request.form["CallSid"])
    if call is not None:
        result = request.form.get("QueueResult", "")
        call["outcome"] = "abandoned" if result == "hangup" else f"queue_{result or 'left'}"
        sessions.save(call)
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)


@bp.post("/status")
@twilio_signature_required
def status():
    _require("CallSid", "CallStatus")
    carrier_status = request.form["CallStatus"]
    if carrier_status in FINAL_CALL_STATUSES:
        sessions = _sessions()
        call = sessions.load(request.form["CallSid"])
        if call is not None:
            save_record(get_session(), call, to_naive_utc(_now()), carrier_status)
            sessions.delete(call["sid"])
            log.info("call %s ended: %s", call["sid"], call.get("outcome"))
    return Response(status=204)


@bp.errorhandler(Exception)
def spoken_fallback(error):
    """Never a 500 to the carrier: apologise and send the caller to an agent."""
    if isinstance(error, HTTPException):
        return error
    log.exception("voice webhook %s failed", request.path)
    response = VoiceResponse()
    response.say(_catalogue().render("technical_problem", {}), language=_catalogue().language)
    response.enqueue(AGENT_QUEUE, wait_url=URLS["queue_wait"], wait_url_method="POST")
    return _twiml(response)
