"""The carrier simulator: plays Twilio's part so anyone can call the hotline locally.

    python -m ivr.simulator call --base-url http://127.0.0.1:5000 --from 13800138000 \\
        --dtmf 1 1234567890123# 1 --json

It sends signed webhooks with Twilio's parameter names, follows the TwiML verb by verb
(Say, Play, Gather, Record, Redirect, Pause, Hangup, Enqueue, Dial, Connect/Stream) and answers
each question with the next input, in the order given: --dtmf KEYS (an empty value is
silence: the question times out), --say WORDS (rendered with TTS in a voice or rate unlike
the hotline's) or --audio FILE.wav (any rate). On a Media Stream the caller's audio goes as
20 ms mu-law frames, in real time or --fast. When the inputs run out at a question, the
caller hangs up. At the end it posts the call's final status, as Twilio does.
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

MAX_REQUESTS = 200  # a flow that never ends is a bug the simulator reports, not a hang
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
    _heard: list[str] = field(default_factory=list)
    _requests: int = 0

    def params(self, **extra: str) -> dict:
        return {
            "CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": self.caller, "To": self.called,
            "Caller": self.caller, "Called": self.called, "CallStatus": "in-progress",
            "Direction": self.direction, "ApiVersion": "2010-04-01",
            **({"AnsweredBy": self.answered_by} if self.answered_by else {}), **extra,
        }

    def post(self, url: str, params: dict) -> tuple[int, str]:
        self._requests += 1
        if self._requests > MAX_REQUESTS:
            raise CallFailed(f"more than {MAX_REQUESTS} requests: the flow does not end")
        url = urljoin(self.base_url + "/", url)
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        return self.transport(url, params, {"X-Twilio-Signature": signature})

    def fetch(self, url: str, **extra: str) -> ET.Element:
        status, body = self.post(url, self.params(**extra))
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
        self._turn(None)
        try:
            self.post("/voice/status", self.params(CallStatus="completed"))
        except CallFailed:
            pass  # the hotline is gone: the call's error says so already
        return self

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
                continue
            elif tag == "Gather":
                self._heard += [(child.text or "").strip() for child in verb if child.tag in ("Say", "Play")]
                if not keys:
                    self.ended_by = "caller"
                    return None
                kind, key = keys.pop(0)
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
                kind, value = keys.pop(0)
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
        """Wait in the queue: hear each announcement, answer its keypad offer with the next input,
        and go where the hotline redirects the call (its agent). With no input left, wait up to
        hold_s for an agent, then hang up."""
        deadline = time.monotonic() + self.hold_s
        for _ in range(MAX_REQUESTS):
            wait = self.fetch(enqueue.get("waitUrl", ""), QueuePosition="1", QueueTime="0")
            for verb in wait:
                answer = None
                if verb.tag in ("Say", "Play"):
                    self._heard.append((verb.text or "").strip())
                elif verb.tag == "Gather":
                    self._heard += [(c.text or "").strip() for c in verb if c.tag in ("Say", "Play")]
                    if keys and keys[0][0] == "dtmf":
                        key = keys.pop(0)[1]
                        self._turn(key)
                        if key:
                            answer = self.fetch(verb.get("action", ""), Digits=key)
                elif verb.tag == "Redirect":
                    answer = self.fetch(verb.text or "")
                if answer is not None:
                    self._heard += [(v.text or "").strip() for v in answer if v.tag == "Say"]
                    if any(v.tag == "Hangup" for v in answer):
                        self._leave_queue(enqueue, "hangup")
                        self.ended_by = "hangup"
                        return None
                    break  # the wait music starts over, as Twilio fetches waitUrl again
            redirect = self._redirect()
            if redirect:
                return self.fetch(redirect)
            if not keys and time.monotonic() >= deadline:
                self._leave_queue(enqueue, "hangup")
                self.ended_by = "caller"
                return None
            if not keys:
                time.sleep(0.05)
        raise CallFailed("still queued after the simulator's limit of requests")

    def _redirect(self) -> str | None:
        """Where the hotline sent this call (the local carrier's REST call update), if anywhere."""
        status, body = self.post("/voice/simulator/redirect", self.params())
        return body.strip() if status == 200 and body.strip() else None

    def _leave_queue(self, enqueue: ET.Element, result: str) -> None:
        if enqueue.get("action"):
            self.fetch(enqueue.get("action"), QueueResult=result, QueueTime="30")

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

        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        send("start", start={
            "streamSid": stream_sid, "accountSid": ACCOUNT_SID, "callSid": self.sid, "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": parameters,
        })
        pump: list[bytes] = []   # caller audio still to send, 20 ms at a time
        echoes: list[tuple[float, str]] = []  # marks to return once their audio has "played"
        listening, played_until = False, 0.0
        # Real time: a frame each 20 ms and prompts that take their length to play, as on a
        # phone line. Fast: prompts play at once and the caller's audio goes in bursts.
        frames_per_turn, wait = (FAST_FRAMES, FAST_WAIT_S) if self.fast else (1, 0.02)
        try:
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
                    continue
                if not raw:
                    return True
                message = json.loads(raw)
                event = message.get("event")
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
                        pump, listening = self._answer(inputs.pop(0), send), True
        except websocket.WebSocketConnectionClosedException:
            return True
        finally:
            ws.close()
            raw_socket.close()

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


def answer_outbound(base_url: str, auth_token: str, answer_as: str, inputs: list, *, wait_s: float = 10.0,
                    script: dict | None = None, **call_options) -> SimulatedCall | dict | None:
    """The customer's phone: take the next call the hotline places and answer it as a human, an
    answering machine, or not at all (busy, no answer), or as `script` says for the number
    called. Returns the call, or the status sent."""
    probe = SimulatedCall(base_url, auth_token, "")
    deadline = time.monotonic() + wait_s
    while True:
        status, body = probe.post("/voice/simulator/outbound", probe.params())
        if status == 200:
            break
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)
    placed = json.loads(body)
    if script is not None:
        answer_as, inputs = scripted_answer(script, placed["to"])
    path = urlparse(placed["url"])
    start = path.path + (f"?{path.query}" if path.query else "")  # the hotline as this carrier reaches it
    if answer_as in ("busy", "no-answer"):
        call = SimulatedCall(base_url, auth_token, "+864008000000", placed["to"], sid=placed["sid"],
                             direction="outbound-api")
        call.post(urlparse(placed["status_callback"]).path, call.params(CallStatus=answer_as))
        return {"call_sid": placed["sid"], "to": placed["to"], "status": answer_as}
    call = SimulatedCall(base_url, auth_token, "+864008000000", placed["to"], sid=placed["sid"],
                         direction="outbound-api", answered_by="human" if answer_as == "human" else "machine_start",
                         **call_options)
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
            api("POST", "finish", disposition="resolved")
            handled.append({"call_sid": offer["call_sid"], "line": offer["line"], "kept_place": accepted["kept_place"],
                            "caller": offer["caller"]})
        if api("GET", "me")["state"] not in ("offered", "on_call"):
            api("POST", "state", state="offline")
    return handled


