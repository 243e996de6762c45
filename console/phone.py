"""The agent's browser phone.

With Twilio (TWILIO_API_KEY, TWILIO_API_SECRET and TWILIO_TWIML_APP_SID beside the account SID),
the console runs the Twilio Voice JS SDK (served from console/static/vendor) with an access token
from here: the calls the hotline dials to the agent's client identity ring in the browser.

Without a carrier account, the app bridges the audio itself. When the ACD connects a softphone
caller to an agent, both browsers open a websocket here and speak the Media Streams `media`
message (base64 8 kHz mu-law, 20 ms): what the caller sends is published on the call's Redis
channel for the agent, what the agent sends on the one for the caller, so the two may be served by
different web processes. The agent may put the caller on hold (the caller's side plays them hold
music) or transfer them (their side closes; the caller's stays open, on hold music, and is handed to
the next agent when they accept); a hang-up on either side ends the call for both and puts the agent
into wrap-up. A supervisor may listen in (监听): their socket gets both sides mixed; what they
send (耳语, whisper) is mixed into what the agent hears, and the caller never hears it. Each socket's own
request is its only reader: it alternates between the socket and its Redis subscription, and holds
no thread, pool slot or database session for the call's life (the call's end, once, is written as
the socket closes).
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections import deque

import numpy as np
from flask import Blueprint, abort, request
from simple_websocket import ConnectionClosed
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from callqueue.acd import AcdError
from calls import get_calls
from console import policy
from console.auth import current_user
from console.security import same_origin_required
from console.softphone import _own_call
from ivr.media import IDLE_CLOSE_S, StreamProtocolError, parse_message, sock
from keys import key_for
from redis_conn import get_redis
from speech.audio import hold_music, mulaw_decode, mulaw_encode

bp = Blueprint("phone", __name__)
log = logging.getLogger(__name__)

TWILIO_PHONE_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_TWIML_APP_SID")
TOKEN_TTL_S = 3600  # the SDK asks for a new token before this runs out (tokenWillExpire)
TICK_S = 0.02  # one frame: the longest a frame from either side waits to be passed on
TO_AGENT, TO_CALLER = "to-agent", "to-caller"
WHISPER = "whisper"  # a supervisor listening in, to the agent alone
HUNG_UP = {"event": "stop"}
HANDED_OVER = {"event": "transferred"}  # to the agent's side: the caller went on to a line or a colleague
HOLD, UNHOLD = {"event": "hold"}, {"event": "unhold"}  # to the caller's side: the music, on and off
TRANSFERRING = {**HOLD, "why": "transfer"}  # the music while the next agent is found
SIGN_OF_LIFE_S = 10  # how often a caller back in line on the bridge tells the ACD they are still there
MONITOR_BUFFER_FRAMES = 10  # a listener falls no further behind the call than this (200 ms)
MAX_FRAME_BYTES = 1600  # a frame longer than 200 ms is not audio from a browser
WHISPER_ALONE_AFTER_FRAMES = 3  # a whisper waits this long for a caller's frame to ride on, then goes alone


def twilio_phone(config) -> bool:
    """Whether agents' consoles take calls with the Twilio Voice JS SDK (else on the local bridge)."""
    return all(config[name] for name in TWILIO_PHONE_SETTINGS)


def access_token(config, identity: str) -> str:
    """A signed JWT for the Voice JS SDK: calls to `identity` ring in the browser; calls it places
    go to the TwiML app."""
    token = AccessToken(config["TWILIO_ACCOUNT_SID"], config["TWILIO_API_KEY"], config["TWILIO_API_SECRET"],
                        identity=identity, ttl=TOKEN_TTL_S)
    token.add_grant(VoiceGrant(outgoing_application_sid=config["TWILIO_TWIML_APP_SID"], incoming_allow=True))
    return token.to_jwt()


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
    elif request.endpoint == "phone.listener":
        if not policy.may_see_figures(current_user()):
            abort(403)
        if connected_agent(call_sid) is None:
            abort(404)
    elif not policy.may_handle_call(current_user(), connected_agent(call_sid)):
        abort(404)  # not connected to this agent (as for no call at all)


def connected_agent(call_sid: str) -> str | None:
    try:
        return get_calls().acd().call(call_sid).get("agent")
    except AcdError:  # not a queued call at all
        return None


