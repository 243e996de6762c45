"""The Media Streams socket's edges, on a live server: a stream holds no database connection
while it waits, a silent caller times out on their audio clock whether or not marks come
back, and a message that breaks the protocol closes the socket with a policy error."""
from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import websocket
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from calls import CallSession, get_calls
from ivr.media import MAX_MESSAGE_BYTES, POLICY_VIOLATION, StreamCall, stream_token
from tests.conftest import AUTH_TOKEN
from tracking.demo import DEMO_CALLER

STREAMS = 30
SILENT_FRAME = {"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 160).decode()}}


@pytest.fixture
def live(make_app, demo_parcels):
    """The hotline on a real socket, with a small connection pool (2 kept, 4 at most)."""
    app = make_app(DATABASE_POOL_SIZE=2)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def stream_call(app, sid: str, media: bool = True) -> str:
    """A call whose flow runs on a media stream (as the softphone starts one); its token."""
    with app.app_context():
        calls = get_calls()
        calls.start(calls.new_call("hotline", "inbound", {}, sid=sid, caller=DEMO_CALLER, called="4008000000",
                                   media=media))
    return stream_token(AUTH_TOKEN, sid)


def open_stream(base: str) -> websocket.WebSocket:
    url = base.replace("http", "ws") + "/voice/media"
    return websocket.create_connection(url, timeout=30, header=[
        f"X-Twilio-Signature: {RequestValidator(AUTH_TOKEN).compute_signature(url, {})}"])


def hang_up(ws: websocket.WebSocket) -> None:
    raw_socket = ws.sock  # websocket-client forgets it on a server close without closing it
    ws.close()
    if raw_socket is not None:
        raw_socket.close()


def start(ws, sid: str, token: str) -> None:
    ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    ws.send(json.dumps({"event": "start", "streamSid": "MZ" + sid[2:], "start": {
        "callSid": sid, "customParameters": {"token": token}}}))


def until_listening(ws) -> list[str]:
    """Read the hotline's messages until it listens for the caller; the prompts' words."""
    said = []
    while True:
        message = json.loads(ws.recv())
        name = message.get("mark", {}).get("name", "")
        if name.startswith("say:"):
            said.append(name.split(":", 2)[2])
        if name.startswith("listen:"):
            return said


def close_code(ws) -> int:
    """The close code the server sends (reading past anything it said first)."""
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame.data[:2], "big")


