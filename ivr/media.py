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
import binascii
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field

from flask import Blueprint, abort, current_app, request
from flask_sock import Sock
from twilio.request_validator import RequestValidator

from calls import CallService, CallSession, get_calls
from calls.service import outcome
from flows.engine import WAITING_ACTIONS
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
IDLE_CLOSE_S = 60             # a socket with no message at all for this long is a dead line
POLICY_VIOLATION = 1008       # websocket close code for a message that breaks the protocol
# One second of base64 mu-law (the simulator's chunk) is under 11 KiB; Twilio sends 20 ms.
MAX_MESSAGE_BYTES = 16 * 1024
TIMEOUT = {"event": "timeout"}


class StreamProtocolError(ValueError):
    """A message that breaks the Media Streams protocol: the socket is closed with 1008."""


def parse_message(raw) -> dict:
    try:
        message = json.loads(raw)
    except (TypeError, ValueError):
        raise StreamProtocolError("a message that is not JSON") from None
    if not isinstance(message, dict):
        raise StreamProtocolError("a message that is not a JSON object")
    return message


def _part(message: dict, name: str) -> dict:
    part = message.get(name, {})
    if not isinstance(part, dict):
        raise StreamProtocolError(f"'{name}' is not an object")
    return part


def caller_audio(message: dict):
    """The 16-bit samples of a `media` message's mu-law payload."""
    payload = _part(message, "media").get("payload")
    try:
        return mulaw_decode(base64.b64decode(payload, validate=True))
    except (TypeError, ValueError, binascii.Error):
        raise StreamProtocolError("a media payload that is not base64") from None


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
    # A larger message closes the socket (1009) before it is kept in memory.
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_MESSAGE_BYTES})
    sock.init_app(app)
    app.register_blueprint(bp)


@dataclass
class StreamCall:
    """One call's conversation over the socket; `converse` runs until the flow leaves it."""

    ws: object
    call: CallSession
    stream_sid: str
    calls: CallService
    model: object
    pending_marks: set = field(default_factory=set)
    playing_ms: int = 0  # prompt audio sent that the caller has not heard yet, on their audio clock
    held: list = field(default_factory=list)  # messages read while draining, still to be handled

    # --- sending ---

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps({"streamSid": self.stream_sid, **message}, ensure_ascii=False))

    def speak(self, play: dict) -> None:
        text = self.calls.words(self.call, play)
        audio = self.calls.audio(text, self.call.language)
        for start in range(0, len(audio), CHUNK_BYTES):
            payload = base64.b64encode(audio[start:start + CHUNK_BYTES]).decode()
            self.send({"event": "media", "media": {"payload": payload}})
        self.playing_ms += len(audio) * 1000 // TELEPHONE_RATE
        name = f"say:{len(self.call.transcript)}:{text}"
        self.pending_marks.add(name)
        self.send({"event": "mark", "mark": {"name": name}})
        self.call.transcript.append({"heard": text})

    # --- the conversation ---

    def converse(self, actions: list[dict]) -> dict | None:
        """Speak and listen until the flow transfers or hangs up (returns that action),
        or the caller hangs up (returns None)."""
        while True:
            self.drain()
            *plays, last = actions
            for play in plays:
                self.speak(play)
            if last["type"] not in WAITING_ACTIONS:
                return last
            self.speak(last["prompt"])
            event = self.listen(last) if last["type"] == "gather" else self.record(last)
            if event is None:
                return None
            actions = self.calls.step(self.call, event)
            if not self.calls.save(self.call):
                return None  # the carrier reported the hang-up meanwhile

    def drain(self) -> None:
        """Before new prompts: drop the caller's audio that came while the hotline was busy (it
        was sent before the prompt and answers nothing); keys, marks and `stop` are kept."""
        while (raw := self.ws.receive(timeout=0)) is not None:
            message = parse_message(raw)
            if message.get("event") != "media":
                self.held.append(message)

    def incoming(self, waiting: dict):
        """The caller's side of the socket while a step waits: `dtmf` and `media` messages (marks
        are booked here), TIMEOUT when the caller's audio stops altogether; ends at `stop`, or
        when the line has been dead for IDLE_CLOSE_S."""
        self.send({"event": "mark", "mark": {"name": f"listen:{waiting['step']}"}})
        last_message = time.monotonic()
        while True:
            raw = self.held.pop(0) if self.held else self.ws.receive(timeout=0.5)
            if raw is None:
                silent = time.monotonic() - last_message
                if silent > IDLE_CLOSE_S:
                    log.warning("media stream for %s idle for %d s: closed", self.call.sid, silent)
                    return
                if silent > waiting["timeout"] * SILENT_WALL_CLOCK_FACTOR:
                    yield TIMEOUT
                continue
            last_message = time.monotonic()
            message = raw if isinstance(raw, dict) else parse_message(raw)
            kind = message.get("event")
            if kind == "stop":
                return
            if kind == "mark":
                self.pending_marks.discard(_part(message, "mark").get("name"))
                if not self.pending_marks:
                    self.playing_ms = 0  # the carrier says every prompt has played
            elif kind in ("dtmf", "media"):
                yield message

    def quiet_for(self, pcm) -> int:
        """Milliseconds of this frame that count as the caller's silence: those after the prompt
        has played on the caller's audio clock, whether or not the carrier returns marks."""
        frame_ms = len(pcm) * 1000 // TELEPHONE_RATE
        played = min(self.playing_ms, frame_ms)
        self.playing_ms -= played
        return frame_ms - played

    def listen(self, gather: dict) -> dict | None:
        """The caller's answer to one prompt: keys, words, silence, or None when they hang up."""
        speech = self._recognizer(gather)
        digits, quiet_ms = "", 0
        for message in self.incoming(gather):
            if message is TIMEOUT:
                return {"type": "timeout"}
            if message.get("event") == "dtmf":
                self._barge_in()
                digit = str(_part(message, "dtmf").get("digit", ""))[:1]
                if gather.get("num_digits") == 1:
                    return {"type": "digits", "value": digit}
                if digit == gather.get("finish_on_key", "#"):
                    return {"type": "digits", "value": digits}
                digits += digit
                quiet_ms = 0
                if len(digits) >= gather.get("max_digits", 32):
                    return {"type": "digits", "value": digits}
                continue
            pcm = caller_audio(message)
            quiet = self.quiet_for(pcm)
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
            if not (speech and speech.heard_speech):
                quiet_ms += quiet
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
            if message.get("event") == "dtmf":
                if _part(message, "dtmf").get("digit") == "#" and recording.heard_speech:
                    break
                continue
            pcm = caller_audio(message)
            quiet = self.quiet_for(pcm)
            if recording.accept(pcm):
                break
            if recording.heard_speech:
                self._barge_in()
            else:
                quiet_ms += quiet
                if quiet_ms >= action["timeout"] * 1000:
                    return {"type": "timeout"}
        else:
            return None  # the caller hung up mid-message
        number = sum(1 for e in self.call.events if e["event"] == "recording") + 1
        path = recording.save(self.calls.recordings_dir / f"{self.call.sid}-{number}.wav")
        text = recording.transcript()
        self.call.transcript.append({"said": text or f"<{recording.seconds:.0f} s>"})
        return {"type": "recording", "value": path.name, "text": text, "seconds": round(recording.seconds, 1)}

    def _barge_in(self) -> None:
        if self.pending_marks:
            self.send({"event": "clear"})
            self.pending_marks.clear()
        self.playing_ms = 0

    def _recognizer(self, gather: dict):
        if self.model is None:
            return None
        language = self.call.language
        if gather.get("speech"):
            words = grammar_words(language, gather["speech"])
        else:
            words = [w for ws in self.calls.menu_words(language, gather["step"]).values() for w in ws]
        return StreamRecognizer(self.model, words) if words else None

    def _speech_event(self, gather: dict, result) -> dict:
        language = self.call.language
        recognised = result.text
        self.call.transcript.append({"said": recognised})
        self.send({"event": "mark", "mark": {"name": f"recognised:{recognised}"}})
        if gather.get("speech") == "waybill":
            candidates = rank(result.alternatives, language, self.calls.parcel_lookup(),
                              normalise_phone(self.call.customer))
            best = candidates[0].waybill if candidates else ""
            return {"type": "speech", "value": best, "heard": recognised,
                    "candidates": [c.as_dict() for c in candidates[:3]]}
        if gather.get("speech") == "digits":
            return {"type": "speech", "value": "".join(filter(str.isdigit, normalise(recognised, language))),
                    "heard": recognised}
        for alternative in result.alternatives:
            key = self.calls.key_for_words(language, gather["step"], alternative)
            if key is not None:
                return {"type": "digits", "value": key, "heard": alternative}
        return {"type": "digits", "value": "?", "heard": recognised}


