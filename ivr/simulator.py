"""The carrier simulator: plays Twilio's part so anyone can call the hotline locally.

    python -m ivr.simulator call --base-url http://127.0.0.1:5000 --from 13800138000 \\
        --dtmf 1 1234567890123# 1 1 9 --json

It sends signed webhooks with Twilio's parameter names, follows the TwiML verb by verb
(Say, Play, Gather, Record, Redirect, Pause, Hangup, Enqueue, Dial, Connect/Stream) and answers
each question with the next input, in the order given: --dtmf KEYS (an empty value is
silence: the question times out), --say WORDS (rendered with TTS in a voice or rate unlike
the hotline's) or --audio FILE.wav (any rate). On a Media Stream the caller's audio goes as
20 ms mu-law frames, in real time or --fast. When the inputs run out at a question, the
caller hangs up.

Time on the line: a <Pause> takes its length, and so does a queue's wait music (the waitUrl's
Say and Pause, fetched again each time it ends); in a queue the carrier checks every
REDIRECT_POLL_S whether the hotline moved the call to an agent. <Say> and <Play> take no time
(the simulator hears the words, not audio of them), and a <Gather> the caller does not answer
times out at once. The caller waits in a queue --hold seconds, then hangs up. Time goes through
SimulatedCall.sleep and .monotonic, so tests run it on a fake clock the hotline follows.

However the call ends (the flow hangs up, the inputs or the hold run out, an error, Ctrl-C)
the caller's hang-up reaches the hotline as Twilio sends it: the <Enqueue action> with
QueueResult=hangup when the caller was queued, then the final status callback.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlparse

from twilio.request_validator import RequestValidator

from speech.audio import frames

# A flow that loops without end is a bug the simulator reports, not a hang: this many TwiML
# requests in a row with no time passing and no input used. A long hold passes time, so it never
# trips this; polling the carrier (redirects, outbound calls) is not counted.
MAX_REQUESTS_WITHOUT_PROGRESS = 200
REDIRECT_POLL_S = 0.25  # how soon a queued caller hears the agent the hotline redirected them to
OUTBOUND_POLL_S = 0.1  # how often the customer's phone asks the carrier for a call placed to it
CLOCK_RESOLUTION_S = 1e-3  # a shorter time left to wait is rounding in the clock, not a wait
TRAILING_SILENCE_S = 1.5  # after speaking, the caller is quiet so the recogniser hears the end
STREAM_IDLE_LIMIT_S = 60  # a stream that sends nothing for this long is reported as an error
# --fast: the caller's audio at 8x real time, which a server keeps up with; any faster and the
# socket fills with audio the server reads only after the moment it was meant for.
FAST_FRAMES, FAST_WAIT_S = 2, 0.005
Transport = Callable[[str, dict, dict], tuple[int, str]]
SILENT_FRAME = b"\xff" * 160  # 20 ms of mu-law silence
ACCOUNT_SID = "AC" + "0" * 32


def http_transport(url: str, params: dict, headers: dict) -> tuple[int, str]:
    import requests

    try:
        response = requests.post(url, data=params, headers=headers, timeout=30)
    except requests.ConnectionError:
        raise CallFailed(f"cannot reach the hotline at {url}: is it running?") from None
    return response.status_code, response.text


class CallFailed(Exception):
    pass


class _HungUp(Exception):
    """The call ended while queued: `by` is "hangup" (the hotline's <Hangup>) or "caller"."""

    def __init__(self, by: str):
        super().__init__(by)
        self.by = by


@dataclass
class SimulatedCall:
    base_url: str
    auth_token: str
    caller: str
    called: str = "+864008000000"
    transport: Transport = http_transport
    sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    turns: list[dict] = field(default_factory=list)
    ended_by: str = ""
    error: str = ""
    queue: str | None = None
    fast: bool = False
    voice: str | None = None
    rate: int = 140
    snr_db: float | None = None
    language: str = "zh-CN"
    hold_s: float = 0.0
    connected_to: str | None = None
    direction: str = "inbound"
    answered_by: str | None = None  # outbound calls: "human" or "machine_start" (answering machine detection)
    status_url: str = "/voice/status"  # where the call's end is reported (an outbound call's own status callback)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    # Benchmarks' stopwatch on the Media Stream: called (event, time.monotonic(), detail) with
    # "input_end" once an answer's last key or last voiced frame is on the socket, and "media" or
    # "mark" (its name) as each message from the hotline comes off it.
    on_stream: Callable[[str, float, str], None] | None = None
    _heard: list[str] = field(default_factory=list)
    _fetches_without_progress: int = 0
    _enqueued_at: float = 0.0
    _hold_until: float = 0.0

    def params(self, **extra: str) -> dict:
        return {
            "CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": self.caller, "To": self.called,
            "Caller": self.caller, "Called": self.called, "CallStatus": "in-progress",
            "Direction": self.direction, "ApiVersion": "2010-04-01",
            **({"AnsweredBy": self.answered_by} if self.answered_by else {}), **extra,
        }

    def post(self, url: str, params: dict) -> tuple[int, str]:
        url = urljoin(self.base_url + "/", url)
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        # Twilio gives every request its own token and repeats it only on a retry of that request.
        return self.transport(url, params, {"X-Twilio-Signature": signature,
                                            "I-Twilio-Idempotency-Token": str(uuid.uuid4())})

    def fetch(self, url: str, **extra: str) -> ET.Element:
        """The TwiML at `url`: the call's next step."""
        self._fetches_without_progress += 1
        if self._fetches_without_progress > MAX_REQUESTS_WITHOUT_PROGRESS:
            raise CallFailed(f"{MAX_REQUESTS_WITHOUT_PROGRESS} requests in a row with no time passing and no "
                             "input used: the flow does not end")
        status, body = self.post(url, self.params(**extra))
        if status == 403:
            raise CallFailed(f"the hotline refused the signature (HTTP 403 from {url}): sign with its token "
                             "(--auth-token, or --instance / HOTLINE_INSTANCE naming its instance folder)")
        if status != 200:
            raise CallFailed(f"HTTP {status} from {url}: {body[:200]}")
        try:
            return ET.fromstring(body)
        except ET.ParseError as error:
            raise CallFailed(f"invalid TwiML from {url}: {error}") from None

    def run(self, inputs: list, start_url: str = "/voice/incoming") -> SimulatedCall:
        """inputs: key strings, or ("dtmf" | "say" | "audio", value) pairs, in answer order."""
        keys = [("dtmf", item) if isinstance(item, str) else tuple(item) for item in inputs]
        try:
            document = self.fetch(start_url, CallStatus="ringing" if self.direction == "inbound" else "in-progress")
            while document is not None:
                document = self._follow(document, keys)
        except CallFailed as error:
            self.ended_by, self.error = "error", str(error)
        except KeyboardInterrupt:
            self.ended_by = "caller"  # Ctrl-C: the person at the keyboard hung up
            raise
        finally:
            # Every ending, an error's or an interrupt's too, is a hang-up the hotline must hear
            # of, or the call stays live there (and queued for an agent).
            self._turn(None)
            try:
                self.post(self.status_url, self.params(CallStatus="completed"))
            except CallFailed:
                pass  # the hotline is gone: the call's error says so already
        return self

    def _take_input(self, keys: list) -> tuple[str, str]:
        self._fetches_without_progress = 0  # the caller did something: the flow is moving
        return keys.pop(0)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)
            self._fetches_without_progress = 0  # time passed: a loop of pauses is a caller waiting

    def _turn(self, pressed: str | None, said: str | None = None) -> None:
        if self._heard or pressed is not None or said is not None:
            turn = {"heard": " ".join(self._heard), "pressed": pressed}
            if said is not None:
                turn["said"] = said
            self.turns.append(turn)
            self._heard = []

    def _follow(self, document: ET.Element, keys: list[str]) -> ET.Element | None:
        """Carry out one TwiML document; return the next one, or None when the call ends."""
        for verb in document:
            tag = verb.tag
            if tag in ("Say", "Play"):
                self._heard.append((verb.text or "").strip())
            elif tag == "Pause":
                self._sleep(float(verb.get("length", 1)))  # Twilio's default length is a second
            elif tag == "Gather":
                self._heard += [(child.text or "").strip() for child in verb if child.tag in ("Say", "Play")]
                if not keys:
                    self.ended_by = "caller"
                    return None
                kind, key = self._take_input(keys)
                if kind != "dtmf":
                    raise CallFailed(f"<Gather input=dtmf> cannot take --{kind}: key it instead")
                if not key:  # silence: Twilio moves on to the verb after the Gather
                    self._turn("")
                    continue
                finish = verb.get("finishOnKey", "#")
                digits = key[: int(verb.get("numDigits"))] if verb.get("numDigits") else key.removesuffix(finish)
                self._turn(key)
                return self.fetch(verb.get("action", ""), Digits=digits)
            elif tag == "Record":
                if not keys:
                    self.ended_by = "caller"
                    return None
                kind, value = self._take_input(keys)
                if kind == "dtmf":  # no words: Twilio records nothing and goes on to the next verb
                    self._turn(value)
                    continue
                self._turn(None, said=value if kind == "say" else f"<{value}>")
                seconds = min(len(self._speech_audio(kind, value)) / 8000, float(verb.get("maxLength", 3600)))
                recording_sid = "RE" + uuid.uuid4().hex
                # The recording stays with the carrier, as Twilio keeps it under the account.
                return self.fetch(verb.get("action", ""), RecordingSid=recording_sid, RecordingDuration=str(round(seconds)),
                                  RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/"
                                               f"{recording_sid}")
            elif tag == "Redirect":
                return self.fetch(verb.text or "")
            elif tag == "Hangup":
                self.ended_by = "hangup"
                return None
            elif tag == "Enqueue":
                self.queue = (verb.text or "").strip()
                return self._hold(verb, keys)
            elif tag == "Connect":
                stream = verb.find("Stream")
                if stream is None:
                    raise CallFailed("<Connect> without <Stream>")
                parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
                if not self._stream(stream.get("url", ""), parameters, keys):
                    return None
                return self.fetch(verb.get("action", "")) if verb.get("action") else None
            elif tag == "Dial":
                target = next(iter(verb), None)
                self.connected_to = (f"{target.tag.lower()}:{(target.text or '').strip()}" if target is not None
                                     else (verb.text or "").strip())
                if verb.get("action"):
                    return self.fetch(verb.get("action"), DialCallStatus="completed")
            else:
                raise CallFailed(f"the simulator does not follow <{tag}> yet")
        self.ended_by = "hangup"  # Twilio hangs up when a document runs out of verbs
        return None

    # --- waiting in a queue ---

    def _hold(self, enqueue: ET.Element, keys: list) -> ET.Element | None:
        """Wait in the queue: hear the wait music, answer its keypad offers with the next inputs,
        and go where the hotline redirects the call (its agent). After hold_s, hang up."""
        self._enqueued_at = self.monotonic()
        self._hold_until = self._enqueued_at + self.hold_s
        try:
            while True:
                music = self.fetch(enqueue.get("waitUrl", ""), QueuePosition="1", QueueTime=self._queue_time())
                redirect = self._play_wait_music(music, keys, patient=True) or self._redirected()
                if redirect:
                    return self.fetch(redirect)
        except _HungUp as hung_up:
            self._leave_queue(enqueue)
            self.ended_by = hung_up.by
            return None
        except BaseException:
            # An error or Ctrl-C drops the line: the hotline still hears the caller leave the queue.
            try:
                self._leave_queue(enqueue)
            except CallFailed:
                pass  # the hotline is gone: the error being raised says so
            raise

    def _play_wait_music(self, document: ET.Element, keys: list, *, patient: bool) -> str | None:
        """Play one wait-music document to its end; returns where the hotline redirected the call,
        if it did meanwhile. `patient`: the caller may hang up in it once hold_s has passed (not
        while the hotline answers a key they pressed)."""
        for verb in document:
            if verb.tag in ("Say", "Play"):
                self._heard.append((verb.text or "").strip())
            elif verb.tag == "Pause":
                redirect = self._pause_in_queue(float(verb.get("length", 1)), patient=patient)
                if redirect:
                    return redirect
            elif verb.tag == "Gather":
                self._heard += [(c.text or "").strip() for c in verb if c.tag in ("Say", "Play")]
                if keys and keys[0][0] == "dtmf":
                    key = self._take_input(keys)[1]
                    self._turn(key)
                    if key:  # the hotline's answer plays instead of the rest of the music
                        answer = self.fetch(verb.get("action", ""), Digits=key)
                        return self._play_wait_music(answer, keys, patient=False)
            elif verb.tag == "Redirect":
                return self._play_wait_music(self.fetch(verb.text or ""), keys, patient=patient)
            elif verb.tag == "Hangup":
                raise _HungUp("hangup")
            else:
                raise CallFailed(f"<{verb.tag}> in a queue's wait music")
        return None

    def _pause_in_queue(self, seconds: float, *, patient: bool) -> str | None:
        """Let `seconds` pass in the queue, asking the carrier every REDIRECT_POLL_S whether the
        hotline redirected the call, as Twilio cuts the wait music short for that; returns the
        redirect. Raises _HungUp when the caller's hold time has run out (if `patient`)."""
        end = self.monotonic() + seconds
        if patient:
            end = min(end, self._hold_until)
        while True:
            redirect = self._redirected()
            if redirect:
                return redirect
            left = end - self.monotonic()
            if left <= CLOCK_RESOLUTION_S:
                break
            self._sleep(min(left, REDIRECT_POLL_S))
        if patient and self._hold_until - self.monotonic() <= CLOCK_RESOLUTION_S:
            raise _HungUp("caller")
        return None

    def _queue_time(self) -> str:
        return str(round(self.monotonic() - self._enqueued_at))

    def _redirected(self) -> str | None:
        """Where the hotline sent this call (the local carrier's REST call update), if anywhere."""
        status, body = self.post("/voice/simulator/redirect", self.params())
        return body.strip() if status == 200 and body.strip() else None

    def _leave_queue(self, enqueue: ET.Element) -> None:
        """The caller hung up while queued: Twilio tells the <Enqueue action> before the status."""
        if enqueue.get("action"):
            self.fetch(enqueue.get("action"), QueueResult="hangup", QueueTime=self._queue_time())

    # --- Media Streams: the simulator plays Twilio's side of the websocket ---

    def _stream(self, url: str, parameters: dict, inputs: list) -> bool:
        """Run a bidirectional stream; True when the server ended it, False when the caller did."""
        import websocket

        signature = RequestValidator(self.auth_token).compute_signature(url, {})
        try:
            ws = websocket.create_connection(url, header=[f"X-Twilio-Signature: {signature}"],
                                             timeout=STREAM_IDLE_LIMIT_S)
        except (OSError, websocket.WebSocketException) as error:
            raise CallFailed(f"cannot open media stream {url}: {error}") from None
        raw_socket = ws.sock  # websocket-client forgets it on a server close without closing it
        stream_sid = "MZ" + uuid.uuid4().hex
        sequence = iter(range(1, 1_000_000))

        def send(event: str, **body) -> None:
            ws.send(json.dumps({"event": event, "sequenceNumber": str(next(sequence)), "streamSid": stream_sid,
                                **body}))

        pump: list[bytes] = []   # caller audio still to send, 20 ms at a time
        echoes: list[tuple[float, str]] = []  # marks to return once their audio has "played"
        listening, played_until, voiced_left = False, 0.0, 0
        # Real time: a frame each 20 ms and prompts that take their length to play, as on a
        # phone line. Fast: prompts play at once and the caller's audio goes in bursts.
        frames_per_turn, wait = (FAST_FRAMES, FAST_WAIT_S) if self.fast else (1, 0.02)
        try:
            ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            send("start", start={
                "streamSid": stream_sid, "accountSid": ACCOUNT_SID, "callSid": self.sid, "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": parameters,
            })
            while True:
                now = time.monotonic()
                while echoes and echoes[0][0] <= now:
                    send("mark", mark={"name": echoes.pop(0)[1]})
                ws.settimeout(wait if (listening or echoes) else STREAM_IDLE_LIMIT_S)
                try:
                    raw = ws.recv()
                except websocket.WebSocketTimeoutException:
                    if listening:  # the caller's side of the line: speech, then silence
                        for _ in range(frames_per_turn):
                            send("media", media={"track": "inbound", "payload": base64.b64encode(
                                pump.pop(0) if pump else SILENT_FRAME).decode()})
                            voiced_left -= 1
                            if voiced_left == 0:
                                self._stopwatch("input_end")
                    continue
                if not raw:
                    return True
                received = time.monotonic()
                message = json.loads(raw)
                event = message.get("event")
                if self.on_stream is not None and event in ("media", "mark"):
                    self.on_stream(event, received, message.get("mark", {}).get("name", ""))
                if event == "media" and not self.fast:
                    seconds = len(base64.b64decode(message["media"]["payload"])) / 8000
                    played_until = max(played_until, time.monotonic()) + seconds
                elif event == "clear":  # Twilio stops playback and returns the pending marks
                    echoes = [(0.0, name) for _, name in echoes]
                    played_until = 0.0
                elif event == "mark":
                    name = message["mark"]["name"]
                    kind, _, rest = name.partition(":")
                    if kind == "say":
                        self._heard.append(rest.partition(":")[2])
                        listening = False
                        echoes.append((played_until, name))
                    elif kind == "recognised" and self.turns:
                        self.turns[-1]["recognised"] = rest
                    elif kind == "listen":
                        if not inputs:
                            send("stop", stop={"accountSid": ACCOUNT_SID, "callSid": self.sid})
                            self.ended_by = "caller"
                            return False
                        pump, listening = self._answer(self._take_input(inputs), send), True
                        voiced_left = last_voiced(pump)
                        if not voiced_left:
                            self._stopwatch("input_end")  # keys (or silence) are sent already
        except (websocket.WebSocketConnectionClosedException, OSError):
            # The server closed the socket, perhaps before our reply to its close frame got
            # through (a broken pipe): as Twilio does, go on with the <Connect action>.
            return True
        finally:
            try:
                ws.close()
            except (websocket.WebSocketException, OSError):
                pass  # already gone
            raw_socket.close()

    def _stopwatch(self, event: str) -> None:
        if self.on_stream is not None:
            self.on_stream(event, time.monotonic(), "")

    def _answer(self, answer: tuple[str, str], send) -> list[bytes]:
        """Carry out one input on the stream; the audio frames still to send."""
        kind, value = answer
        if kind == "dtmf":
            self._turn(value)
            for digit in value:
                send("dtmf", dtmf={"track": "inbound_track", "digit": digit})
            return []
        self._turn(None, said=value if kind == "say" else f"<{value}>")
        audio = self._speech_audio(kind, value)
        return frames(audio + b"\xff" * int(TRAILING_SILENCE_S * 8000))

    def _speech_audio(self, kind: str, value: str) -> bytes:
        from speech.audio import read_wav, to_telephone
        from speech.tts import RATES, VOICES, synthesize

        if kind == "audio":
            samples, rate = read_wav(Path(value).read_bytes())
        else:
            samples, rate = synthesize(value, self.voice or VOICES[self.language], self.rate or RATES[self.language])
        if self.snr_db is not None:
            samples = add_noise(samples, self.snr_db)
        return to_telephone(samples, rate)

    def as_json(self) -> dict:
        result = {"call_sid": self.sid, "turns": self.turns, "ended_by": self.ended_by}
        if self.queue:
            result["queue"] = self.queue
        if self.connected_to:
            result["agent"] = self.connected_to
        if self.error:
            result["error"] = self.error
        return result


