"""Between calls and the ACD: how an accepted offer is connected (the waiting call redirected,
or the customer called back), and the ACD's names for scheduled callbacks."""
from __future__ import annotations

from callqueue.acd import Distributor, Offer
from keys import key_for


def connect(offer: Offer, call_phone: str, telephony, base_url: str) -> str:
    """Connect an accepted offer: redirect the waiting caller to the agent, or dial back a caller
    who kept their place. Returns the SID of the call that now rings."""
    url = f"{base_url}/voice/connect/{offer.agent_id}"
    if offer.callback:
        return telephony.place_call(to=call_phone, url=url + "?kept_place=1",
                                    status_callback=f"{base_url}/voice/status")
    telephony.redirect(offer.call_sid, url)
    return offer.call_sid


def kept_place_key(dialled_sid: str) -> str:
    """The dialled callback's SID -> the queued call whose place it serves."""
    return key_for("acd:kept_place_call", dialled_sid)


def callback_leg_key(acd_sid: str) -> str:
    """A callback's ACD entry -> the call dialled to the customer for it (the leg to hold)."""
    return key_for("acd:callback_leg", acd_sid)


SCHEDULED_CALLBACK_PREFIX = "CB-"


def scheduled_callback_sid(callback_id: int, attempt: int) -> str:
    """The ACD's name for an attempt of a scheduled callback that reserves an agent first."""
    return f"{SCHEDULED_CALLBACK_PREFIX}{callback_id}-{attempt}"


def scheduled_callback_attempt(acd_sid: str) -> tuple[int, int] | None:
    """(callback id, attempt number) of a scheduled callback's ACD entry; None for other calls."""
    if not acd_sid.startswith(SCHEDULED_CALLBACK_PREFIX):
        return None
    callback_id, _, attempt = acd_sid.removeprefix(SCHEDULED_CALLBACK_PREFIX).partition("-")
    return int(callback_id), int(attempt)


def distributor(connection, config) -> Distributor:
    return Distributor(connection, wrap_up_s=config["WRAP_UP_SECONDS"])
