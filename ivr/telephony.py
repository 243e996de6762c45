"""Placing outbound calls: Twilio's REST API when credentials are set, else the simulator.

Both clients take the same arguments and return the new call's SID.
"""
from __future__ import annotations

import json
import uuid

from ivr.keys import key_for

SIMULATOR_OUTBOX = key_for("simulator", "outbound")


class TwilioTelephony:
    def __init__(self, account_sid: str, auth_token: str, caller_id: str):
        from twilio.rest import Client

        self.client, self.caller_id = Client(account_sid, auth_token), caller_id

    def place_call(self, *, to: str, url: str, status_callback: str) -> str:
        call = self.client.calls.create(
            to=to, from_=self.caller_id, url=url, status_callback=status_callback,
            status_callback_event=["completed"],
        )
        return call.sid

    def redirect(self, call_sid: str, url: str) -> None:
        """Send a live call to new TwiML (e.g. from the queue to its agent)."""
        self.client.calls(call_sid).update(url=url, method="POST")


class SimulatedTelephony:
    """Hands outbound calls to the local carrier simulator through a Redis list."""

    def __init__(self, connection):
        self.redis = connection

    def place_call(self, *, to: str, url: str, status_callback: str) -> str:
        sid = "CA" + uuid.uuid4().hex
        self.redis.rpush(SIMULATOR_OUTBOX, json.dumps(
            {"sid": sid, "to": to, "url": url, "status_callback": status_callback}
        ))
        return sid

    def redirect(self, call_sid: str, url: str) -> None:
        self.redis.set(simulator_redirect_key(call_sid), url, ex=3600)


def simulator_redirect_key(call_sid: str) -> str:
    return key_for("simulator:redirect", call_sid)


def get_telephony():
    from flask import current_app

    from redis_conn import get_redis

    config = current_app.config
    if not config["LOCAL_CARRIER"]:
        return TwilioTelephony(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], config["TWILIO_CALLER_ID"])
    return SimulatedTelephony(get_redis())