def last_voiced(audio_frames: list[bytes]) -> int:
    """How many frames, from the first, up to and including the last with the caller's voice."""
    from speech.audio import is_voice, mulaw_decode

    for index in range(len(audio_frames) - 1, -1, -1):
        if is_voice(mulaw_decode(audio_frames[index])):
            return index + 1
    return 0


def add_noise(samples, snr_db: float, seed: int = 7):
    """White noise at the given signal-to-noise ratio."""
    import numpy as np

    signal = samples.astype(np.float64)
    noise_power = np.mean(signal ** 2) / (10 ** (snr_db / 10))
    noisy = signal + np.random.default_rng(seed).normal(0, np.sqrt(noise_power), len(signal))
    return np.clip(noisy, -32768, 32767).astype(np.int16)


class _InputAction(argparse.Action):
    """--dtmf, --say and --audio append to one ordered list of answers."""

    def __call__(self, parser, namespace, values, option_string=None):
        answers = getattr(namespace, "inputs", None) or []
        kind = option_string.lstrip("-")
        answers += [(kind, value) for value in (values if isinstance(values, list) else [values])]
        namespace.inputs = answers


ANSWERS = ("human", "machine", "busy", "no-answer")


def scripted_answer(script: dict, number: str) -> tuple[str, list]:
    """How the phone at `number` answers, by a script: {"<number>" or "*": "busy" |
    {"as": "human", "dtmf": [...], "say": [...]}}; keys are answered before words."""
    entry = script.get(number, script.get("*", "no-answer"))
    if isinstance(entry, str):
        entry = {"as": entry}
    if not isinstance(entry, dict) or entry.get("as", "human") not in ANSWERS:
        raise CallFailed(f"script entry for {number}: use one of {', '.join(ANSWERS)} or {{\"as\": ..., \"dtmf\": [...]}}")
    return entry.get("as", "human"), ([("dtmf", k) for k in entry.get("dtmf", [])] +
                                      [("say", w) for w in entry.get("say", [])])


