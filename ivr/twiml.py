"""Engine actions -> TwiML, built with twilio's VoiceResponse objects (never strings)."""
from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from flows.prompts import PromptCatalogue


def render(actions: list[dict], catalogue: PromptCatalogue, urls: dict[str, str],
           response: VoiceResponse | None = None) -> VoiceResponse:
    """urls: 'step' (where keys and silence go), 'queue_wait' and 'queue_exit'; the verbs go after
    those of `response`, if given."""
    response = response if response is not None else VoiceResponse()
    language = catalogue.language
    for action in actions:
        kind = action["type"]
        if kind == "play":
            response.say(_words(catalogue, action), language=language)
        elif kind == "gather":
            gather = response.gather(
                input="dtmf", action=urls["step"], method="POST", timeout=action["timeout"],
                **({"num_digits": 1} if action.get("num_digits") == 1
                   else {"finish_on_key": action["finish_on_key"]}),
            )
            gather.say(_words(catalogue, action["prompt"]), language=language)
            # Twilio falls through to the next verb when the caller keys nothing.
            response.redirect(urls["step"] + "?event=timeout", method="POST")
        elif kind == "record":
            response.say(_words(catalogue, action["prompt"]), language=language)
            response.record(action=urls["step"] + "?event=recording", method="POST", max_length=action["max_seconds"],
                            timeout=action["silence_seconds"], finish_on_key="#", play_beep=True)
            # Twilio skips the action and goes on to the next verb when nothing was recorded.
            response.redirect(urls["step"] + "?event=timeout", method="POST")
        elif kind == "transfer":
            response.enqueue(action["queue"], wait_url=urls["queue_wait"], wait_url_method="POST",
                             action=urls["queue_exit"], method="POST")
        elif kind == "hangup":
            response.hangup()
        else:
            raise ValueError(f"no TwiML for action {kind!r}")
    return response


def _words(catalogue: PromptCatalogue, play: dict) -> str:
    return catalogue.render(play["prompt"], play["vars"])


def spoken(catalogue: PromptCatalogue, key: str, variables: dict | None = None) -> VoiceResponse:
    """A one-off response: say a prompt and hang up."""
    response = VoiceResponse()
    response.say(catalogue.render(key, variables or {}), language=catalogue.language)
    response.hangup()
    return response
