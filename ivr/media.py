"""Twilio Media Streams: the whole speech call on one bidirectional websocket.

/voice/incoming answers with <Connect><Stream>; Twilio opens this socket (the upgrade is
signed like any webhook) and sends `connected`, `start` (with our per-call token as a custom
parameter), then `media` (base64 mu-law, 8 kHz, 20 ms), `dtmf`, `mark` and finally `stop`.
We send the flow's prompts as `media`, each followed by a `mark` naming its text, and `clear`
when the caller talks over a prompt (barge-in). When the flow needs TwiML again (an agent,
hang-up) we close the socket and Twilio requests <Connect action>, /voice/stream-ended.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field

from flask import Blueprint, abort, current_app, request
from flask_sock import Sock
from twilio.request_validator import RequestValidator

from clock import to_naive_utc
from database import get_session
from flows.engine import WAITING_ACTIONS
from flows.runner import resolve_effects
from ivr.edge import CallEdge, outcome
from ivr.records import save_stream_end
from metrics import RECOGNISER_SECONDS
from speech.audio import TELEPHONE_RATE, mulaw_decode
from speech.numbers import grammar_words, normalise
from speech.recognizer import StreamRecognizer
from speech.recording import CallRecording
from speech.waybills import rank
from tracking.service import normalise_phone

bp = Blueprint("media", __name__)
sock = Sock()
log = logging.getLogger(__name__)

CHUNK_BYTES = TELEPHONE_RATE  # one second of audio per media message
SILENT_WALL_CLOCK_FACTOR = 3  # a caller whose audio stops altogether times out this much later
TIMEOUT = {"event": "timeout"}


def stream_token(auth_token: str, call_sid: str) -> str:
    """The token <Stream> carries, binding the socket to the call it was issued for."""
    return hmac.new(auth_token.encode(), f"media:{call_sid}".encode(), hashlib.sha256).hexdigest()[:32]


def stream_url() -> str:
    base = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
    return "ws" + base.removeprefix("http") + "/voice/media"


@bp.before_request
def signed_upgrade():
    """Refuse the websocket handshake itself unless Twilio signed it."""
    url = stream_url()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"]).validate(url, {}, signature):
        log.warning("refused media stream: %s signature", "bad" if signature else "missing")
        abort(403)


def init_app(app) -> None:
    sock.init_app(app)
    app.register_blueprint(bp)


@dataclass
class StreamCall:
    """One call's conversation over the socket; `converse` runs until the flow leaves it."""

    ws: object
    call: dict
    stream_sid: str
    voice: object          # the edge's helpers (ivr.views.CallEdge)
    model: object
    pending_marks: set = field(default_factory=set)

    # --- sending ---

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps({"streamSid": self.stream_sid, **message}, ensure_ascii=False))

    def speak(self, play: dict) -> None:
        text = self.voice.words(self.call, play)
        audio = self.voice.audio(text, self.call["language"])
        for start in range(0, len(audio), CHUNK_BYTES):
            payload = base64.b64encode(audio[start:start + CHUNK_BYTES]).decode()
            self.send({"event": "media", "media": {"payload": payload}})
        name = f"say:{len(self.call['transcript'])}:{text}"
        self.pending_marks.add(name)
        self.send({"event": "mark", "mark": {"name": name}})
        self.call["transcript"].append({"heard": text})

    # --- the conversation ---

    def converse(self, state: dict, actions: list[dict]) -> dict | None:
        """Speak and listen until the flow transfers or hangs up (returns that action),
        or the caller hangs up (returns None)."""
        while True:
            state, actions = resolve_effects(self.voice.engine, state, actions, self.voice.context(self.call))
            self.call["state"] = state
            *plays, last = actions
            for play in plays:
                self.speak(play)
            if last["type"] not in WAITING_ACTIONS:
                return last
            self.speak(last["prompt"])
            self.call["waiting"] = last
            event = self.listen(last) if last["type"] == "gather" else self.record(last)
            if event is None:
                return None
            self.voice.note_event(self.call, event)
            state, actions = self.voice.engine.step(state, event)

    def incoming(self, waiting: dict):
        """The caller's side of the socket while a step waits: `dtmf` and `media` messages (marks
        are booked here), TIMEOUT when the caller's audio stops altogether; ends at `stop`."""
        self.send({"event": "mark", "mark": {"name": f"listen:{waiting['step']}"}})
        last_message = time.monotonic()
        while True:
            raw = self.ws.receive(timeout=0.5)
            if raw is None:
                if time.monotonic() - last_message > waiting["timeout"] * SILENT_WALL_CLOCK_FACTOR:
                    yield TIMEOUT
                continue
            last_message = time.monotonic()
            message = json.loads(raw)
            kind = message.get("event")
            if kind == "stop":
                return
            if kind == "mark":
                self.pending_marks.discard(message.get("mark", {}).get("name"))
            elif kind in ("dtmf", "media"):
                yield message

    def listen(self, gather: dict) -> dict | None:
        """The caller's answer to one prompt: keys, words, silence, or None when they hang up."""
        speech = self._recognizer(gather)
        digits, quiet_ms = "", 0
        for message in self.incoming(gather):
            kind = message.get("event")
            if message is TIMEOUT:
                return {"type": "timeout"}
            if kind == "dtmf":
                self._barge_in()
                digit = message.get("dtmf", {}).get("digit", "")
                if gather.get("num_digits") == 1:
                    return {"type": "digits", "value": digit}
                if digit == gather.get("finish_on_key", "#"):
                    return {"type": "digits", "value": digits}
                digits += digit
                quiet_ms = 0
                if len(digits) >= gather.get("max_digits", 32):
                    return {"type": "digits", "value": digits}
            elif kind == "media":
                pcm = mulaw_decode(base64.b64decode(message["media"]["payload"]))
                if speech is not None:
                    started = time.perf_counter()
                    result = speech.accept(pcm.tobytes())
                    if result is not None:
                        RECOGNISER_SECONDS.observe(time.perf_counter() - started)
                    if speech.heard_speech:
                        self._barge_in()
                    if result is not None and result.alternatives:
                        return self._speech_event(gather, result)
                    if result is not None:  # an empty utterance (noise): listen afresh
                        speech = self._recognizer(gather)
                # The timeout runs on the caller's audio clock, from the end of the prompt.
                if not self.pending_marks and not (speech and speech.heard_speech):
                    quiet_ms += len(pcm) * 1000 // TELEPHONE_RATE
                    if quiet_ms >= gather["timeout"] * 1000:
                        return {"type": "digits", "value": digits} if digits else {"type": "timeout"}
        return None

    def record(self, action: dict) -> dict | None:
        """The caller's message: their audio until silence after speech, #, or the length limit;
        saved with the call and transcribed where the language has a model."""
        recording = CallRecording(self.model, max_seconds=action["max_seconds"],
                                  silence_seconds=action["silence_seconds"])
        quiet_ms = 0
        for message in self.incoming(action):
            if message is TIMEOUT:
                return {"type": "timeout"}
            if message["event"] == "dtmf":
                if message.get("dtmf", {}).get("digit") == "#" and recording.heard_speech:
                    break
                continue
            pcm = mulaw_decode(base64.b64decode(message["media"]["payload"]))
            if recording.accept(pcm):
                break
            if recording.heard_speech:
                self._barge_in()
            elif not self.pending_marks:
                quiet_ms += len(pcm) * 1000 // TELEPHONE_RATE
                if quiet_ms >= action["timeout"] * 1000:
                    return {"type": "timeout"}
        else:
            return None  # the caller hung up mid-message
        number = sum(1 for e in self.call["events"] if e["event"] == "recording") + 1
        path = recording.save(self.voice.recordings_dir / f"{self.call['sid']}-{number}.wav")
        text = recording.transcript()
        self.call["transcript"].append({"said": text or f"<{recording.seconds:.0f} s>"})
        return {"type": "recording", "value": path.name, "text": text, "seconds": round(recording.seconds, 1)}

    def _barge_in(self) -> None:
        if self.pending_marks:
            self.send({"event": "clear"})
            self.pending_marks.clear()

    def _recognizer(self, gather: dict):
        if self.model is None:
            return None
        language = self.call["language"]
        if gather.get("speech"):
            words = grammar_words(language, gather["speech"])
        else:
            words = [w for ws in self.voice.menu_words(language, gather["step"]).values() for w in ws]
        return StreamRecognizer(self.model, words) if words else None

    def _speech_event(self, gather: dict, result) -> dict:
        language = self.call["language"]
        recognised = result.text
        self.call["transcript"].append({"said": recognised})
        self.send({"event": "mark", "mark": {"name": f"recognised:{recognised}"}})
        if gather.get("speech") == "waybill":
            candidates = rank(result.alternatives, language, self.voice.parcel_lookup(),
                              normalise_phone(self.call["from"]))
            best = candidates[0].waybill if candidates else ""
            return {"type": "speech", "value": best, "heard": recognised,
                    "candidates": [c.as_dict() for c in candidates[:3]]}
        if gather.get("speech") == "digits":
            return {"type": "speech", "value": "".join(filter(str.isdigit, normalise(recognised, language))),
                    "heard": recognised}
        for alternative in result.alternatives:
            key = self.voice.key_for_words(language, gather["step"], alternative)
            if key is not None:
                return {"type": "digits", "value": key, "heard": alternative}
        return {"type": "digits", "value": "?", "heard": recognised}