def local_path(url: str) -> str:
    """A URL the hotline gave, as this carrier reaches the hotline (its path and query)."""
    parts = urlparse(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def answer_outbound(base_url: str, auth_token: str, answer_as: str, inputs: list, *, wait_s: float = 10.0,
                    script: dict | None = None, **call_options) -> SimulatedCall | dict | None:
    """The customer's phone: take the next call the hotline places and answer it as a human, an
    answering machine, or not at all (busy, no answer), or as `script` says for the number
    called. Waits up to `wait_s` for a call. `call_options`: SimulatedCall fields (tests: a
    transport and a clock). Returns the call, or the status sent."""
    probe = SimulatedCall(base_url, auth_token, "", **call_options)
    deadline = probe.monotonic() + wait_s
    while True:
        status, body = probe.post("/voice/simulator/outbound", probe.params())
        if status == 200:
            break
        left = deadline - probe.monotonic()
        if left <= CLOCK_RESOLUTION_S:
            return None
        probe.sleep(min(left, OUTBOUND_POLL_S))
    placed = json.loads(body)
    if script is not None:
        answer_as, inputs = scripted_answer(script, placed["to"])
    start, status_url = local_path(placed["url"]), local_path(placed["status_callback"])
    if answer_as in ("busy", "no-answer"):
        call = SimulatedCall(base_url, auth_token, "+864008000000", placed["to"], sid=placed["sid"],
                             direction="outbound-api", **call_options)
        call.post(status_url, call.params(CallStatus=answer_as))
        return {"call_sid": placed["sid"], "to": placed["to"], "status": answer_as}
    call = SimulatedCall(base_url, auth_token, "+864008000000", placed["to"], sid=placed["sid"],
                         direction="outbound-api", answered_by="human" if answer_as == "human" else "machine_start",
                         status_url=status_url, **call_options)
    return call.run(inputs, start_url=start)


def run_agent(base_url: str, username: str, password: str, *, answer_after: float = 0.0, calls: int = 1,
              talk_s: float = 0.0, timeout_s: float = 60.0, poll_s: float = 0.05) -> list[dict]:
    """A simulated agent at the console: goes available, answers offers after `answer_after`
    seconds (a negative value never answers: the offer times out), talks, hangs up, repeats."""
    import requests

    handled: list[dict] = []
    with requests.Session() as http:
        def api(method: str, path: str, **body) -> dict:
            response = http.request(method, f"{base_url}/console/api/{path}", json=body if method == "POST" else None,
                                    timeout=30)
            if response.status_code >= 400:
                raise CallFailed(f"{path}: HTTP {response.status_code}: {response.text[:200]}")
            return response.json()

        api("POST", "login", username=username, password=password)
        api("POST", "state", state="available")
        deadline = time.monotonic() + timeout_s
        while len(handled) < calls and time.monotonic() < deadline:
            view = api("GET", "me")
            offer = view.get("offer")
            if view["state"] != "offered" or not offer:
                time.sleep(poll_s)
                continue
            if answer_after < 0:
                time.sleep(poll_s)
                continue
            time.sleep(answer_after)
            accepted = api("POST", "accept", call_sid=offer["call_sid"])
            time.sleep(talk_s)
            api("POST", "finish", disposition="resolved", call_sid=offer["call_sid"])
            handled.append({"call_sid": offer["call_sid"], "line": offer["line"], "kept_place": accepted["kept_place"],
                            "caller": offer["caller"]})
        if api("GET", "me")["state"] not in ("offered", "on_call"):
            api("POST", "state", state="offline")
    return handled


def local_token(instance: str | None) -> str:
    """The token the hotline signs with: its settings' TWILIO_AUTH_TOKEN (settings.env, the
    environment on top), else the local carrier token it made in its instance folder."""
    from config import ConfigError, from_environment, instance_folder

    folder = instance or instance_folder()
    try:
        configured = from_environment(folder)["TWILIO_AUTH_TOKEN"]
    except ConfigError as error:
        sys.exit(f"cannot read the hotline's settings: {error}")
    if configured:
        return configured
    path = os.path.join(folder, "carrier_token")
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        sys.exit(f"no auth token: pass --auth-token, set TWILIO_AUTH_TOKEN, or run the app once to create {path}")


def default_base_url(instance: str | None = None) -> str:
    """Where `python app.py` listens on this machine: the PORT setting of its instance folder
    (settings.env, the environment on top), as the server reads it."""
    from config import ConfigError, from_environment, instance_folder

    try:
        return f"http://127.0.0.1:{from_environment(instance or instance_folder())['PORT']}"
    except ConfigError:  # the server would not start either; its own error says why
        return "http://127.0.0.1:5000"


INSTANCE_HELP = "the hotline's instance folder (default: HOTLINE_INSTANCE, else instance/)"
BASE_URL_HELP = "the hotline's address (default: this machine, on the PORT of its instance folder)"
INTERRUPTED = 130  # the exit status of a command stopped by Ctrl-C (128 + SIGINT)


def main(argv: list[str] | None = None, **call_options) -> int:
    """The command line. `call_options`: SimulatedCall fields for the calls it places or answers
    (tests: a transport and a clock)."""
    parser = argparse.ArgumentParser(prog="python -m ivr.simulator", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    call = commands.add_parser("call", help="place an inbound call to the hotline")
    call.add_argument("--base-url", help=BASE_URL_HELP)
    call.add_argument("--from", dest="caller", required=True, help="the caller's number (caller ID)")
    call.add_argument("--to", dest="called", default="+864008000000", help="the hotline number dialled")
    call.add_argument("--dtmf", nargs="*", action=_InputAction, dest="inputs", default=[],
                      help="keys answering the next questions; '' is silence")
    call.add_argument("--say", action=_InputAction, dest="inputs", help="words the caller says (TTS)")
    call.add_argument("--audio", action=_InputAction, dest="inputs", help="a WAV recording the caller plays")
    call.add_argument("--language", default="zh-CN", help="the caller's language, for --say")
    call.add_argument("--voice", help="espeak-ng voice for --say (default: the language's)")
    call.add_argument("--rate", type=int, default=140, help="speaking rate for --say")
    call.add_argument("--snr", type=float, help="add white noise at this SNR in dB")
    call.add_argument("--fast", action="store_true", help="send audio as fast as the server takes it")
    call.add_argument("--hold", type=float, default=0.0, help="seconds to wait in a queue for an agent")
    call.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN", ""))
    call.add_argument("--instance", help=INSTANCE_HELP)
    call.add_argument("--json", action="store_true", help="print one JSON object")
    answer = commands.add_parser("answer", help="be the customer's phone for the next outbound call")
    answer.add_argument("--base-url", help=BASE_URL_HELP)
    answer.add_argument("--as", dest="answer_as", choices=ANSWERS, default="human")
    answer.add_argument("--script", type=Path, help='JSON: {"<number>" or "*": "busy" | {"as": "human", "dtmf": [...]}}')
    answer.add_argument("--calls", type=int, default=1, help="how many calls to take (one JSON line each)")
    answer.add_argument("--dtmf", nargs="*", action=_InputAction, dest="inputs", default=[])
    answer.add_argument("--say", action=_InputAction, dest="inputs")
    answer.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a call")
    answer.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN", ""))
    answer.add_argument("--instance", help=INSTANCE_HELP)
    agent = commands.add_parser("agent", help="be an agent at the console, answering offered calls")
    agent.add_argument("--base-url", help=BASE_URL_HELP)
    agent.add_argument("--instance", help=INSTANCE_HELP)
    agent.add_argument("--agent", dest="username", required=True, help="the agent's console username")
    agent.add_argument("--password", required=True)
    agent.add_argument("--answer-after", type=float, default=1.0, help="seconds before answering; <0: never")
    agent.add_argument("--calls", type=int, default=1, help="how many calls to take")
    agent.add_argument("--talk", type=float, default=0.0, help="seconds on each call")
    agent.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    args.base_url = (args.base_url or default_base_url(args.instance)).rstrip("/")

    if args.command == "answer":
        try:
            script = json.loads(args.script.read_text(encoding="utf-8")) if args.script else None
        except (OSError, ValueError) as error:
            print(json.dumps({"error": f"cannot read the script: {error}"}))
            return 2
        for _ in range(args.calls):
            try:
                answered = answer_outbound(args.base_url, args.auth_token or local_token(args.instance),
                                           args.answer_as, list(args.inputs), wait_s=args.wait, script=script,
                                           **call_options)
            except CallFailed as error:
                print(json.dumps({"error": str(error)}, ensure_ascii=False))
                return 1
            except KeyboardInterrupt:
                return INTERRUPTED  # a call being answered has sent its hang-up already
            if answered is None:
                print(json.dumps({"error": "no outbound call came"}))
                return 1
            print(json.dumps(answered if isinstance(answered, dict) else answered.as_json(), ensure_ascii=False))
        return 0
    if args.command == "agent":
        handled = run_agent(args.base_url, args.username, args.password, answer_after=args.answer_after,
                            calls=args.calls, talk_s=args.talk, timeout_s=args.timeout)
        print(json.dumps({"agent": args.username, "handled": handled}, ensure_ascii=False))
        return 0
    token = args.auth_token or local_token(args.instance)
    result = SimulatedCall(
        args.base_url, token, args.caller, args.called, fast=args.fast, voice=args.voice,
        rate=args.rate, snr_db=args.snr, language=args.language, hold_s=args.hold, **call_options,
    )
    interrupted = False
    try:
        result.run(args.inputs)
    except KeyboardInterrupt:
        interrupted = True  # the hang-up has been sent: report the call as far as it went
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        for turn in result.turns:
            print(f"hotline: {turn['heard']}")
            if turn.get("said") is not None:
                print(f"caller says: {turn['said']}" + (f"  [recognised: {turn['recognised']}]"
                                                        if "recognised" in turn else ""))
            elif turn["pressed"] is not None:
                print(f"caller presses: {turn['pressed'] or '(silence)'}")
        print(f"-- call ended by {result.ended_by}" + (f": {result.error}" if result.error else ""))
    if interrupted:
        return INTERRUPTED
    return 1 if result.ended_by == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
