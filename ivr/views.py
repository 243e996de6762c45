"""Twilio voice webhooks: carrier requests in, TwiML out.

Each request: check the signature, load the call's session from Redis, turn the request
into an engine event, run the flow forward, save the session, answer with TwiML. A call in
a language with a speech model moves onto a Media Streams socket (ivr.media) right after
the answer. Anything unexpected becomes a spoken apology and a transfer to agents, never a 500.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from twilio.twiml.voice_response import Connect, VoiceResponse
from werkzeug.exceptions import HTTPException

from clock import to_naive_utc
from database import get_session
from flows.runner import resolve_effects
from ivr.edge import CallEdge, outcome
from ivr.media import stream_token, stream_url
from ivr.records import save_record
from ivr.security import twilio_signature_required
from ivr.twiml import render, spoken
from masking import mask_phone

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)

FINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
URLS = {"step": "/voice/step", "queue_wait": "/voice/queue-wait", "queue_exit": "/voice/queue-exit"}
AGENT_QUEUE = "agents"


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def _advance(edge: CallEdge, call: dict, event: dict | None) -> Response:
    """Feed one event (None: the call starts) and answer with the TwiML the flow asks for."""
    edge.note_event(call, event or {"type": "start"})
    if event is None:
        state, actions = edge.engine.start(call["flow"], call["vars"])
    else:
        state, actions = edge.engine.step(call["state"], event)
    state, actions = resolve_effects(edge.engine, state, actions, edge.context(call))
    call["state"] = state
    return _answer(edge, call, actions)


def _answer(edge: CallEdge, call: dict, actions: list[dict]) -> Response:
    if call["state"]["done"]:
        call["outcome"] = outcome(call["state"], actions)
    call["transcript"].extend(
        {"heard": edge.words(call, play)}
        for play in (a["prompt"] if a["type"] == "gather" else a for a in actions)
        if play["type"] == "play"
    )
    edge.sessions().save(call)
    return _twiml(render(actions, edge.catalogue(call["language"]), URLS))


def _new_call(edge: CallEdge, flow: str, direction: str, variables: dict) -> dict:
    form = request.form
    language = edge.config["HOTLINE_LANGUAGE"]
    speech = edge.speech_models.get(language) is not None
    return {
        "sid": form["CallSid"], "from": form.get("From", ""), "to": form.get("To", ""),
        "direction": direction, "flow": flow, "language": language,
        "started_at": to_naive_utc(edge.now()).isoformat(), "state": {}, "events": [], "transcript": [],
        "outcome": None,
        "vars": {"brand": edge.config["HOTLINE_BRAND"], "language": language,
                 "speech_input": "yes" if speech else "", **variables},
    }


def _connect_stream(edge: CallEdge, call: dict) -> Response:
    """Move the call onto a bidirectional Media Stream; the flow starts there."""
    edge.sessions().save(call)
    response = VoiceResponse()
    connect = Connect(action="/voice/stream-ended", method="POST")
    stream = connect.stream(url=stream_url())
    stream.parameter(name="token", value=stream_token(edge.config["TWILIO_AUTH_TOKEN"], call["sid"]))
    response.append(connect)
    return _twiml(response)


def _require(*names: str) -> None:
    missing = [name for name in names if not request.form.get(name, "").strip()]
    if missing:
        abort(400, description=f"missing parameter(s): {', '.join(missing)}")


def _start(flow: str, direction: str, variables: dict) -> Response:
    edge = CallEdge()
    call = _new_call(edge, flow, direction, variables)
    log.info("%s call %s %s %s", direction, call["sid"], "from" if direction == "inbound" else "to",
             mask_phone(call["from"] if direction == "inbound" else call["to"]))
    if call["vars"]["speech_input"]:
        return _connect_stream(edge, call)
    return _advance(edge, call, None)


@bp.post("/incoming")
@twilio_signature_required
def incoming():
    _require("CallSid", "From")
    return _start("hotline", "inbound", {"contact_phone": request.form["From"]})


@bp.post("/callback/<int:callback_id>")
@twilio_signature_required
def callback_answered(callback_id: int):
    """An outbound callback the customer answered: greet them and bring them to an agent."""
    _require("CallSid")
    return _start("callback", "outbound", {"callback_id": callback_id})


def _live_call(edge: CallEdge) -> dict:
    """The session of the call this request is about; a call Redis no longer knows is told so."""
    _require("CallSid")
    call = edge.sessions().load(request.form["CallSid"])
    if call is None:
        abort(_twiml(spoken(edge.catalogue(), "session_expired")))
    return call


@bp.post("/step")
@twilio_signature_required
def step():
    edge = CallEdge()
    call = _live_call(edge)
    if request.args.get("event") == "timeout":
        event = {"type": "timeout"}
    else:
        event = {"type": "digits", "value": request.form.get("Digits", "")}
    return _advance(edge, call, event)


@bp.post("/stream-ended")
@twilio_signature_required
def stream_ended():
    """<Connect action>: the media stream closed; carry out what the flow wanted next."""
    edge = CallEdge()
    call = _live_call(edge)
    if call.get("after_stream"):
        actions = [call.pop("after_stream")]
    elif call["state"].get("done") is False and call.get("waiting"):
        # The stream broke mid-call: go on by keypad from the question the caller was asked.
        actions = [call["waiting"]]
    else:
        actions = [{"type": "hangup"}]
    edge.sessions().save(call)
    return _twiml(render(actions, edge.catalogue(call["language"]), URLS))


@bp.post("/queue-wait")
@twilio_signature_required
def queue_wait():
    catalogue = CallEdge().catalogue()
    response = VoiceResponse()
    position = request.form.get("QueuePosition", "")
    key = "queue_position" if position.isdigit() else "queue_waiting"
    response.say(catalogue.render(key, {"position": position}), language=catalogue.language)
    response.pause(length=10)
    return _twiml(response)


@bp.post("/queue-exit")
@twilio_signature_required
def queue_exit():
    _require("CallSid")
    sessions = CallEdge().sessions()
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
        edge = CallEdge()
        sessions = edge.sessions()
        call = sessions.load(request.form["CallSid"])
        if call is not None:
            save_record(get_session(), call, to_naive_utc(edge.now()), carrier_status)
            sessions.delete(call["sid"])
            log.info("call %s ended: %s", call["sid"], call.get("outcome") or "caller_hung_up")
    return Response(status=204)


@bp.errorhandler(Exception)
def spoken_fallback(error):
    """Never a 500 to the carrier: apologise and send the caller to an agent."""
    if isinstance(error, HTTPException):
        return error
    log.exception("voice webhook %s failed", request.path)
    catalogue = current_app.extensions["prompt_catalogues"][current_app.config["HOTLINE_LANGUAGE"]]
    response = VoiceResponse()
    response.say(catalogue.render("technical_problem", {}), language=catalogue.language)
    response.enqueue(AGENT_QUEUE, wait_url=URLS["queue_wait"], wait_url_method="POST")
    return _twiml(response)
