"""The browser softphone: anyone logged in calls the hotline from a browser. The page sends
the microphone as 8 kHz mu-law 20 ms frames and keypad presses as DTMF over the same Media
Streams protocol the carrier uses, and plays the hotline's audio back. The caller may say which
number the call comes from (the caller ID a phone would present: a customer's, to be known by
it); without one it is an unknown number. Who placed each call is kept beside its session: only
they may act on it (console.policy)."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from calls import get_calls
from console import policy
from console.auth import current_user, login_required
from console.security import same_origin_required
from console.words import WORDS, page_language
from ivr.media import run_stream, sock, stream_token
from keys import key_for
from redis_conn import get_redis
from tracking.service import is_phone_number, normalise_phone

bp = Blueprint("softphone", __name__)
SOFTPHONE_NUMBER = "softphone"


@bp.before_request
def logged_in():
    """The API and the websocket handshake need a console login (the page offers one)."""
    if request.endpoint != "softphone.page" and current_user() is None:
        abort(401)


bp.before_request(same_origin_required)


def _placed_by_key(call_sid: str) -> str:
    return key_for("softphone-placed-by", call_sid)


def _own_call(call_sid: str) -> str:
    """The call's sid if the current user placed it; 404 otherwise (as for no call at all)."""
    placed_by = get_redis().get(_placed_by_key(call_sid))
    if not policy.may_use_call(current_user(), placed_by.decode() if placed_by else None):
        abort(404)
    return call_sid


@bp.get("/softphone")
def page():
    lang = page_language()
    return render_template("softphone.html", words=WORDS[lang], lang=lang)


@bp.post("/softphone/calls")
@login_required()
def place():
    """Start a call: its session, and the token its stream must present."""
    from console.api import _body, error_response  # console.api builds on this module

    caller_id = _body().get("from") or ""
    number = normalise_phone(caller_id) if isinstance(caller_id, str) else ""
    if caller_id and not is_phone_number(number):
        return error_response("caller_id_invalid", 400)
    calls = get_calls()
    user = current_user()
    sid = "CA" + uuid.uuid4().hex
    # Stored first, for as long as the call's session lives: the call is never without its owner.
    get_redis().set(_placed_by_key(sid), user.id, ex=current_app.config["CALL_SESSION_TTL_SECONDS"])
    call = calls.start(calls.new_call("hotline", "inbound", {"contact_phone": number}, sid=sid,
                                      caller=number or SOFTPHONE_NUMBER, called=SOFTPHONE_NUMBER, media=True))
    return jsonify(call_sid=call.sid, token=stream_token(current_app.config["TWILIO_AUTH_TOKEN"], call.sid),
                   stream="/softphone/media")


@bp.post("/softphone/calls/<call_sid>/ended")
@login_required()
def ended(call_sid: str):
    """The stream closed: what the carrier would do next (queue for an agent, or hang up)."""
    calls = get_calls()
    if calls.load(_own_call(call_sid)) is None:
        abort(404)
    after = calls.stream_closed(call_sid)
    if after["type"] == "gather":  # no keypad page to go on from a broken stream: the call ends
        after = {"type": "hangup"}
    if after["type"] == "hangup":
        calls.ended(call_sid, "completed")
    return jsonify(next=after["type"], queue=after.get("queue"))


@bp.post("/softphone/calls/<call_sid>/hangup")
@login_required()
def hangup(call_sid: str):
    """The softphone's caller hung up (also while waiting for an agent): what the carrier's
    status callback does for a phone call."""
    get_calls().ended(_own_call(call_sid), "completed")
    return jsonify(ended=call_sid)


@bp.post("/softphone/calls/<call_sid>/queue")
@login_required()
def queue(call_sid: str):
    """A softphone caller waiting for an agent: their place, polled (the sign of life the
    carrier's hold music fetches give a phone call)."""
    waiting = get_calls().queue_status(_own_call(call_sid))
    if waiting is None:  # connected to an agent (the audio bridge is theirs to open), or gone
        from console.phone import connected_agent  # console.phone builds on this module
        return jsonify(waiting=False, connected=connected_agent(call_sid) is not None)
    return jsonify(waiting=True, ahead=waiting.ahead, minutes=waiting.minutes)


@sock.route("/softphone/media", bp=bp)
def media(ws):
    run_stream(ws)
