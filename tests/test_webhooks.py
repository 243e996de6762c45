"""Webhook edge: signatures, bad parameters, golden TwiML, status callbacks."""
from __future__ import annotations

import io

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder, run_wsgi_app

from calls import get_calls
from ivr.security import IDEMPOTENCY_HEADER, WEBHOOK_MAX_BYTES
from tests.conftest import AUTH_TOKEN

INCOMING = {"CallSid": "CA" + "1" * 32, "From": "13800138000", "To": "4008000000", "CallStatus": "ringing"}


def signed_post(client, path, params, token=AUTH_TOKEN, url=None, retry_of=None):
    """A carrier webhook; `retry_of` gives it that I-Twilio-Idempotency-Token, as a retry has."""
    signature = RequestValidator(token).compute_signature(url or f"http://localhost{path}", params)
    headers = {"X-Twilio-Signature": signature, **({IDEMPOTENCY_HEADER: retry_of} if retry_of else {})}
    return client.post(path, data=params, headers=headers)


def test_known_answer_signature():
    # twilio-python's own known answer: token 12345, this URL and these parameters.
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert RequestValidator("12345").compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_valid_signature_answers_with_greeting(client, demo_parcels):
    response = signed_post(client, "/voice/incoming", INCOMING)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    assert body == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Say language="zh-CN">您好，顺达快递客服，请问有什么可以帮您？</Say>'
        '<Gather action="/voice/step" input="dtmf" method="POST" numDigits="1" timeout="6">'
        '<Say language="zh-CN">查询快件请按1，投诉请按2，预约回电请按3，更多服务请按4，人工服务请按0，重听请按星号键。</Say>'
        '</Gather><Redirect method="POST">/voice/step?event=timeout</Redirect></Response>'
    )


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "forged="}])
def test_missing_or_forged_signature_is_refused(client, headers):
    response = client.post("/voice/incoming", data=INCOMING, headers=headers)
    assert response.status_code == 403


def test_signature_with_another_token_is_refused(client):
    assert signed_post(client, "/voice/incoming", INCOMING, token="not-our-token").status_code == 403


