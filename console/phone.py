"""The agent's browser phone without a carrier account: the app bridges the audio itself.

When the ACD connects a softphone caller to an agent, both browsers open a websocket here and
speak the Media Streams `media` message (base64 8 kHz mu-law, 20 ms): what the caller sends is
published on the call's Redis channel for the agent, what the agent sends on the one for the
caller, so the two may be served by different web processes. Each socket's own request is its
only reader: it alternates between the socket and its Redis subscription, and holds no thread,
pool slot or database session for the call's life.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, request
from simple_websocket import ConnectionClosed

from callqueue.acd import AcdError
from calls import get_calls
from console.auth import current_user
from console.security import same_origin_required
from console.softphone import _own_call
from ivr.media import IDLE_CLOSE_S, StreamProtocolError, parse_message, sock
from keys import key_for
from redis_conn import get_redis

bp = Blueprint("phone", __name__)
log = logging.getLogger(__name__)

TICK_S = 0.02  # one frame: the longest a frame from either side waits to be passed on
TO_AGENT, TO_CALLER = "to-agent", "to-caller"
HUNG_UP = {"event": "stop"}


@bp.before_request
def logged_in():
    if current_user() is None:
        abort(401)


bp.before_request(same_origin_required)


@bp.before_request
def own_side_of_the_call():
    """Checked before the handshake (a refusal after it would be a closed socket, not a 404)."""
    call_sid = request.view_args["call_sid"]
    if request.endpoint == "phone.caller_side":
        _own_call(call_sid)
    elif connected_agent(call_sid) != current_user().username:
        abort(404)  # not connected to this agent (as for no call at all)


def connected_agent(call_sid: str) -> str | None:
    try:
        return get_calls().acd().call(call_sid).get("agent")
    except AcdError:  # not a queued call at all
        return None


def channel(call_sid: str, direction: str) -> str:
    return key_for(f"phone-{direction}", call_sid)


def bridge(ws, call_sid: str, listen: str, speak: str) -> None:
    """Pass `media` frames from the socket to the `speak` channel and from the `listen` channel
    to the socket, until either side hangs up (a `stop`, or its socket closing)."""
    redis = get_redis()
    subscription = redis.pubsub(ignore_subscribe_messages=True)
    subscription.subscribe(channel(call_sid, listen))
    idle_ticks = 0
    try:
        while True:
            raw = ws.receive(timeout=TICK_S)
            if raw is not None:
                idle_ticks = 0
                message = parse_message(raw)
                if message.get("event") == "media":
                    redis.publish(channel(call_sid, speak), json.dumps({"event": "media", "media": {
                        "payload": message.get("media", {}).get("payload", "")}}))
                elif message.get("event") == "stop":
                    break
            elif (idle_ticks := idle_ticks + 1) * TICK_S > IDLE_CLOSE_S:
                break
            while (published := subscription.get_message(timeout=0)) is not None:
                if json.loads(published["data"]).get("event") == "stop":
                    ws.close()
                    return
                ws.send(published["data"].decode())
    except ConnectionClosed:
        pass
    except StreamProtocolError as error:
        log.warning("phone bridge for %s: %s", call_sid, error)
    finally:
        redis.publish(channel(call_sid, speak), json.dumps(HUNG_UP))
        subscription.close()


@sock.route("/console/phone/<call_sid>", bp=bp)
def agent_side(ws, call_sid: str):
    bridge(ws, call_sid, TO_AGENT, TO_CALLER)


@sock.route("/softphone/calls/<call_sid>/bridge", bp=bp)
def caller_side(ws, call_sid: str):
    bridge(ws, call_sid, TO_CALLER, TO_AGENT)

