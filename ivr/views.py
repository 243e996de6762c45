"""Twilio voice webhooks: carrier requests in, TwiML out.

Each request: check the signature, load the call's session from Redis, turn the request
into an engine event, run the flow forward, save the session, answer with TwiML. A call in
a language with a speech model moves onto a Media Streams socket (ivr.media) right after
the answer. Anything unexpected becomes a spoken apology and a transfer to agents, never a 500.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import select
from twilio.twiml.voice_response import Connect, VoiceResponse
from werkzeug.exceptions import HTTPException

from callqueue.acd import AcdError, CallStatus
from callqueue.jobs import record_outcome
from callqueue.models import Callback
from callqueue.routing import kept_place_key, scheduled_callback_attempt
from clock import to_naive_utc
from database import get_session
from flows.engine import WAITING_ACTIONS
from flows.runner import resolve_effects
from ivr.edge import CallEdge, outcome
from ivr.media import stream_token, stream_url
from ivr.records import save_record
from ivr.security import twilio_signature_required
from ivr.telephony import SIMULATOR_OUTBOX, simulator_redirect_key
from ivr.twiml import render, spoken
from masking import mask_phone
from redis_conn import get_redis

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)

FINAL_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
URLS = {"step": "/voice/step", "queue_wait": "/voice/queue-wait", "queue_exit": "/voice/queue-exit"}
AGENT_QUEUE = "agents"
OUTBOUND_FLOWS = {"survey": "satisfaction", "notice": "notice"}  # by callback kind; others: "callback"


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
    if actions and actions[-1]["type"] == "transfer":
        edge.join_queue(call)
    call["transcript"].extend(
        {"heard": edge.words(call, play)}
        for play in (a["prompt"] if a["type"] in WAITING_ACTIONS else a for a in actions)
        if play["type"] == "play"
    )
    edge.sessions().save(call)
    return _twiml(render(actions, edge.catalogue(call["language"]), URLS))


def new_call(edge: CallEdge, flow: str, direction: str, variables: dict, *, sid: str, caller: str,
             called: str) -> dict:
    """A call's session as it starts: who, which flow, and the flow's first variables."""
    language = edge.config["HOTLINE_LANGUAGE"]
    speech = edge.speech_models.get(language) is not None
    agents = current_app.extensions["agent_hours"]
    agents_back = agents.local(agents.next_opening(edge.now()))
    return {
        "sid": sid, "from": caller, "to": called,
        "direction": direction, "flow": flow, "language": language,
        "started_at": to_naive_utc(edge.now()).isoformat(), "state": {}, "events": [], "transcript": [],
        "outcome": None,
        "vars": {"brand": edge.config["HOTLINE_BRAND"], "language": language,
                 "speech_input": "yes" if speech else "",
                 "agents_open": "yes" if agents.is_open(edge.now()) else "",
                 "agents_back": agents_back.isoformat(timespec="minutes"), **variables},
    }


def connect_stream(edge: CallEdge, call: dict) -> Response:
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
    form = request.form
    call = new_call(edge, flow, direction, variables, sid=form["CallSid"], caller=form.get("From", ""),
                    called=form.get("To", ""))
    log.info("%s call %s %s %s", direction, call["sid"], "from" if direction == "inbound" else "to",
             mask_phone(call["from"] if direction == "inbound" else call["to"]))
    if call["vars"]["speech_input"]:
        return connect_stream(edge, call)
    return _advance(edge, call, None)


@bp.post("/incoming")
@twilio_signature_required
def incoming():
    _require("CallSid", "From")
    return _start("hotline", "inbound", {"contact_phone": request.form["From"]})


@bp.post("/callback/<int:callback_id>")
@twilio_signature_required
def callback_answered(callback_id: int):
    """An outbound callback answered: a person is greeted and brought to an agent; an answering
    machine gets a short message, and the attempt counts as not reached (it will be retried)."""
    _require("CallSid")
    if request.form.get("AnsweredBy", "").startswith("machine"):
        edge = CallEdge()
        record_outcome(get_session(), request.form["CallSid"], "machine", to_naive_utc(edge.now()))
        return _twiml(spoken(edge.catalogue(), "machine_message", {"brand": edge.config["HOTLINE_BRAND"]}))
    callback = get_session().get(Callback, callback_id)
    flow = OUTBOUND_FLOWS.get(callback.kind if callback is not None else "", "callback")
    return _start(flow, "outbound", {"callback_id": callback_id})


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
    elif request.args.get("event") == "recording":
        # The recording stays with the carrier (Twilio); the call keeps its address and length.
        _require("RecordingUrl")
        event = {"type": "recording", "value": request.form["RecordingUrl"],
                 "seconds": request.form.get("RecordingDuration", "")}
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
        if actions[0]["type"] == "transfer":
            edge.join_queue(call)
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
    """Twilio's waitUrl, fetched again whenever it ends: position, estimated wait, and 1 to keep
    one's place by callback; after QUEUE_MAX_WAIT_SECONDS the callback is offered outright."""
    edge = CallEdge()
    catalogue = edge.catalogue()
    response = VoiceResponse()
    sid = request.form.get("CallSid", "")
    acd = edge.distributor()
    try:
        call = acd.call(sid)
        position = acd.position(sid)
        agents = max(1, acd.agents_with(call["skill"]))
    except AcdError:
        position = None
    if position is None:
        response.say(catalogue.render("queue_waiting", {}), language=catalogue.language)
    elif (edge.now().timestamp() - float(call["enqueued_at"]) >= edge.config["QUEUE_MAX_WAIT_SECONDS"]
          and call.get("keep_waiting") != "1"):
        gather = response.gather(input="dtmf", num_digits=1, action="/voice/queue-keep-place", method="POST",
                                 timeout=5)
        gather.say(catalogue.render("queue_max_wait", {}), language=catalogue.language)
        response.redirect("/voice/queue-keep-place?auto=1", method="POST")  # no answer: keep the place
        return _twiml(response)
    else:
        minutes = max(1, round(position * edge.config["AVERAGE_HANDLE_SECONDS"] / agents / 60))
        gather = response.gather(input="dtmf", num_digits=1, action="/voice/queue-keep-place", method="POST",
                                 timeout=1)
        gather.say(catalogue.render("queue_position", {"position": position, "minutes": minutes}),
                   language=catalogue.language)
    response.pause(length=edge.config["QUEUE_ANNOUNCE_SECONDS"])
    return _twiml(response)


