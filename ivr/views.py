"""Twilio voice webhooks: carrier requests in, TwiML out.

Thin adapters over the call service (calls.service): check the signature, turn the request
into a call to the service, answer with TwiML built by twilio's objects. A call in a language
with a speech model moves onto a Media Streams socket (ivr.media) right after the answer.
Anything unexpected becomes a spoken apology and a transfer to agents, never a 500.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from redis.exceptions import RedisError
from sqlalchemy import select
from twilio.twiml.voice_response import Connect, VoiceResponse
from werkzeug.exceptions import HTTPException

from callqueue.jobs import attempt_of, record_outcome
from callqueue.models import Callback
from calls import CallService, CallSession, get_calls
from calls.service import FINAL_CALL_STATUSES
from clock import to_naive_utc
from database import get_session
from ivr.media import stream_token, stream_url
from ivr.security import twilio_signature_required
from ivr.telephony import simulator_redirect_key
from ivr.twiml import render, spoken
from redis_conn import get_redis
from speech.audio import hold_music_wav

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger(__name__)

URLS = {"step": "/voice/step", "queue_wait": "/voice/queue-wait", "queue_exit": "/voice/queue-exit"}
AGENT_QUEUE = "agents"
HOLD_MUSIC_URL = "/voice/hold-music.wav"
REJOIN_PAUSE_S = 5
OUTBOUND_FLOWS = {"survey": "satisfaction", "notice": "notice"}  # by callback kind; others: "callback"


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def _hangup() -> Response:
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)


def _answer(calls: CallService, call: CallSession, actions: list[dict]) -> Response:
    """Save the call and answer with the TwiML for the flow's actions."""
    if actions and actions[-1]["type"] == "transfer":
        calls.leave_for_queue(call)
    calls.heard(call, actions)
    if not calls.save(call):
        return _hangup()  # the caller hung up while this step ran
    return _twiml(render(actions, calls.catalogue(call.language), URLS))


def _require(*names: str) -> None:
    missing = [name for name in names if not request.form.get(name, "").strip()]
    if missing:
        abort(400, description=f"missing parameter(s): {', '.join(missing)}")


def _start(flow: str, direction: str, variables: dict) -> Response:
    calls = get_calls()
    form = request.form
    call = calls.start(calls.new_call(flow, direction, variables, sid=form["CallSid"], caller=form.get("From", ""),
                                      called=form.get("To", "")))
    if call is None:
        return _hangup()  # a retried webhook for a call that has already ended
    if call.media:
        return _connect_stream(call)
    return _answer(calls, call, calls.begin(call))


def _connect_stream(call: CallSession) -> Response:
    """Move the call onto a bidirectional Media Stream; the flow runs there."""
    response = VoiceResponse()
    connect = Connect(action="/voice/stream-ended", method="POST")
    stream = connect.stream(url=stream_url())
    stream.parameter(name="token", value=stream_token(current_app.config["TWILIO_AUTH_TOKEN"], call.sid))
    response.append(connect)
    return _twiml(response)


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
    sid, number = request.form["CallSid"], request.args.get("attempt", type=int)
    if request.form.get("AnsweredBy", "").startswith("machine"):
        calls = get_calls()
        record_outcome(get_session(), sid, "machine", to_naive_utc(calls.now()), callback_id, number)
        return _twiml(spoken(calls.catalogue(), "machine_message", {"brand": current_app.config["HOTLINE_BRAND"]}))
    attempt_of(get_session(), sid, callback_id, number)  # the SID, if the worker that dialled died unsaved
    callback = get_session().get(Callback, callback_id)
    flow = OUTBOUND_FLOWS.get(callback.kind if callback is not None else "", "callback")
    return _start(flow, "outbound", {"callback_id": callback_id})


@bp.post("/step")
@twilio_signature_required
def step():
    _require("CallSid")
    calls = get_calls()
    call = calls.load(request.form["CallSid"])
    if call is None:
        return _twiml(spoken(calls.catalogue(), "session_expired"))
    if request.args.get("event") == "timeout":
        event = {"type": "timeout"}
    elif request.args.get("event") == "recording":
        # The recording stays with the carrier (Twilio); the call keeps its address and length.
        _require("RecordingUrl")
        event = {"type": "recording", "value": request.form["RecordingUrl"],
                 "seconds": request.form.get("RecordingDuration", "")}
    else:
        event = {"type": "digits", "value": request.form.get("Digits", "")}
    return _answer(calls, call, calls.step(call, event))


@bp.post("/stream-ended")
@twilio_signature_required
def stream_ended():
    """<Connect action>: the media stream closed; carry out what the flow wanted next."""
    _require("CallSid")
    calls = get_calls()
    after = calls.stream_closed(request.form["CallSid"])
    return _twiml(render([after], calls.catalogue(), URLS))