def test_tampered_parameters_are_refused(client):
    signature = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost/voice/incoming", INCOMING)
    tampered = {**INCOMING, "From": "13900000000"}
    response = client.post("/voice/incoming", data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_public_base_url_is_what_gets_validated(make_app):
    app = make_app(PUBLIC_BASE_URL="https://hotline.example.com")
    client = app.test_client()
    public = "https://hotline.example.com/voice/incoming"
    assert signed_post(client, "/voice/incoming", INCOMING, url=public).status_code == 200
    assert signed_post(client, "/voice/incoming", INCOMING).status_code == 403
    # Twilio may sign with the default port spelled out; both forms are accepted.
    with_port = "https://hotline.example.com:443/voice/incoming"
    assert signed_post(client, "/voice/incoming", INCOMING, url=with_port).status_code == 200


def test_missing_call_sid_is_a_400(client):
    response = signed_post(client, "/voice/incoming", {"From": "13800138000"})
    assert response.status_code == 400
    assert b"CallSid" in response.data


@pytest.mark.parametrize("digits", ["", "abc", "99999999999999999999999", "1\x00", "<Say>x</Say>"])
def test_garbage_digits_get_valid_twiml(client, demo_parcels, digits):
    signed_post(client, "/voice/incoming", INCOMING)
    response = signed_post(client, "/voice/step", {"CallSid": INCOMING["CallSid"], "Digits": digits})
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')


def test_step_for_an_unknown_call_speaks_and_hangs_up(client):
    response = signed_post(client, "/voice/step", {"CallSid": "CA" + "9" * 32, "Digits": "1"})
    assert response.status_code == 200
    assert "通话已超时" in response.get_data(as_text=True)
    assert "<Hangup />" in response.get_data(as_text=True)


def test_status_needs_its_parameters_and_is_idempotent(client, demo_parcels):
    assert signed_post(client, "/voice/status", {"CallSid": INCOMING["CallSid"]}).status_code == 400
    signed_post(client, "/voice/incoming", INCOMING)
    done = {"CallSid": INCOMING["CallSid"], "CallStatus": "completed"}
    assert signed_post(client, "/voice/status", done).status_code == 204
    assert signed_post(client, "/voice/status", done).status_code == 204


def test_database_failure_mid_call_is_spoken_not_a_500(client, demo_parcels, app):
    signed_post(client, "/voice/incoming", INCOMING)
    signed_post(client, "/voice/step", {"CallSid": INCOMING["CallSid"], "Digits": "1"})
    app.extensions["db_engine"].dispose()
    from sqlalchemy import text

    with app.app_context():
        from database import new_session

        session = new_session()
        session.execute(text("DROP TABLE scan_events"))
        session.execute(text("DROP TABLE parcels"))
        session.commit()
        session.close()
    response = signed_post(client, "/voice/step", {"CallSid": INCOMING["CallSid"], "Digits": "1234567890123"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "系统暂时出现问题" in body and "<Enqueue" in body
    with app.app_context():
        from calls import get_calls

        assert get_calls().acd().call(INCOMING["CallSid"])["status"] == "waiting"  # an agent will be offered it


def test_redis_down_is_spoken_not_a_500(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = signed_post(app.test_client(), "/voice/incoming", INCOMING)
    assert response.status_code == 200
    assert "系统暂时出现问题" in response.get_data(as_text=True)


def test_get_is_not_allowed(client):
    assert client.get("/voice/incoming").status_code == 405


def test_a_media_stream_ending_after_the_status_callback_completes_the_record(client, demo_parcels, app):
    """Twilio sends the hang-up's status callback and the stream's `stop` in no fixed order."""
    from dataclasses import replace

    from calls import get_calls
    from calls.records import CallRecord, save_record, save_stream_end
    from clock import utcnow
    from database import new_session

    sid = "CA" + "5" * 32
    signed_post(client, "/voice/incoming", {"CallSid": sid, "From": "13800138000"})
    with app.app_context():
        calls = get_calls()
        stream_snapshot = calls.load(sid)
    stream_snapshot.events.append({"type": "speech", "value": "1"})
    stream_snapshot.transcript.append({"said": "네"})
    signed_post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed"})   # the status first
    with app.app_context():
        assert calls.store.change(sid, lambda call: None, 0) is None  # the ended call is not brought back to life
        assert calls.load(sid) is None
        session = new_session()
        save_stream_end(session, stream_snapshot, utcnow().replace(tzinfo=None))
        older = replace(stream_snapshot, events=stream_snapshot.events[:-1], transcript=[])
        record = save_record(session, older, utcnow().replace(tzinfo=None), "completed")  # a stale repeat
        record = session.get(CallRecord, record.id)
        assert {"said": "네"} in record.transcript and record.carrier_status == "completed"
        session.close()


class UnreadableBody(io.RawIOBase):
    """A 200 MB request body that fails the test if the server reads any of it."""
    size = 200 * 1024 * 1024
    position = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = self.size + offset if whence == io.SEEK_END else offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        raise AssertionError("the body of an oversized request was read")


def test_a_body_over_64_kib_is_refused_before_it_is_read_or_its_signature_checked(client):
    response = client.post("/voice/incoming", input_stream=UnreadableBody(),
                           content_type="application/x-www-form-urlencoded",
                           headers={"X-Twilio-Signature": "anything="})
    assert response.status_code == 413


def test_a_chunked_body_is_cut_off_at_64_kib(app):
    body = b"CallSid=CA1&From=" + b"1" * (WEBHOOK_MAX_BYTES + 1)
    environ = EnvironBuilder("/voice/incoming", method="POST", input_stream=io.BytesIO(body),
                             content_type="application/x-www-form-urlencoded",
                             headers={"X-Twilio-Signature": "anything=", "Transfer-Encoding": "chunked"}).get_environ()
    del environ["CONTENT_LENGTH"]  # as gunicorn hands on a chunked body: its end marked instead
    environ["wsgi.input_terminated"] = True
    _, status, _ = run_wsgi_app(app, environ)  # the test client would rebuild the environ
    assert status.startswith("413")


def test_a_retried_webhook_is_answered_as_the_first_and_applied_once(app, client, demo_parcels):
    def press_1(sid, tokens):
        """A caller at the menu whose press of 1 reaches the hotline once per token: retries
        of one request share a token, new requests do not. The answers and what the call kept."""
        signed_post(client, "/voice/incoming", {**INCOMING, "CallSid": sid})
        answers = [signed_post(client, "/voice/step", {"CallSid": sid, "Digits": "1"}, retry_of=token).data
                   for token in tokens]
        with app.app_context():
            return answers, get_calls().load(sid).events

    once, once_kept = press_1("CA" + "a" * 32, ["token-a"])
    retried, retried_kept = press_1("CA" + "b" * 32, ["token-b", "token-b", "token-b"])
    _, twice_kept = press_1("CA" + "c" * 32, ["token-c", "token-d"])
    assert retried == once * 3
    assert retried_kept == once_kept
    assert len(twice_kept) > len(once_kept)  # two requests are two presses: the comparison can fail


def test_an_overlong_idempotency_token_is_a_400(client):
    response = signed_post(client, "/voice/incoming", INCOMING, retry_of="x" * 201)
    assert response.status_code == 400


def test_a_url_with_chinese_and_spaces_validates_as_the_carrier_signed_it(client):
    # The carrier requests and signs the URL percent-encoded; Flask routes on it decoded.
    path = "/voice/connect/%E7%8E%8B%20%E5%B0%8F%E6%98%8E?note=a%20b"
    params = {"CallSid": "CA" + "f" * 32}
    assert signed_post(client, path, params).status_code != 403
    decoded = "http://localhost/voice/connect/王 小明?note=a b"
    assert signed_post(client, path, params, url=decoded).status_code == 403


@pytest.mark.parametrize("query", ["tries=abc", "tries=", "tries=-7", "tries=99999999999999999999"])
def test_a_bad_query_parameter_still_gets_twiml(client, query):
    response = signed_post(client, f"/voice/rejoin?{query}", {"CallSid": INCOMING["CallSid"], "From": "13800138000"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
