"""The browser softphone: anyone logged in calls the hotline from a browser. The page sends
the microphone as 8 kHz mu-law 20 ms frames and keypad presses as DTMF over the same Media
Streams protocol the carrier uses, and plays the hotline's audio back."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from console.auth import current_user, login_required
from ivr.edge import CallEdge
from ivr.media import run_stream, sock, stream_token
from ivr.views import new_call

bp = Blueprint("softphone", __name__)
SOFTPHONE_NUMBER = "softphone"


@bp.before_request
def logged_in():
    """The API and the websocket handshake need a console login (the page offers one)."""
    if request.endpoint != "softphone.page" and current_user() is None:
        abort(401)


@bp.get("/softphone")
def page():
    return render_template("softphone.html")


@bp.post("/softphone/calls")
@login_required()
def place():
    """Start a call: its session, and the token its stream must present."""
    edge = CallEdge()
    user = current_user()
    call = new_call(edge, "hotline", "inbound", {"contact_phone": user.phone}, sid="CA" + uuid.uuid4().hex,
                    caller=user.phone or SOFTPHONE_NUMBER, called=SOFTPHONE_NUMBER)
    edge.sessions().save(call)
    return jsonify(call_sid=call["sid"], token=stream_token(current_app.config["TWILIO_AUTH_TOKEN"], call["sid"]),
                   stream="/softphone/media")


@bp.post("/softphone/calls/<call_sid>/ended")
@login_required()
def ended(call_sid: str):
    """The stream closed: what the carrier would do next (queue for an agent, or hang up)."""
    edge = CallEdge()
    call = edge.sessions().load(call_sid)
    if call is None:
        abort(404)
    after = call.pop("after_stream", None) or {"type": "hangup"}
    if after["type"] == "transfer":
        edge.join_queue(call)
    edge.sessions().save(call)
    return jsonify(next=after["type"], queue=after.get("queue"))


@sock.route("/softphone/media", bp=bp)
def media(ws):
    run_stream(ws)