@bp.post("/queue-wait")
@twilio_signature_required
def queue_wait():
    """Twilio's waitUrl, fetched again whenever it ends: callers ahead, estimated wait, and 1 to
    keep one's place by callback; after QUEUE_MAX_WAIT_SECONDS the callback is offered outright.
    Each fetch is also the waiting call's sign of life."""
    calls = get_calls()
    catalogue = calls.catalogue()
    response = VoiceResponse()
    sid = request.form.get("CallSid", "")
    waiting = calls.queue_status(sid)
    if waiting is None and calls.store.has_ended(sid):
        return _hangup()  # a late fetch for a caller who has gone
    if waiting is None:
        response.say(catalogue.render("queue_waiting", {}), language=catalogue.language)
    elif waiting.offer_callback:
        gather = response.gather(input="dtmf", num_digits=1, action="/voice/queue-keep-place", method="POST",
                                 timeout=5)
        gather.say(catalogue.render("queue_max_wait", {}), language=catalogue.language)
        response.redirect("/voice/queue-keep-place?auto=1", method="POST")  # no answer: keep the place
        return _twiml(response)
    else:
        gather = response.gather(input="dtmf", num_digits=1, action="/voice/queue-keep-place", method="POST",
                                 timeout=1)
        if waiting.minutes is None:  # no estimate to give: their place, and the truth
            prompts = ["queue_ahead", "queue_unstaffed"] if waiting.ahead else ["queue_unstaffed"]
        else:
            prompts = ["queue_position" if waiting.ahead else "queue_next"]
        for prompt in prompts:
            gather.say(catalogue.render(prompt, {"ahead": waiting.ahead, "minutes": waiting.minutes}),
                       language=catalogue.language)
    response.pause(length=current_app.config["QUEUE_ANNOUNCE_SECONDS"])
    return _twiml(response)


@bp.post("/queue-keep-place")
@twilio_signature_required
def queue_keep_place():
    """A waiting caller pressed 1 (or did not answer the offer after a long wait): hang up and be
    called back in their turn. 2 after a long wait: stay on the line."""
    _require("CallSid")
    calls = get_calls()
    response = VoiceResponse()
    choice = request.form.get("Digits") or ("1" if request.args.get("auto") else "")
    if choice == "1":
        if not calls.keep_place(request.form["CallSid"]):
            response.pause(length=1)  # no longer waiting (an agent was found): nothing to keep
            return _twiml(response)
        catalogue = calls.catalogue()
        response.say(catalogue.render("kept_place", {}), language=catalogue.language)
        response.hangup()
    else:
        if choice == "2":
            calls.keep_waiting(request.form["CallSid"])
        response.pause(length=1)
    return _twiml(response)


@bp.post("/queue-exit")
@twilio_signature_required
def queue_exit():
    """<Enqueue action>: the caller left the queue (hung up, kept their place, or was connected)."""
    _require("CallSid")
    get_calls().left_queue(request.form["CallSid"], request.form.get("QueueResult", ""))
    return _hangup()


@bp.post("/connect/<agent_id>")
@twilio_signature_required
def connect_agent(agent_id: str):
    """The ACD's chosen agent accepted: bridge the caller to them (phone, or console client)."""
    from console.models import User, client_identity

    if request.form.get("CallSid"):
        get_calls().connected(request.form["CallSid"])
    user = get_session().scalar(select(User).where(User.username == agent_id))
    response = VoiceResponse()
    dial = response.dial(action="/voice/agent-call-ended", method="POST")
    if user is not None and user.phone:
        dial.number(user.phone)
    else:
        dial.client(client_identity(agent_id))
    return _twiml(response)


@bp.post("/transferred")
@twilio_signature_required
def transferred():
    """Its agent transferred the caller (a REST redirect off their <Dial>): they wait in the app's
    own line again, which the ACD serves (Twilio's queue only holds them, with the line's waitUrl),
    and are put through as any waiting caller once the next agent accepts."""
    return _twiml(render([{"type": "transfer", "queue": AGENT_QUEUE}], get_calls().catalogue(), URLS))


@bp.post("/hold")
@twilio_signature_required
def hold():
    """Its agent put the caller on hold (a REST redirect off their <Dial>): the hotline's hold
    music, looped, until the agent resumes (a redirect back to /voice/connect/<agent>)."""
    response = VoiceResponse()
    response.play(HOLD_MUSIC_URL, loop=0)
    return _twiml(response)


@bp.get("/hold-music.wav")
def hold_music_file():
    """The hold music as a WAV file for <Play> (the same tune the local bridge plays: no secret,
    so the carrier fetches it unsigned)."""
    return Response(hold_music_wav(), mimetype="audio/wav", headers={"Cache-Control": "public, max-age=86400"})


