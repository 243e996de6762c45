"""The carrier simulator keeps Twilio's time and always hangs up: pauses and hold music take
their length (on the test clock, which the hotline reads too), a long hold never trips the
request limit, and every ending reaches the hotline as a status callback."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlparse

import numpy as np
import pytest

from ivr.simulator import (
    MAX_REQUESTS_WITHOUT_PROGRESS,
    SimulatedCall,
    answer_outbound,
    default_base_url,
    local_token,
    main,
)
from tests.conftest import AUTH_TOKEN, client_transport
from tracking.demo import DEMO_CALLER

REDIRECT_POLL = "/voice/simulator/redirect"


class Line:
    """The carrier's line to the hotline: records every request (path, params) and hands it to
    `answer`; `fail(path, params)` may instead raise (Ctrl-C) or return a response."""

    def __init__(self, answer, fail=None):
        self.answer, self.fail, self.requests = answer, fail, []

    def __call__(self, url: str, params: dict, headers: dict) -> tuple[int, str]:
        path = urlparse(url).path
        self.requests.append((path, params))
        failed = self.fail(path, params) if self.fail else None
        return failed or self.answer(url, params, headers)

    def paths(self, *, polls: bool = False) -> list[str]:
        return [path for path, _ in self.requests if polls or path != REDIRECT_POLL]

    def count(self, path: str) -> int:
        return self.paths(polls=True).count(path)


def twiml(documents: dict):
    """A hotline that answers each path with fixed TwiML (and anything else with 204)."""
    def answer(url, params, headers):
        body = documents.get(urlparse(url).path)
        return (200, f"<Response>{body}</Response>") if body is not None else (204, "")

    return answer


def queued_caller(app, clock, line_fail=None, hold_s=0.0, keys=("0",)):
    """A caller asking for an agent (0) with nobody to answer; returns (call, line) unrun."""
    line = Line(client_transport(app.test_client()), line_fail)
    call = SimulatedCall("http://localhost", AUTH_TOKEN, DEMO_CALLER, transport=line, hold_s=hold_s,
                         **clock.simulated_time())
    return call, line, list(keys)


def ends_with_hangup(line: Line, *, queued: bool) -> None:
    """The caller's hang-up as Twilio sends it: the Enqueue action (when queued), then the status."""
    (*_, (exit_path, exit_params), (status_path, status_params)) = line.requests
    assert (status_path, status_params["CallStatus"]) == ("/voice/status", "completed")
    if queued:
        assert (exit_path, exit_params["QueueResult"]) == ("/voice/queue-exit", "hangup")
    assert line.count("/voice/status") == 1


def test_a_pause_takes_its_length_on_the_clock(clock):
    line = Line(twiml({"/voice/incoming": '<Say>请稍候</Say><Pause length="7"/><Pause/><Say>再见</Say><Hangup/>'}))
    start = clock()
    call = SimulatedCall("http://localhost", AUTH_TOKEN, DEMO_CALLER, transport=line, **clock.simulated_time()).run([])
    assert clock() - start == timedelta(seconds=8)  # 7 s, and Twilio's default of 1 s
    assert (call.ended_by, call.turns) == ("hangup", [{"heard": "请稍候 再见", "pressed": None}])
    assert line.paths() == ["/voice/incoming", "/voice/status"]


def test_a_long_hold_hangs_up_on_time_with_no_request_limit(make_app, demo_parcels, clock):
    app = make_app(QUEUE_ANNOUNCE_SECONDS=1)  # wait music of one second: a waitUrl fetch a second
    hold_s = MAX_REQUESTS_WITHOUT_PROGRESS + 10
    call, line, keys = queued_caller(app, clock, hold_s=hold_s)
    start = clock()
    call.run(keys)
    assert (call.ended_by, call.error, call.queue) == ("caller", "", "agents")
    assert clock() - start == timedelta(seconds=hold_s)
    assert line.count("/voice/queue-wait") > MAX_REQUESTS_WITHOUT_PROGRESS
    ends_with_hangup(line, queued=True)
    assert line.requests[-2][1]["QueueTime"] == str(hold_s)
    with app.app_context():
        from callqueue.routing import distributor
        from redis_conn import get_redis

        assert distributor(get_redis(), app.config).call(call.sid)["status"] == "abandoned"