@bp.post("/queue-keep-place")
@twilio_signature_required
def queue_keep_place():
    """A waiting caller pressed 1 (or did not answer the offer after a long wait): hang up and be
    called back in their turn. 2 after a long wait: stay on the line."""
    _require("CallSid")
    edge = CallEdge()
    response = VoiceResponse()
    choice = request.form.get("Digits") or ("1" if request.args.get("auto") else "")
    if choice == "1":
        try:
            edge.distributor().keep_place(request.form["CallSid"], edge.now().timestamp())
        except AcdError:
            response.pause(length=1)  # no longer waiting (an agent was found): nothing to keep
            return _twiml(response)
        catalogue = edge.catalogue()
        response.say(catalogue.render("kept_place", {}), language=catalogue.language)
        response.hangup()
    else:
        if choice == "2":
            edge.distributor().keep_waiting(request.form["CallSid"], edge.now().timestamp())
        response.pause(length=1)
    return _twiml(response)


@bp.post("/queue-exit")
@twilio_signature_required
def queue_exit():
    """<Enqueue action>: the caller left the queue (hung up, kept their place, or was connected)."""
    edge = CallEdge()
    call = _live_call(edge)
    result = request.form.get("QueueResult", "")
    acd = edge.distributor()
    try:
        kept = acd.call(call["sid"])["status"] == CallStatus.CALLBACK_WAITING.value
    except AcdError:
        kept = False
    if result == "hangup" and not kept:
        acd.abandon(call["sid"], edge.now().timestamp())
    call["outcome"] = "kept_place" if kept else ("abandoned" if result == "hangup" else f"queue_{result or 'left'}")
    edge.sessions().save(call)
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)


@bp.post("/connect/<agent_id>")
@twilio_signature_required
def connect_agent(agent_id: str):
    """The ACD's chosen agent accepted: bridge the caller to them (phone, or console client)."""
    from console.models import User

    user = get_session().scalar(select(User).where(User.username == agent_id))
    response = VoiceResponse()
    dial = response.dial(action="/voice/agent-call-ended", method="POST")
    if user is not None and user.phone:
        dial.number(user.phone)
    else:
        dial.client(agent_id)
    return _twiml(response)


@bp.post("/agent-call-ended")
@twilio_signature_required
def agent_call_ended():
    edge = CallEdge()
    sessions = edge.sessions()
    call = sessions.load(request.form.get("CallSid", ""))
    if call is not None:
        call["outcome"] = "answered_by_agent" if request.form.get("DialCallStatus") == "completed" else "agent_missed"
        sessions.save(call)
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)


@bp.post("/simulator/outbound")
@twilio_signature_required
def simulator_outbound():
    """The local carrier takes the next outbound call the hotline placed (JSON), if any."""
    if not current_app.config["LOCAL_CARRIER"]:
        abort(404)
    placed = get_redis().lpop(SIMULATOR_OUTBOX)
    return Response(placed or b"", status=200 if placed else 204, mimetype="application/json")


@bp.post("/simulator/redirect")
@twilio_signature_required
def simulator_redirect():
    """The local carrier's side of a REST call update: where a live call must go next."""
    if not current_app.config["LOCAL_CARRIER"]:
        abort(404)
    _require("CallSid")
    url = get_redis().getdel(simulator_redirect_key(request.form["CallSid"]))
    return Response(url or b"", status=200 if url else 204, mimetype="text/plain")


@bp.post("/status")
@twilio_signature_required
def status():
    _require("CallSid", "CallStatus")
    carrier_status = request.form["CallStatus"]
    if carrier_status in FINAL_CALL_STATUSES:
        edge = CallEdge()
        outcome = "machine" if request.form.get("AnsweredBy", "").startswith("machine") else carrier_status
        record_outcome(get_session(), request.form["CallSid"], outcome, to_naive_utc(edge.now()))
        kept = get_redis().getdel(kept_place_key(request.form["CallSid"]))
        if kept and carrier_status != "completed":  # the customer called back for a reserved agent did not answer
            edge.distributor().callback_unanswered(kept.decode(), edge.now().timestamp(),
                                                   keep_place=scheduled_callback_attempt(kept.decode()) is None)
        call = edge.sessions().take(request.form["CallSid"])
        if call is not None:
            save_record(get_session(), call, to_naive_utc(edge.now()), carrier_status)
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