def channel(call_sid: str, direction: str) -> str:
    return key_for(f"phone-{direction}", call_sid)


def media(payload: str) -> str:
    return json.dumps({"event": "media", "media": {"payload": payload}})


def bridge(ws, call_sid: str, listen: str, speak: str, agent_id: str | None = None) -> None:
    """Pass `media` frames from the socket to the `speak` channel and from the `listen` channel
    to the socket, until either side hangs up (a `stop`, or its socket closing); then the call
    is over for both. On the agent's side (`agent_id`), a `hold` puts the caller on hold music
    (and the two do not hear each other) until an `unhold`; a transfer (`hand_over`) closes it
    and the call goes on. The caller's side plays the music itself, from a `hold` on its channel
    until the next `unhold`: the agent's resume, or the next agent's side opening."""
    redis = get_redis()
    subscription = redis.pubsub(ignore_subscribe_messages=True)
    subscription.subscribe(channel(call_sid, listen))
    whispered: deque[np.ndarray] = deque(maxlen=MONITOR_BUFFER_FRAMES)  # a supervisor's words to the agent
    if agent_id:  # an agent is on the line: a caller handed over to them hears them, not the music
        subscription.subscribe(channel(call_sid, WHISPER))
        redis.publish(channel(call_sid, speak), json.dumps(UNHOLD))
    idle_ticks, held, music_since, music_sent, seen_at = 0, False, None, 0, 0.0
    try:
        while True:
            raw = ws.receive(timeout=TICK_S)
            if raw is not None:
                idle_ticks = 0
                message = parse_message(raw)
                event = message.get("event")
                if event == "media" and not held and (payload := _audio_payload(message)) is not None:
                    redis.publish(channel(call_sid, speak), media(payload))
                elif event in ("hold", "unhold") and agent_id:
                    held = event == "hold"
                    redis.publish(channel(call_sid, speak), json.dumps({"event": event}))
                elif event == "stop":
                    break
            elif (idle_ticks := idle_ticks + 1) * TICK_S > IDLE_CLOSE_S:
                break
            if music_since is not None:  # the music's frames, paced as a carrier's: one per 20 ms
                music = hold_music()
                while music_sent <= (time.monotonic() - music_since) / TICK_S:
                    ws.send(media(base64.b64encode(music[music_sent % len(music)]).decode()))
                    music_sent += 1
                if time.monotonic() - seen_at > SIGN_OF_LIFE_S:  # waiting in line again, and still there
                    seen_at, calls = time.monotonic(), get_calls()
                    calls.acd().seen(call_sid, calls.stamp())
            while (published := subscription.get_message(timeout=0)) is not None:
                message = json.loads(published["data"])
                event = message.get("event")
                if published["channel"].decode() == channel(call_sid, WHISPER):
                    if event == "media":
                        whispered.append(mulaw_decode(base64.b64decode(message["media"].get("payload", ""))))
                elif event in (HUNG_UP["event"], HANDED_OVER["event"]):
                    return
                elif event in ("hold", "unhold"):  # on the caller's side: the page says why it hears music
                    music_since, music_sent = (time.monotonic() if event == "hold" else None), 0
                    ws.send(published["data"].decode())
                elif not held and music_since is None:
                    if event == "media" and whispered:  # the caller's frame with the supervisor's words in it
                        caller = mulaw_decode(base64.b64decode(message["media"].get("payload", "")))
                        ws.send(mixed([caller, whispered.popleft()]))
                    else:
                        ws.send(published["data"].decode())
            while len(whispered) > WHISPER_ALONE_AFTER_FRAMES:  # no caller frames to carry them (on hold)
                ws.send(mixed([whispered.popleft()]))
    except ConnectionClosed:
        pass
    except StreamProtocolError as error:
        log.warning("phone bridge for %s: %s", call_sid, error)
    finally:
        subscription.close()
        # An agent's side closing ends the call only while it is still theirs (not once handed over).
        if agent_id is None or connected_agent(call_sid) == agent_id:
            redis.publish(channel(call_sid, speak), json.dumps(HUNG_UP))
            call_over(call_sid)  # flask-sock closes the socket after it


