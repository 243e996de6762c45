"""Webhook authentication and hygiene: every carrier request is small, carries a valid
X-Twilio-Signature over the URL exactly as the carrier requested it, and a retry of one
request (same I-Twilio-Idempotency-Token) is answered as the first one was, never applied twice."""
from __future__ import annotations

import functools
import json
import logging
import time

import redis
from flask import Response, abort, current_app, make_response, request
from twilio.request_validator import RequestValidator
from werkzeug.urls import iri_to_uri

from keys import key_for
from redis_conn import get_redis

log = logging.getLogger(__name__)

# Twilio's webhook forms are a few hundred bytes; a body this large is refused before it is read.
WEBHOOK_MAX_BYTES = 64 * 1024
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
TOKEN_MAX_CHARS = 200
# Twilio retries a request within seconds of the first (its connection overrides allow a
# few tries in 15 s): answers are kept long past that; a claim outlives the slowest step.
ANSWER_TTL_S = 600
CLAIM_TTL_S = 30
FIRST_ANSWER_WAIT_S = 5.0
_PENDING = b"pending"


def public_url() -> str:
    """The URL the carrier signed, percent-encoded as sent (a path or query with 王 or a space
    is signed encoded): the raw request URI on PUBLIC_BASE_URL when set (behind TLS proxies),
    else on the request's own scheme and host (ProxyFix applies to those)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw:  # a server that keeps no raw URI: the decoded URL encoded again
        raw = iri_to_uri(request.url)[len(request.host_url) - 1:]
    base = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
    return base.rstrip("/") + raw


def twilio_signature_required(view):
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if (request.content_length or 0) > WEBHOOK_MAX_BYTES:
            log.warning("refused %s: a %d-byte body", request.path, request.content_length)
            abort(413)
        if request.content_length is None:
            # A chunked body: Werkzeug reads it only up to this limit; one that reaches it was cut.
            request.max_content_length = WEBHOOK_MAX_BYTES
            if len(request.get_data(cache=True)) >= WEBHOOK_MAX_BYTES:
                log.warning("refused %s: a chunked body of %d bytes or more", request.path, WEBHOOK_MAX_BYTES)
                abort(413)
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
        if not signature or not validator.validate(public_url(), request.form, signature):
            log.warning("refused %s: %s signature", request.path, "bad" if signature else "missing")
            abort(403)
        token = request.headers.get(IDEMPOTENCY_HEADER, "")
        if not token:
            return view(*args, **kwargs)
        if len(token) > TOKEN_MAX_CHARS:
            abort(400, description=f"{IDEMPOTENCY_HEADER} is longer than {TOKEN_MAX_CHARS} characters")
        return _answer_once(token, lambda: view(*args, **kwargs))

    return checked


def _answer_once(token: str, answer) -> Response:
    """The first request with this token runs; a retry gets the first one's stored answer
    (waiting a little for it if the first is still running). Without Redis, each runs."""
    key = key_for("webhook-answer", token)
    try:
        connection = get_redis()
        if not connection.set(key, _PENDING, nx=True, ex=CLAIM_TTL_S):
            return _stored_answer(connection, key)
    except redis.RedisError:
        log.warning("webhook %s answered without its retry guard: Redis is unreachable", request.path)
        return answer()
    try:
        response = make_response(answer())
    except BaseException:
        _forget(connection, key)  # nothing was applied for sure: a retry may try again
        raise
    if response.status_code >= 500:
        _forget(connection, key)
        return response
    stored = {"status": response.status_code, "mimetype": response.mimetype, "body": response.get_data(as_text=True)}
    try:
        connection.set(key, json.dumps(stored), ex=ANSWER_TTL_S)
    except redis.RedisError:
        log.warning("webhook %s: its answer could not be kept for retries", request.path)
    return response


def _stored_answer(connection, key: str) -> Response:
    deadline = time.monotonic() + FIRST_ANSWER_WAIT_S
    while (stored := connection.get(key)) == _PENDING and time.monotonic() < deadline:
        time.sleep(0.05)
    if stored in (None, _PENDING):
        # The first is still running (or died): the carrier may retry again, or use its fallback URL.
        log.warning("retry of %s while its first request is unanswered", request.path)
        return Response("the first request with this idempotency token is still being answered", status=503,
                        headers={"Retry-After": "1"}, mimetype="text/plain")
    log.info("retry of %s answered as the first time", request.path)
    answer = json.loads(stored)
    return Response(answer["body"], status=answer["status"], mimetype=answer["mimetype"])


def _forget(connection, key: str) -> None:
    try:
        connection.delete(key)
    except redis.RedisError:
        pass  # the claim expires by itself in CLAIM_TTL_S
