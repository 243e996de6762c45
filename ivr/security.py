"""Webhook authentication: every carrier request carries a valid X-Twilio-Signature."""
from __future__ import annotations

import functools
import logging

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)


def public_url() -> str:
    """The URL the carrier signed: PUBLIC_BASE_URL when set (behind TLS proxies), else the request's."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if not base:
        return request.url
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def twilio_signature_required(view):
    @functools.wraps(view)
    def checked(*args, **kwargs):
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
        if not signature or not validator.validate(public_url(), request.form, signature):
            log.warning("refused %s: %s signature", request.path, "bad" if signature else "missing")
            abort(403)
        return view(*args, **kwargs)

    return checked