def hand_over(call_sid: str) -> None:
    """The agent transferred the call: their side of the bridge closes without ending it, and the
    caller hears hold music until the next agent's side opens."""
    redis = get_redis()
    redis.publish(channel(call_sid, TO_AGENT), json.dumps(HANDED_OVER))
    redis.publish(channel(call_sid, TO_CALLER), json.dumps(TRANSFERRING))


def call_over(call_sid: str) -> None:
    """Either side hung up (or its line dropped): the call ends for both, and its agent, if still
    on it, goes into wrap-up (both sides' sockets say so; the second finds it done)."""
    calls = get_calls()
    agent_id = connected_agent(call_sid)
    calls.ended(call_sid, "completed")
    acd = calls.acd()
    if agent_id and acd.agent(agent_id).get("call") == call_sid:
        try:
            acd.finish(agent_id, calls.stamp())
        except AcdError:  # the agent ended the call (结束通话) just now, or it was still ringing there
            pass


@sock.route("/console/phone/<call_sid>", bp=bp)
def agent_side(ws, call_sid: str):
    bridge(ws, call_sid, TO_AGENT, TO_CALLER, agent_id=current_user().username)


@sock.route("/softphone/calls/<call_sid>/bridge", bp=bp)
def caller_side(ws, call_sid: str):
    bridge(ws, call_sid, TO_CALLER, TO_AGENT)


@sock.route("/console/monitor/<call_sid>", bp=bp)
def listener(ws, call_sid: str):
    listen_in(ws, call_sid)


def listen_in(ws, call_sid: str) -> None:
    """A supervisor listens to a bridged call: both directions' frames, mixed into one frame per
    20 ms on the call's own clock (a side that sent nothing counts as silence), until the call
    ends or the supervisor leaves. What they send (耳语) goes to the agent's side alone."""
    redis = get_redis()
    subscription = redis.pubsub(ignore_subscribe_messages=True)
    sides = {channel(call_sid, TO_AGENT): deque(maxlen=MONITOR_BUFFER_FRAMES),    # the caller's voice
             channel(call_sid, TO_CALLER): deque(maxlen=MONITOR_BUFFER_FRAMES)}   # the agent's
    subscription.subscribe(*sides)
    started, sent = time.monotonic(), 0
    try:
        while True:
            raw = ws.receive(timeout=TICK_S)
            message = parse_message(raw) if raw is not None else {}
            if message.get("event") == "stop":
                break
            if message.get("event") == "media" and (payload := _audio_payload(message)) is not None:  # 耳语
                redis.publish(channel(call_sid, WHISPER), media(payload))  # to the agent alone
            while (published := subscription.get_message(timeout=0)) is not None:
                message = json.loads(published["data"])
                if message.get("event") == HUNG_UP["event"]:
                    return
                if message.get("event") == "media":
                    sides[published["channel"].decode()].append(message.get("media", {}).get("payload", ""))
            due = int((time.monotonic() - started) / TICK_S)
            while sent < due:
                sent += 1
                heard = [mulaw_decode(base64.b64decode(side.popleft())) for side in sides.values() if side]
                if heard:
                    ws.send(mixed(heard))
    except ConnectionClosed:
        pass
    except StreamProtocolError as error:
        log.warning("listening in on %s: %s", call_sid, error)
    finally:
        subscription.close()


def _audio_payload(message: dict) -> str | None:
    """A `media` message's payload, if it is a frame's worth of base64 (else it is dropped): only
    such frames go on a call's channels, so whoever mixes them can decode them."""
    payload = message.get("media", {}).get("payload") if isinstance(message.get("media"), dict) else None
    try:
        frame = base64.b64decode(payload, validate=True) if isinstance(payload, str) else b""
    except binascii.Error:
        return None
    return payload if 0 < len(frame) <= MAX_FRAME_BYTES else None


def mixed(frames: list[np.ndarray]) -> str:
    """Frames of 16-bit samples as one `media` message: their sum, clipped (a short one padded)."""
    length = max(len(frame) for frame in frames)
    total = np.zeros(length, dtype=np.int32)
    for frame in frames:
        total[:len(frame)] += frame
    return media(base64.b64encode(mulaw_encode(np.clip(total, -32768, 32767))).decode())