def test_open_streams_hold_no_database_connection_while_new_calls_are_answered(live):
    app, base = live
    sockets = []
    try:
        for number in range(STREAMS):
            sid = f"CA{number:032d}"
            ws = open_stream(base)
            start(ws, sid, stream_call(app, sid))
            sockets.append(ws)
        with ThreadPoolExecutor(8) as pool:
            greetings = list(pool.map(until_listening, sockets))
        assert all(said and said[0].startswith("您好，顺达快递客服") for said in greetings)
        # Every stream now waits for its caller: none holds a connection of the (4-connection) pool.
        assert app.extensions["db_engine"].pool.checkedout() == 0
        for number in range(5):
            params = {"CallSid": f"CB{number:032d}", "From": DEMO_CALLER, "To": "4008000000"}
            url = f"{base}/voice/incoming"
            answer = requests.post(url, data=params, timeout=10, headers={
                "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, params)})
            assert answer.status_code == 200 and "查询快件请按1" in answer.text  # the menu, not an apology
        assert requests.get(f"{base}/health", timeout=10).json()["database"]["pool"]["exhausted"] is False
    finally:
        for ws in sockets:
            hang_up(ws)


@pytest.mark.parametrize("message", [
    "not json at all",
    json.dumps(["a", "list"]),
    json.dumps({"event": "start", "start": "not an object"}),
    json.dumps({"event": "start", "start": {"callSid": "CA1", "customParameters": ["token"]}}),
])
def test_a_malformed_opening_closes_the_socket_with_a_policy_error(live, message, caplog):
    app, base = live
    ws = open_stream(base)
    try:
        ws.send(message)
        assert close_code(ws) == POLICY_VIOLATION
    finally:
        hang_up(ws)
    assert "media stream refused" in caplog.text


@pytest.mark.parametrize("message", [
    {"event": "media", "media": {"payload": "%%% not base64 %%%"}},
    {"event": "media", "media": "not an object"},
    {"event": "dtmf", "dtmf": ["1"]},
    {"event": "mark", "mark": 7},
])
def test_a_malformed_message_mid_call_closes_the_socket_with_a_policy_error(live, message, caplog):
    app, base = live
    sid = "CA" + "d" * 32
    ws = open_stream(base)
    try:
        start(ws, sid, stream_call(app, sid))
        until_listening(ws)
        ws.send(json.dumps(message))
        assert close_code(ws) == POLICY_VIOLATION
    finally:
        hang_up(ws)
    assert f"media stream of {sid} closed" in caplog.text
    with app.app_context():
        assert get_calls().load(sid).state  # what the call did so far was kept


def test_a_message_over_16_kib_closes_the_socket_before_it_is_kept(live):
    app, base = live
    sid = "CA" + "e" * 32
    ws = open_stream(base)
    try:
        start(ws, sid, stream_call(app, sid))
        until_listening(ws)
        ws.send(json.dumps({"event": "media", "media": {"payload": "A" * MAX_MESSAGE_BYTES}}))
        assert close_code(ws) == websocket.STATUS_MESSAGE_TOO_BIG
    finally:
        hang_up(ws)


def test_a_keypad_calls_token_opens_no_stream(live):
    app, base = live
    sid = "CA" + "e" * 32
    token = stream_call(app, sid, media=False)  # a call that runs on TwiML webhooks
    ws = open_stream(base)
    try:
        start(ws, sid, token)
        assert close_code(ws) == POLICY_VIOLATION
    finally:
        hang_up(ws)


class ScriptedSocket:
    """The carrier's side of a stream, scripted: what it will send, and what it was sent."""

    def __init__(self, incoming):
        self.incoming, self.sent = list(incoming), []

    def receive(self, timeout=None):
        if timeout == 0:
            return None  # nothing is waiting at once: the script plays as the caller speaks
        return json.dumps(self.incoming.pop(0)) if self.incoming else json.dumps({"event": "stop"})

    def send(self, data):
        self.sent.append(json.loads(data))


class QuietCalls:
    def menu_words(self, language, step):
        return {}


def keypad_stream_call() -> CallSession:
    return CallSession(sid="CA1", caller=DEMO_CALLER, called="4008000000", direction="inbound", flow="hotline",
                       language="zh-CN", started_at="2026-11-24T02:00:00", vars={}, media=True)


def test_keys_during_a_prompt_clear_it():
    socket = ScriptedSocket([{"event": "dtmf", "dtmf": {"digit": "1"}}])
    stream = StreamCall(socket, keypad_stream_call(), "MZ1", QuietCalls(), None, pending_marks={"say:0:prompt"})
    event = stream.listen({"step": "main_menu", "num_digits": 1, "timeout": 5})
    assert event == {"type": "digits", "value": "1"}
    assert {"event": "clear", "streamSid": "MZ1"} in socket.sent


def test_silence_times_out_on_the_audio_clock():
    socket = ScriptedSocket([SILENT_FRAME] * 300)
    stream = StreamCall(socket, keypad_stream_call(), "MZ1", QuietCalls(), None)
    assert stream.listen({"step": "main_menu", "num_digits": 1, "timeout": 5}) == {"type": "timeout"}
    assert len(socket.incoming) == 50  # 250 frames = 5 s of audio were heard before the timeout


def test_silence_times_out_on_the_audio_clock_when_marks_never_come_back():
    call = keypad_stream_call()
    socket = ScriptedSocket([SILENT_FRAME] * 400)
    # A 2-second prompt was sent; this carrier never returns its mark.
    stream = StreamCall(socket, call, "MZ1", QuietCalls(), None, pending_marks={"say:0:prompt"}, playing_ms=2000)
    assert stream.listen({"step": "main_menu", "num_digits": 1, "timeout": 5}) == {"type": "timeout"}
    assert len(socket.incoming) == 400 - 350  # 2 s of prompt, then 5 s of silence, on the caller's clock
