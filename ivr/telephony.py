"""Placing outbound calls: Twilio's REST API when credentials are set, else the simulator.

Both clients take the same arguments and return the new call's SID, and can say whether a call
to a number was placed since a moment (the carrier's call list); every call waits for a pacing
slot first (OUTBOUND_CALLS_PER_SECOND, shared by all workers).
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

from callqueue.destinations import e164
from callqueue.pacing import Pacer
from keys import key_for

SIMULATOR_OUTBOX = key_for("simulator", "outbound")


class TwilioTelephony:
    def __init__(self, account_sid: str, auth_token: str, caller_id: str):
        from twilio.rest import Client

        self.client, self.caller_id = Client(account_sid, auth_token), caller_id

    def place_call(self, *, to: str, url: str, status_callback: str) -> str:
        call = self.client.calls.create(
            to=e164(to), from_=self.caller_id, url=url, status_callback=status_callback,
            status_callback_event=["completed"],
        )
        return call.sid

    def redirect(self, call_sid: str, url: str) -> None:
        """Send a live call to new TwiML (e.g. from the queue to its agent)."""
        self.client.calls(call_sid).update(url=url, method="POST")

    def find_call(self, *, to: str, since: datetime) -> str | None:
        """The SID of a call placed to `to` since `since` (UTC), if the carrier has one: how a
        worker that died between dialling and saving learns whether the call went out."""
        for call in self.client.calls.list(to=e164(to), limit=20):
            if call.date_created is not None and call.date_created >= since:
                return call.sid
        return None


class SimulatedTelephony:
    """Hands outbound calls to the local carrier simulator through a Redis list."""

    def __init__(self, connection):
        self.redis = connection

    def place_call(self, *, to: str, url: str, status_callback: str) -> str:
        sid = "CA" + uuid.uuid4().hex
        placed_at = time.time()
        pipe = self.redis.pipeline()  # the carrier's own call list and its outbox, together
        pipe.rpush(SIMULATOR_OUTBOX, json.dumps(
            {"sid": sid, "to": to, "url": url, "status_callback": status_callback, "placed_at": placed_at}))
        pipe.zadd(simulator_calls_key(to), {sid: placed_at})
        pipe.expire(simulator_calls_key(to), 7 * 24 * 3600)
        pipe.execute()
        return sid

    def redirect(self, call_sid: str, url: str) -> None:
        self.redis.set(simulator_redirect_key(call_sid), url, ex=3600)

    def find_call(self, *, to: str, since: datetime) -> str | None:
        placed = self.redis.zrangebyscore(simulator_calls_key(to), since.timestamp(), "+inf",
                                          start=0, num=1)
        return placed[0].decode() if placed else None


def simulator_calls_key(to: str) -> str:
    return key_for("simulator:calls", to)


def simulator_redirect_key(call_sid: str) -> str:
    return key_for("simulator:redirect", call_sid)


class PacingTimeout(RuntimeError):
    pass


class PacedTelephony:
    """A carrier client whose calls each wait for a pacing slot (at most PACING_MAX_WAIT_S)."""

    PACING_MAX_WAIT_S = 5.0

    def __init__(self, carrier, pacer: Pacer):
        self.carrier, self.pacer = carrier, pacer

    def place_call(self, **call) -> str:
        if self.pacer.take(self.PACING_MAX_WAIT_S) is None:
            raise PacingTimeout(f"no pacing slot within {self.PACING_MAX_WAIT_S:.0f} s")
        return self.carrier.place_call(**call)

    def redirect(self, call_sid: str, url: str) -> None:
        self.carrier.redirect(call_sid, url)

    def find_call(self, *, to: str, since: datetime) -> str | None:
        return self.carrier.find_call(to=to, since=since)


def get_telephony() -> PacedTelephony:
    from flask import current_app

    from redis_conn import get_redis

    config = current_app.config
    if config["LOCAL_CARRIER"]:
        carrier = SimulatedTelephony(get_redis())
    else:
        carrier = TwilioTelephony(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config["TWILIO_CALLER_ID"])
    return PacedTelephony(carrier, Pacer(get_redis(), config["OUTBOUND_CALLS_PER_SECOND"], config["CLOCK"]))
