"""The carrier simulator: plays Twilio's part so anyone can call the hotline locally.

    python -m ivr.simulator call --base-url http://127.0.0.1:5000 --from 13800138000 \\
        --dtmf 1 1234567890123# 1 --json

It sends signed webhooks with Twilio's parameter names, follows the TwiML verb by verb
(Say, Play, Gather, Redirect, Pause, Hangup, Enqueue, Dial), answers each Gather with the
next --dtmf value (an empty value is silence: the Gather times out), and reports the
dialog. When the keys run out at a Gather, the caller hangs up. At the end it posts the
call's final status, as Twilio does to a number's status callback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from twilio.request_validator import RequestValidator

MAX_REQUESTS = 200  # a flow that never ends is a bug the simulator reports, not a hang
Transport = Callable[[str, dict, dict], tuple[int, str]]


def http_transport(url: str, params: dict, headers: dict) -> tuple[int, str]:
    import requests

    response = requests.post(url, data=params, headers=headers, timeout=30)
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
    _heard: list[str] = field(default_factory=list)
    _requests: int = 0

    def params(self, **extra: str) -> dict:
        return {
            "CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.caller, "To": self.called,
            "Caller": self.caller, "Called": self.called, "CallStatus": "in-progress",
            "Direction": "inbound", "ApiVersion": "2010-04-01", **extra,
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

    def run(self, keys: list[str]) -> SimulatedCall:
        keys = list(keys)
        try:
            document = self.fetch("/voice/incoming", CallStatus="ringing")
            while document is not None:
                document = self._follow(document, keys)
        except CallFailed as error:
            self.ended_by, self.error = "error", str(error)
        self._turn(None)
        self.post("/voice/status", self.params(CallStatus="completed"))
        return self

    def _turn(self, pressed: str | None) -> None:
        if self._heard or pressed is not None:
            self.turns.append({"heard": " ".join(self._heard), "pressed": pressed})
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
                key = keys.pop(0)
                if not key:  # silence: Twilio moves on to the verb after the Gather
                    self._turn("")
                    continue
                finish = verb.get("finishOnKey", "#")
                digits = key[: int(verb.get("numDigits"))] if verb.get("numDigits") else key.removesuffix(finish)
                self._turn(key)
                return self.fetch(verb.get("action", ""), Digits=digits)
            elif tag == "Redirect":
                return self.fetch(verb.text or "")
            elif tag == "Hangup":
                self.ended_by = "hangup"
                return None
            elif tag == "Enqueue":
                self.queue = (verb.text or "").strip()
                wait = self.fetch(verb.get("waitUrl", ""), QueuePosition="1", QueueTime="0")
                self._heard += [(child.text or "").strip() for child in wait if child.tag in ("Say", "Play")]
                # No agent answers in the simulator yet: the caller gives up while waiting.
                if verb.get("action"):
                    self.fetch(verb.get("action"), QueueResult="hangup", QueueTime="30")
                self.ended_by = "caller"
                return None
            elif tag == "Dial":
                if verb.get("action"):
                    return self.fetch(verb.get("action"), DialCallStatus="completed")
            else:
                raise CallFailed(f"the simulator does not follow <{tag}> yet")
        self.ended_by = "hangup"  # Twilio hangs up when a document runs out of verbs
        return None

    def as_json(self) -> dict:
        result = {"call_sid": self.sid, "turns": self.turns, "ended_by": self.ended_by}
        if self.queue:
            result["queue"] = self.queue
        if self.error:
            result["error"] = self.error
        return result


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
    call.add_argument("--dtmf", nargs="*", default=[], help="keys for each Gather in order; '' is silence")
    call.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN", ""))
    call.add_argument("--instance", default="instance", help="instance folder holding the local carrier token")
    call.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    token = args.auth_token or local_token(args.instance)
    result = SimulatedCall(args.base_url.rstrip("/"), token, args.caller, args.called).run(args.dtmf)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        for turn in result.turns:
            print(f"hotline: {turn['heard']}")
            if turn["pressed"] is not None:
                print(f"caller presses: {turn['pressed'] or '(silence)'}")
        print(f"-- call ended by {result.ended_by}" + (f": {result.error}" if result.error else ""))
    return 1 if result.ended_by == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