@sock.route("/voice/media", bp=bp)
def media(ws):
    """One call's Media Stream, from `connected` to `stop`."""
    run_stream(ws)


def run_stream(ws) -> None:
    """Converse with a call over a Media Streams socket (the carrier's, or the browser softphone's)."""
    edge = CallEdge()
    start = _await_start(ws)
    if start is None:
        return
    call_sid = start.get("callSid", "")
    token = start.get("customParameters", {}).get("token", "")
    expected = stream_token(current_app.config["TWILIO_AUTH_TOKEN"], call_sid)
    sessions = edge.sessions()
    call = sessions.load(call_sid) if hmac.compare_digest(token, expected) else None
    if call is None:
        log.warning("media stream for %s refused: unknown call or bad token", call_sid)
        ws.close(reason=1008, message="unknown call or bad token")
        return
    stream = StreamCall(ws, call, start.get("streamSid", ""), edge, edge.speech_models.get(call["language"]))
    if call["state"]:
        state, actions = call["state"], [call["waiting"]]  # a stream reopened mid-call
    else:
        edge.note_event(call, {"type": "start"})
        state, actions = edge.engine.start(call["flow"], call["vars"])
    try:
        final = stream.converse(state, actions)
    finally:
        # Whatever happened, keep what the call did so far; if the carrier has already reported
        # the hang-up, into the call's record (never bringing the ended call back to life).
        if not sessions.update(stream.call):
            save_stream_end(get_session(), stream.call, to_naive_utc(edge.now()))
    if final is not None:
        stream.call["after_stream"] = final
        stream.call["outcome"] = outcome(stream.call["state"], [final])
        sessions.update(stream.call)
        ws.close()


def _await_start(ws) -> dict | None:
    """Skip `connected`; return the `start` metadata (None if the socket closes first)."""
    for _ in range(10):
        raw = ws.receive(timeout=10)
        if raw is None:
            return None
        message = json.loads(raw)
        if message.get("event") == "start":
            return {**message.get("start", {}), "streamSid": message.get("streamSid", "")}
    return None