def local_token(instance: str) -> str:
    path = os.path.join(instance, "carrier_token")
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        sys.exit(f"no auth token: pass --auth-token, set TWILIO_AUTH_TOKEN, or run the app once to create {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.simulator", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    call = commands.add_parser("call", help="place an inbound call to the hotline")
    call.add_argument("--base-url", default="http://127.0.0.1:5000")
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
    call.add_argument("--instance", default="instance", help="instance folder holding the local carrier token")
    call.add_argument("--json", action="store_true", help="print one JSON object")
    answer = commands.add_parser("answer", help="be the customer's phone for the next outbound call")
    answer.add_argument("--base-url", default="http://127.0.0.1:5000")
    answer.add_argument("--as", dest="answer_as", choices=ANSWERS, default="human")
    answer.add_argument("--script", type=Path, help='JSON: {"<number>" or "*": "busy" | {"as": "human", "dtmf": [...]}}')
    answer.add_argument("--calls", type=int, default=1, help="how many calls to take (one JSON line each)")
    answer.add_argument("--dtmf", nargs="*", action=_InputAction, dest="inputs", default=[])
    answer.add_argument("--say", action=_InputAction, dest="inputs")
    answer.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a call")
    answer.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN", ""))
    answer.add_argument("--instance", default="instance")
    agent = commands.add_parser("agent", help="be an agent at the console, answering offered calls")
    agent.add_argument("--base-url", default="http://127.0.0.1:5000")
    agent.add_argument("--agent", dest="username", required=True, help="the agent's console username")
    agent.add_argument("--password", required=True)
    agent.add_argument("--answer-after", type=float, default=1.0, help="seconds before answering; <0: never")
    agent.add_argument("--calls", type=int, default=1, help="how many calls to take")
    agent.add_argument("--talk", type=float, default=0.0, help="seconds on each call")
    agent.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)

    if args.command == "answer":
        try:
            script = json.loads(args.script.read_text(encoding="utf-8")) if args.script else None
        except (OSError, ValueError) as error:
            print(json.dumps({"error": f"cannot read the script: {error}"}))
            return 2
        for _ in range(args.calls):
            try:
                answered = answer_outbound(args.base_url.rstrip("/"), args.auth_token or local_token(args.instance),
                                           args.answer_as, list(args.inputs), wait_s=args.wait, script=script)
            except CallFailed as error:
                print(json.dumps({"error": str(error)}, ensure_ascii=False))
                return 1
            if answered is None:
                print(json.dumps({"error": "no outbound call came"}))
                return 1
            print(json.dumps(answered if isinstance(answered, dict) else answered.as_json(), ensure_ascii=False))
        return 0
    if args.command == "agent":
        handled = run_agent(args.base_url.rstrip("/"), args.username, args.password, answer_after=args.answer_after,
                            calls=args.calls, talk_s=args.talk, timeout_s=args.timeout)
        print(json.dumps({"agent": args.username, "handled": handled}, ensure_ascii=False))
        return 0
    token = args.auth_token or local_token(args.instance)
    result = SimulatedCall(
        args.base_url.rstrip("/"), token, args.caller, args.called, fast=args.fast, voice=args.voice,
        rate=args.rate, snr_db=args.snr, language=args.language, hold_s=args.hold,
    ).run(args.inputs)
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
    return 1 if result.ended_by == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
