"""The local audio bridge (console.phone): a softphone caller connected to an agent and the agent's
console exchange 8 kHz mu-law frames through Redis, both ways, byte for byte."""
from __future__ import annotations

import base64
import json
import os
import threading
import time

import pytest
import requests
import websocket
from werkzeug.serving import make_server

from callqueue.acd import AgentState, skill
from calls import get_calls
from tests.test_console_security import PASSWORD, add_staff
from tests.test_media_stream import hang_up

DEADLINE_S = 10


@pytest.fixture
def live(make_app):
    app = make_app()
    add_staff(app, "wang", "zhao", "li")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def signed_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    assert session.post(f"{base}/console/api/login", json={"username": username, "password": PASSWORD}).ok
    return session


def open_socket(base: str, path: str, session: requests.Session) -> websocket.WebSocket:
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return websocket.create_connection(base.replace("http", "ws") + path, timeout=DEADLINE_S, cookie=cookie,
                                       origin=base)


def connected_to_wang(app, base: str, caller: requests.Session) -> str:
    """zhao calls from the softphone; the ACD connects the call to wang."""
    call_sid = caller.post(f"{base}/softphone/calls", json={}).json()["call_sid"]
    with app.app_context():
        acd, now = get_calls().acd(), app.config["CLOCK"]().timestamp()
        acd.set_state("wang", AgentState.AVAILABLE, now)
        acd.enqueue(call_sid, skill("zh-CN", "damaged"), now)
        acd.accept("wang", call_sid, now)
    return call_sid


def frame() -> str:
    return json.dumps({"event": "media", "media": {"payload": base64.b64encode(os.urandom(160)).decode()}})


def crosses(sender: websocket.WebSocket, receiver: websocket.WebSocket) -> tuple[bytes, bytes]:
    """Send frames (audio is continuous) until one arrives; what was sent and what came."""
    sent, deadline = {}, time.monotonic() + DEADLINE_S
    receiver.settimeout(0.05)
    while time.monotonic() < deadline:
        message = frame()
        payload = json.loads(message)["media"]["payload"]
        sent[payload] = base64.b64decode(payload)
        sender.send(message)
        try:
            arrived = json.loads(receiver.recv())
        except websocket.WebSocketTimeoutException:
            continue
        assert arrived["event"] == "media"
        return sent.get(arrived["media"]["payload"], b"not sent"), base64.b64decode(arrived["media"]["payload"])
    raise AssertionError("no frame crossed the bridge")


def test_frames_cross_the_bridge_both_ways_and_a_hang_up_ends_the_other_side(live):
    app, base = live
    caller, agent = signed_in(base, "zhao"), signed_in(base, "wang")
    call_sid = connected_to_wang(app, base, caller)
    caller_socket = open_socket(base, f"/softphone/calls/{call_sid}/bridge", caller)
    agent_socket = open_socket(base, f"/console/phone/{call_sid}", agent)

    sent, arrived = crosses(caller_socket, agent_socket)
    assert arrived == sent and len(arrived) == 160
    sent, arrived = crosses(agent_socket, caller_socket)
    assert arrived == sent and len(arrived) == 160

    agent_socket.send(json.dumps({"event": "stop"}))
    caller_socket.settimeout(DEADLINE_S)
    caller_raw_socket = caller_socket.sock  # websocket-client forgets it on a server close
    while message := caller_socket.recv():  # frames still in flight may come first; then the close
        assert json.loads(message)["event"] == "media"
    assert not caller_socket.connected
    caller_raw_socket.close()
    hang_up(agent_socket)


def test_only_the_connected_agent_and_the_caller_may_open_the_bridge(live):
    app, base = live
    caller = signed_in(base, "zhao")
    call_sid = connected_to_wang(app, base, caller)
    other = signed_in(base, "li")
    for path in (f"/console/phone/{call_sid}", f"/softphone/calls/{call_sid}/bridge"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            open_socket(base, path, other)
        assert refused.value.status_code == 404
        with pytest.raises(websocket.WebSocketBadStatusException) as signed_out:
            websocket.create_connection(base.replace("http", "ws") + path, timeout=DEADLINE_S, origin=base)
        assert signed_out.value.status_code == 401