def test_the_status_is_sent_when_the_inputs_run_out(app, demo_parcels, clock):
    call, line, keys = queued_caller(app, clock, keys=("1",))  # track a parcel, then say nothing more
    call.run(keys)
    assert call.ended_by == "caller" and call.queue is None
    assert line.paths()[-2:] == ["/voice/step", "/voice/status"]
    ends_with_hangup(line, queued=False)


def test_an_error_in_the_queue_still_hangs_up(app, demo_parcels, clock):
    def second_wait_fails(path, params):
        if path == "/voice/queue-wait" and params["QueueTime"] != "0":
            return 500, "boom"
        return None

    call, line, keys = queued_caller(app, clock, second_wait_fails, hold_s=300)
    call.run(keys)
    assert call.ended_by == "error" and "HTTP 500 from /voice/queue-wait" in call.error
    ends_with_hangup(line, queued=True)


def test_ctrl_c_in_the_ivr_sends_the_status(app, demo_parcels, clock):
    def interrupt_at_the_second_step(path, params):
        if path == "/voice/step" and params.get("Digits") == "1234567890123":
            raise KeyboardInterrupt

    call, line, _ = queued_caller(app, clock, interrupt_at_the_second_step)
    with pytest.raises(KeyboardInterrupt):
        call.run(["1", "1234567890123#", "1"])
    assert call.ended_by == "caller"
    assert line.paths()[-2:] == ["/voice/step", "/voice/status"]
    ends_with_hangup(line, queued=False)


def test_ctrl_c_on_hold_leaves_the_queue_sends_the_status_and_exits_130(app, demo_parcels, clock, capsys):
    start = clock()

    def interrupt_after_a_minute(path, params):
        if path == "/voice/queue-wait" and clock() - start >= timedelta(minutes=1):
            raise KeyboardInterrupt

    line = Line(client_transport(app.test_client()), interrupt_after_a_minute)
    code = main(["call", "--base-url", "http://localhost", "--auth-token", AUTH_TOKEN, "--from", DEMO_CALLER,
                 "--dtmf", "0", "--hold", "600", "--json"], transport=line, **clock.simulated_time())
    assert code == 130
    printed = json.loads(capsys.readouterr().out)
    assert printed["ended_by"] == "caller" and printed["queue"] == "agents"
    ends_with_hangup(line, queued=True)
    with app.app_context():
        from callqueue.routing import distributor
        from redis_conn import get_redis

        assert distributor(get_redis(), app.config).call(printed["call_sid"])["status"] == "abandoned"


def test_a_flow_that_loops_without_time_passing_is_an_error(clock):
    line = Line(twiml({"/voice/incoming": "<Redirect>/voice/loop</Redirect>",
                       "/voice/loop": "<Say>again</Say><Redirect>/voice/loop</Redirect>"}))
    call = SimulatedCall("http://localhost", AUTH_TOKEN, DEMO_CALLER, transport=line, **clock.simulated_time()).run([])
    assert call.ended_by == "error" and "the flow does not end" in call.error
    assert line.count("/voice/loop") == MAX_REQUESTS_WITHOUT_PROGRESS - 1
    ends_with_hangup(line, queued=False)


def test_answer_waits_its_full_wait_for_an_outbound_call(app, clock):
    line = Line(client_transport(app.test_client()))
    start = clock()
    assert answer_outbound("http://localhost", AUTH_TOKEN, "human", [], wait_s=40, transport=line,
                           **clock.simulated_time()) is None
    assert clock() - start == timedelta(seconds=40)
    assert line.count("/voice/simulator/outbound") > MAX_REQUESTS_WITHOUT_PROGRESS  # polling is never limited