@bp.post("/agent-call-ended")
@twilio_signature_required
def agent_call_ended():
    _require("CallSid")
    get_calls().agent_call_ended(request.form["CallSid"], request.form.get("DialCallStatus", ""))
    return _hangup()


@bp.post("/simulator/outbound")
@twilio_signature_required
def simulator_outbound():
    """The local carrier takes the next outbound call the hotline placed (JSON), if any."""
    from ivr.telephony import SIMULATOR_OUTBOX

    if not current_app.config["LOCAL_CARRIER"]:
        abort(404)
    placed = _local_carrier_store(lambda redis: redis.lpop(SIMULATOR_OUTBOX))
    if isinstance(placed, Response):
        return placed
    return Response(placed or b"", status=200 if placed else 204, mimetype="application/json")


def _local_carrier_store(read):
    """The local carrier keeps its calls in the hotline's Redis; while that is out of reach it has
    nothing to report yet (503, asked again), never the callers' spoken apology as its answer."""
    try:
        return read(get_redis())
    except RedisError:
        return Response("the local carrier's store is out of reach", status=503, mimetype="text/plain")


@bp.post("/simulator/redirect")
@twilio_signature_required
def simulator_redirect():
    """The local carrier's side of a REST call update: where a live call must go next."""
    if not current_app.config["LOCAL_CARRIER"]:
        abort(404)
    _require("CallSid")
    url = _local_carrier_store(lambda redis: redis.getdel(simulator_redirect_key(request.form["CallSid"])))
    if isinstance(url, Response):
        return url
    return Response(url or b"", status=200 if url else 204, mimetype="text/plain")


@bp.post("/status")
@twilio_signature_required
def status():
    """The carrier's report of a call's end: written now, or kept to be written by the ticker; when
    neither can be done the carrier is told so (503), never a silent 200."""
    _require("CallSid", "CallStatus")
    if request.form["CallStatus"] not in FINAL_CALL_STATUSES:
        return Response(status=204)
    calls = get_calls()
    report = {"sid": request.form["CallSid"], "carrier_status": request.form["CallStatus"],
              "machine": request.form.get("AnsweredBy", "").startswith("machine"), "attempt": _callback_attempt()}
    try:
        calls.ended(**report)
    except Exception:
        log.exception("the end of call %s could not be written now", request.form["CallSid"])
        if not calls.ended_later(**report):
            return Response("the call's end could not be recorded", status=503, mimetype="text/plain")
        return Response(status=202)
    return Response(status=204)


@bp.post("/rejoin")
@twilio_signature_required
def rejoin():
    """A caller on hold after a failure tries again to reach the agents' line."""
    return _after_failure(max(1, request.args.get("tries", 1, type=int)))


def _callback_attempt() -> tuple[int, int] | None:
    """(callback id, attempt number) that an outbound callback's status URL carries."""
    callback_id, number = request.args.get("callback", type=int), request.args.get("attempt", type=int)
    return (callback_id, number) if callback_id is not None and number is not None else None


def _after_failure(tries: int) -> Response:
    """The way on for a caller whose step failed: the app's own agents' line (Redis only); else
    the overflow number; else hold and try again for a while; else a callback promised in SQL.
    Never a Twilio queue nobody serves."""
    calls = get_calls()
    catalogue = calls.catalogue()
    form = request.form
    sid = form.get("CallSid", "")
    customer = form.get("From", "") if form.get("Direction", "inbound") == "inbound" else form.get("To", "")
    response = VoiceResponse()
    if tries == 0:
        response.say(catalogue.render("technical_problem", {}), language=catalogue.language)
    if sid and calls.rejoin(sid, customer):
        response = render([{"type": "transfer", "queue": AGENT_QUEUE}], catalogue, URLS, response)
    elif current_app.config["OVERFLOW_NUMBER"]:
        response.dial(current_app.config["OVERFLOW_NUMBER"])
    elif tries < current_app.config["REJOIN_TRIES"]:
        if tries:
            response.say(catalogue.render("queue_waiting", {}), language=catalogue.language)
        response.pause(length=REJOIN_PAUSE_S)
        response.redirect(f"/voice/rejoin?tries={tries + 1}", method="POST")
    elif customer and calls.promise_callback(sid, customer):
        response.say(catalogue.render("outage_callback", {}), language=catalogue.language)
        response.hangup()
    else:
        response.say(catalogue.render("outage_goodbye", {}), language=catalogue.language)
        response.hangup()
    return _twiml(response)


@bp.errorhandler(Exception)
def spoken_fallback(error):
    """Never a 500 to the carrier: apologise and bring the caller to a person or a promise."""
    if isinstance(error, HTTPException):
        return error
    log.exception("voice webhook %s failed", request.path)
    return _after_failure(0)