@sock.route("/voice/media", bp=bp)
def media(ws):
    """One call's Media Stream, from `connected` to `stop`."""
    run_stream(ws)


def run_stream(ws) -> None:
    """Converse with a call over a Media Streams socket (the carrier's, or the browser softphone's).
    A message that breaks the protocol closes the socket with a policy error, never a 500."""
    calls = get_calls()
    try:
        stream = _open(ws, calls)
    except StreamProtocolError as error:
        _refuse(ws, f"media stream refused: {error}")
        return
    if stream is None:
        return
    final, broken = None, None
    try:
        actions = calls.begin(stream.call)
        calls.save(stream.call)  # the flow has started: the screen pop and a reopened stream see it
        final = stream.converse(actions)
    except StreamProtocolError as error:
        broken = error
    finally:
        # Whatever happened, keep what the call did so far (into its record, if the carrier has
        # already reported the hang-up: the ended call never comes back to life).
        if final is not None:
            stream.call.after_stream = final
            stream.call.outcome = outcome(stream.call.state, [final])
        live = calls.save(stream.call)
    if broken is not None:
        _refuse(ws, f"media stream of {stream.call.sid} closed: {broken}")
    elif final is not None and live:
        ws.close()


def _open(ws, calls: CallService) -> StreamCall | None:
    """The call this socket is for, from its `start` message and the token the call was given."""
    start = _await_start(ws)
    if start is None:
        return None
    call_sid = str(start.get("callSid", ""))
    token = _part(start, "customParameters").get("token", "")
    expected = stream_token(current_app.config["TWILIO_AUTH_TOKEN"], call_sid)
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected.encode()):
        raise StreamProtocolError("bad token")
    call = calls.load(call_sid)
    if call is None or not call.media:
        raise StreamProtocolError("no live call that runs on a media stream")
    return StreamCall(ws, call, str(start.get("streamSid", "")), calls, calls.speech_models.get(call.language))


def _refuse(ws, reason: str) -> None:
    log.warning(reason)
    ws.close(reason=POLICY_VIOLATION, message=reason[:120])


def _await_start(ws) -> dict | None:
    """Skip `connected`; return the `start` metadata (None if the socket closes first)."""
    for _ in range(10):
        raw = ws.receive(timeout=10)
        if raw is None:
            return None
        message = parse_message(raw)
        if message.get("event") == "start":
            return {**_part(message, "start"), "streamSid": message.get("streamSid", "")}
    return None