def test_the_answer_command_waits_its_full_wait(app, clock, capsys):
    start = clock()
    code = main(["answer", "--base-url", "http://localhost", "--auth-token", AUTH_TOKEN, "--wait", "40"],
                transport=client_transport(app.test_client()), **clock.simulated_time())
    assert code == 1 and json.loads(capsys.readouterr().out) == {"error": "no outbound call came"}
    assert clock() - start == timedelta(seconds=40)


def test_the_last_voiced_frame_is_found_behind_trailing_silence():
    from ivr.simulator import SILENT_FRAME, last_voiced
    from speech.audio import frames, mulaw_encode

    tone = mulaw_encode((8000 * np.sin(np.arange(800) / 3)).astype(np.int16))  # 100 ms of voice
    assert last_voiced([SILENT_FRAME] * 3 + frames(tone) + [SILENT_FRAME] * 10) == 3 + 5
    assert last_voiced([SILENT_FRAME] * 4) == 0


def test_the_token_comes_from_the_instance_the_hotline_uses(tmp_path, monkeypatch):
    """No --auth-token: the simulator signs as the hotline does, from HOTLINE_INSTANCE's folder
    (its settings.env first, else the local carrier token the app made there)."""
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path))
    (tmp_path / "carrier_token").write_text("made-by-the-app\n")
    assert local_token(None) == "made-by-the-app"
    (tmp_path / "settings.env").write_text("TWILIO_AUTH_TOKEN=from-settings\n")
    assert local_token(None) == "from-settings"
    other = tmp_path / "other"
    other.mkdir()
    (other / "carrier_token").write_text("other-hotline")
    assert local_token(str(other)) == "other-hotline"  # --instance names another hotline's folder


def test_a_missing_token_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path))
    with pytest.raises(SystemExit, match=f"run the app once to create {tmp_path}/carrier_token"):
        local_token(None)


def test_a_wrong_token_is_named_as_the_cause(app, clock, capsys):
    code = main(["call", "--base-url", "http://localhost", "--auth-token", "not-the-hotlines", "--from", DEMO_CALLER,
                 "--dtmf", "9"], transport=client_transport(app.test_client()), **clock.simulated_time())
    assert code == 1
    assert "the hotline refused the signature (HTTP 403" in capsys.readouterr().out


def test_the_default_hotline_is_the_port_the_server_listens_on(tmp_path, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path))
    assert default_base_url() == "http://127.0.0.1:5000"
    (tmp_path / "settings.env").write_text("PORT=5077\n")
    assert default_base_url() == "http://127.0.0.1:5077"
    other = tmp_path / "other"
    other.mkdir()
    (other / "settings.env").write_text("PORT=5088\n")
    assert default_base_url(str(other)) == "http://127.0.0.1:5088"  # --instance names another hotline's folder
    monkeypatch.setenv("PORT", "6000")
    assert default_base_url() == "http://127.0.0.1:6000"


def dropping_stream_server():
    """A media-stream endpoint that, once the carrier has spoken, sends a close frame and drops
    the connection at once (a reset), so the carrier's reply to the close meets a dead socket."""
    import base64
    import hashlib
    import socket
    import struct
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(4096)
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        connection.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        connection.recv(4096)  # the carrier's `connected`
        connection.sendall(b"\x88\x02" + struct.pack("!H", 1000))
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"ws://127.0.0.1:{listener.getsockname()[1]}/voice/media"


def test_a_stream_the_server_drops_goes_on_with_the_connect_action(clock):
    url = dropping_stream_server()
    line = Line(twiml({
        "/voice/incoming": f'<Connect action="/voice/stream-ended"><Stream url="{url}"/></Connect>',
        "/voice/stream-ended": "<Say>再见</Say><Hangup/>",
    }))
    call = SimulatedCall("http://localhost", AUTH_TOKEN, DEMO_CALLER, transport=line, **clock.simulated_time())
    call.run([])
    assert line.paths() == ["/voice/incoming", "/voice/stream-ended", "/voice/status"]
    assert call.ended_by == "hangup"
