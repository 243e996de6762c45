"""The agent's browser phone (console.phone): with Twilio, an access token for the Voice JS SDK;
without, the local audio bridge, where a softphone caller connected to an agent and the agent's
console exchange 8 kHz mu-law frames through Redis, both ways, byte for byte."""
from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import threading
import time
from pathlib import Path

import jwt
import numpy as np
import pytest
import requests
import websocket
from playwright.sync_api import expect
from werkzeug.serving import make_server

from callqueue.acd import AgentState, skill
from calls import get_calls
from console.phone import UNHOLD
from speech.audio import write_wav
from tests.conftest import AUTH_TOKEN
from tests.test_console_browser import CHROMIUM, launch, log_in, screenshots
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
    """Send frames (audio is continuous) until one arrives; what was sent and what came. (A
    caller's page is also told when an agent comes on the line: `unhold`.)"""
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
        if arrived == UNHOLD:
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
        assert json.loads(message)["event"] in ("media", UNHOLD["event"])
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


def tone_frame(frequency: float = 440.0) -> str:
    """20 ms of a loud tone, as a Media Streams `media` message."""
    from speech.audio import mulaw_encode

    samples = (8000 * np.sin(2 * np.pi * frequency * np.arange(160) / 8000)).astype(np.int16)
    return json.dumps({"event": "media", "media": {"payload": base64.b64encode(mulaw_encode(samples)).decode()}})


SILENT_FRAME = json.dumps({"event": "media", "media": {"payload": base64.b64encode(b"\xff" * 160).decode()}})


def listener_hears(listener: websocket.WebSocket, speaking: websocket.WebSocket, silent: websocket.WebSocket) -> float:
    """One side sends a tone and the other silence (audio is continuous) until a mixed frame with
    the tone's energy reaches the listener; that frame's RMS."""
    from speech.audio import mulaw_decode

    listener.settimeout(0.05)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        speaking.send(tone_frame())
        silent.send(SILENT_FRAME)
        try:
            arrived = json.loads(listener.recv())
        except websocket.WebSocketTimeoutException:
            continue
        samples = mulaw_decode(base64.b64decode(arrived["media"]["payload"])).astype(np.float64)
        if (rms := float(np.sqrt(np.mean(samples ** 2)))) > 1000:
            return rms
    raise AssertionError("the listener heard nothing")


def test_a_supervisor_listens_in_on_both_sides_and_nobody_else_may(live):
    app, base = live
    add_staff(app, "boss")
    caller, agent, boss = signed_in(base, "zhao"), signed_in(base, "wang"), signed_in(base, "boss")
    call_sid = connected_to_wang(app, base, caller)
    caller_socket = open_socket(base, f"/softphone/calls/{call_sid}/bridge", caller)
    agent_socket = open_socket(base, f"/console/phone/{call_sid}", agent)
    for who, path, status in [(agent, f"/console/monitor/{call_sid}", 403),       # the call's own agent
                              (boss, "/console/monitor/CA" + "0" * 32, 404)]:      # no such call
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            open_socket(base, path, who)
        assert refused.value.status_code == status
    listener = open_socket(base, f"/console/monitor/{call_sid}", boss)
    assert listener_hears(listener, caller_socket, agent_socket) > 4000   # the caller's voice
    assert listener_hears(listener, agent_socket, caller_socket) > 4000   # the agent's
    # 耳语: what the supervisor says reaches the agent (the caller silent), never the caller.
    assert listener_hears(agent_socket, listener, caller_socket) > 4000
    listener.send(json.dumps({"event": "media", "media": {"payload": "not base64!"}}))  # dropped, not a crash
    whisper = tone_frame(1000.0)
    caller_socket.settimeout(0.2)
    for _ in range(20):
        listener.send(whisper)
        agent_socket.send(SILENT_FRAME)
        with contextlib.suppress(websocket.WebSocketTimeoutException):
            arrived = json.loads(caller_socket.recv())
            assert arrived == UNHOLD or arrived["media"]["payload"] != json.loads(whisper)["media"]["payload"]
    hang_up(caller_socket)
    listener.settimeout(DEADLINE_S)
    raw = listener.sock  # websocket-client forgets it on a server close
    while listener.recv():  # frames still in flight may come first; then the call's end closes it
        pass
    assert not listener.connected
    raw.close()
    hang_up(agent_socket)


TWILIO_PHONE = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_API_KEY": "SK" + "2" * 32,
                "TWILIO_API_SECRET": "an-api-secret-of-32-characters!!", "TWILIO_TWIML_APP_SID": "AP" + "3" * 32}


def test_the_access_token_lets_the_agents_browser_take_the_calls_dialled_to_them(make_app):
    app = make_app(**TWILIO_PHONE)
    add_staff(app, "wang")
    client = app.test_client()
    assert client.get("/console/api/phone/token").status_code == 401             # an agent login first
    client.post("/console/api/login", json={"username": "wang", "password": PASSWORD})
    response = client.get("/console/api/phone/token")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    claims = jwt.decode(body["token"], TWILIO_PHONE["TWILIO_API_SECRET"], algorithms=["HS256"])  # the API secret signs it
    assert claims["iss"] == TWILIO_PHONE["TWILIO_API_KEY"] and claims["sub"] == TWILIO_PHONE["TWILIO_ACCOUNT_SID"]
    assert claims["exp"] - claims["nbf"] == body["ttl_s"] == 3600
    # The identity is the one the hotline dials the agent's calls to (<Dial><Client>wang</Client>).
    assert claims["grants"]["identity"] == body["identity"] == "wang"
    assert claims["grants"]["voice"] == {"incoming": {"allow": True},
                                         "outgoing": {"application_sid": TWILIO_PHONE["TWILIO_TWIML_APP_SID"]}}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(body["token"], AUTH_TOKEN, algorithms=["HS256"])
    # The console loads the SDK from the app itself, and may reach Twilio's voice servers.
    page = client.get("/console/")
    assert b"vendor/twilio-voice-sdk/twilio.min.js" in page.data
    assert "wss://*.twilio.com" in page.headers["Content-Security-Policy"]
    sdk = client.get("/console/static/vendor/twilio-voice-sdk/twilio.min.js")
    assert sdk.status_code == 200 and b"Twilio" in sdk.data[:2000]
    sdk.close()


def test_without_twilio_the_token_is_refused_in_words_and_the_console_uses_the_bridge(make_app):
    app = make_app()
    add_staff(app, "wang")
    client = app.test_client()
    client.post("/console/api/login", json={"username": "wang", "password": PASSWORD})
    response = client.get("/console/api/phone/token", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 503
    assert response.get_json()["code"] == "browser_phone_not_configured"
    assert response.get_json()["message"] == "未配置 Twilio 网页电话，工作台使用本机语音桥接"
    page = client.get("/console/")
    assert b"twilio.min.js" not in page.data and "twilio" not in page.headers["Content-Security-Policy"]


# The level meters (RMS of what arrived, 0 to 1): the microphone's tone arrives near 0.02 (after
# Chromium's capture processing), hold music near 0.06, a muted microphone's silence as 0.
HEARD, SILENT = 0.01, 0.002
QUIET_FOR_S = 1.5  # silence must last this long: frames are never that late


def level(page, meter: str) -> float:
    return float(page.get_attribute(meter, "value"))


def hears(page, meter: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while level(page, meter) <= HEARD:
        assert time.monotonic() < deadline, f"nothing heard on {meter}"
        page.wait_for_timeout(100)


def hears_nothing(page, meter: str) -> None:
    deadline, quiet_since = time.monotonic() + DEADLINE_S, time.monotonic()
    while time.monotonic() - quiet_since < QUIET_FOR_S:
        assert time.monotonic() < deadline, f"{meter} never fell silent ({level(page, meter)})"
        if level(page, meter) >= SILENT:
            quiet_since = time.monotonic()
        page.wait_for_timeout(100)


def tone(tmp_path) -> Path:
    """A fake microphone: 440 Hz, loud enough to be heard, for 30 s (Chromium loops it)."""
    microphone = tmp_path / "tone.wav"
    microphone.write_bytes(write_wav(0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(16000 * 30) / 16000), 16000))
    return microphone


def talking_to_wang(browser, base: str):
    """zhao's softphone tab calls the hotline and presses 0; wang's console tab accepts the call:
    (wang's page, zhao's page)."""
    agent = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    caller = browser.new_context().new_page()
    log_in(agent, f"{base}/console/", "wang", "#desk")
    agent.click("[data-set-state=available]")
    log_in(caller, f"{base}/softphone", "zhao", "#phone")
    caller.click("#call")
    expect(caller.locator("#transcript")).to_contain_text("请问有什么可以帮您", timeout=15000)
    caller.wait_for_selector("[data-key='0']:not([disabled])")
    caller.click("[data-key='0']")                                      # an agent, please
    agent.wait_for_selector("#state[data-state=offered]", timeout=15000)
    agent.click("#accept")
    agent.wait_for_selector("#state[data-state=on_call]")
    expect(caller.locator("#status")).to_contain_text("坐席已接听", timeout=15000)
    assert caller.is_disabled("#call")                                  # one call at a time
    return agent, caller


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("hangs_up", ["agent", "caller"])
def test_a_caller_tab_and_an_agent_tab_hear_each_other_on_the_local_bridge(live, tmp_path, hangs_up):
    """Done means (issue 16): two browser tabs on one machine, each with a fake microphone."""
    from playwright.sync_api import sync_playwright

    app, base = live
    with sync_playwright() as playwright:
        browser = launch(playwright, tone(tmp_path))
        agent, caller = talking_to_wang(browser, base)

        hears(agent, "#phone-level")                                     # the caller's tone reaches the agent
        hears(caller, "#level")                                          # and the agent's the caller
        expect(agent.locator("#phone-timer")).to_have_text(re.compile(r"00:0[1-9]"), timeout=5000)
        screenshots(agent, "3b-on-call-phone")

        agent.click("#phone-mute")                                        # the agent mutes: the caller hears silence
        assert agent.inner_text("#phone-status") == "已静音"
        hears_nothing(caller, "#level")
        hears(agent, "#phone-level")                                     # the agent still hears the caller
        agent.click("#phone-hold")                                        # hold: the muted agent's caller hears music
        hears(caller, "#level")
        expect(caller.locator("#status")).to_contain_text("通话保持中，请稍候")  # and is told why
        hears_nothing(agent, "#phone-level")                             # and the agent no longer hears them
        agent.click("#phone-hold")
        hears_nothing(caller, "#level")                                  # resumed, still muted
        expect(caller.locator("#status")).to_contain_text("坐席已接听")
        agent.click("#phone-mute")
        hears(caller, "#level")                                          # the agent's tone again
        hears(agent, "#phone-level")

        if hangs_up == "agent":
            agent.click("#phone-hangup")
        else:
            caller.click("#hangup")
        expect(caller.locator("#status")).to_contain_text("已挂断", timeout=DEADLINE_S * 1000)
        assert caller.is_enabled("#call") and caller.is_disabled("#hangup")  # ready for the next call
        expect(agent.locator("#phone-status")).to_have_text("通话已结束", timeout=DEADLINE_S * 1000)
        agent.wait_for_selector("#state[data-state=wrap_up]")            # the agent is freed into wrap-up
        assert agent.is_visible("#hung-up") == (hangs_up == "caller")
        assert agent.is_disabled("#phone-hangup") and level(agent, "#phone-level") == 0
        # The disposition is recorded in wrap-up, for the call that just ended.
        assert agent.inner_text("#finish-button") == "提交处理结果"
        agent.select_option("#finish select[name=disposition]", "resolved")
        agent.click("#finish-button")
        expect(agent.locator("#finish")).to_be_hidden(timeout=DEADLINE_S * 1000)
        with app.app_context():
            acd = get_calls().acd()
            assert acd.agent("wang")["state"] == AgentState.WRAP_UP.value
            assert [d["disposition"] for d in acd.decisions() if d["decision"] == "disposition"] == ["resolved"]
            assert get_calls().load(caller.evaluate("callSid")) is None   # the call is over for the hotline too
        browser.close()


# As a browser whose user refused the microphone.
DENY_MICROPHONE = ("navigator.mediaDevices.getUserMedia = () => "
                   "Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_a_supervisor_listens_in_from_the_wallboard(live, tmp_path):
    from playwright.sync_api import sync_playwright

    app, base = live
    add_staff(app, "boss")
    with sync_playwright() as playwright:
        browser = launch(playwright, tone(tmp_path))
        agent, caller = talking_to_wang(browser, base)
        board = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        log_in(board, f"{base}/console/wallboard", "boss", "#board")
        listen = board.locator("#agents tr[data-agent=wang] button")
        expect(listen).to_have_text("监听", timeout=DEADLINE_S * 1000)
        listen.click()
        expect(listen).to_have_text("停止监听")
        expect(board.locator("#listening")).to_have_text("正在监听wang的通话")  # (no display name in the test staff)
        hears(board, "#listening-level")                                  # both tones, mixed, reach the supervisor
        agent.click("#phone-hold")                                        # the agent no longer hears the caller ...
        hears_nothing(agent, "#phone-level")
        board.click("#whisper")
        expect(board.locator("#whisper")).to_have_attribute("aria-pressed", "true")
        hears(agent, "#phone-level")                                     # ... but hears the supervisor's whisper
        screenshots(board, "6b-wallboard-listening")
        board.click("#whisper")
        hears_nothing(agent, "#phone-level")
        # A supervisor whose browser gives no microphone reads why, in words, and listens on.
        denied = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        denied.add_init_script(DENY_MICROPHONE)
        log_in(denied, f"{base}/console/wallboard", "boss", "#board")
        denied.click("#agents tr[data-agent=wang] button")
        hears(denied, "#listening-level")
        denied.click("#whisper")
        expect(denied.locator("#error")).to_have_text("浏览器未允许使用麦克风，请在地址栏旁允许后刷新页面")
        assert denied.get_attribute("#whisper", "aria-pressed") == "false"
        agent.click("#phone-hold")
        agent.click("#phone-hangup")
        expect(board.locator("#listening")).to_have_text("", timeout=DEADLINE_S * 1000)  # the call's end stops it
        expect(board.locator("#agents tr[data-agent=wang] button")).to_have_count(0)
        browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_a_transfer_hands_the_callers_line_to_the_colleague_who_accepts(live, tmp_path):
    from playwright.sync_api import sync_playwright

    app, base = live
    with sync_playwright() as playwright:
        browser = launch(playwright, tone(tmp_path))
        wang, caller = talking_to_wang(browser, base)
        li = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        log_in(li, f"{base}/console/", "li", "#desk")
        li.click("[data-set-state=available]")
        li.wait_for_selector("#state[data-state=available]")

        wang.click("#phone-transfer")                                   # 转接: available colleagues and lines
        expect(wang.locator("#transfer select[name=target] option[value='agent:li']")).to_have_text("li")
        expect(wang.locator("#transfer select[name=target]")).to_contain_text("中文·综合咨询")
        screenshots(wang, "3c-transfer")
        wang.select_option("#transfer select[name=target]", "agent:li")
        wang.click("#transfer button.primary")
        expect(wang.locator("#phone-status")).to_have_text("已转接", timeout=DEADLINE_S * 1000)
        wang.wait_for_selector("#state[data-state=wrap_up]")            # the first agent wraps up,
        assert wang.is_hidden("#hung-up") and wang.is_hidden("#finish")  # its disposition already 已转接
        hears(caller, "#level")                                          # the caller hears hold music meanwhile
        expect(caller.locator("#status")).to_contain_text("正在为您转接，请稍候")
        screenshots(caller, "3d-softphone-transferring")

        li.wait_for_selector("#state[data-state=offered]", timeout=DEADLINE_S * 1000)
        expect(li.locator("#pop-transferred")).to_have_text("wang")      # the screen pop came with the call
        li.click("#accept")
        li.wait_for_selector("#state[data-state=on_call]")
        hears(li, "#phone-level")                                        # li hears the caller
        li.click("#phone-mute")
        hears_nothing(caller, "#level")                                  # and the caller li, not the music
        li.click("#phone-mute")
        hears(caller, "#level")
        expect(caller.locator("#status")).to_contain_text("坐席已接听")  # one line all along, li on it

        li.click("#phone-hangup")
        expect(caller.locator("#status")).to_contain_text("已挂断", timeout=DEADLINE_S * 1000)
        li.wait_for_selector("#state[data-state=wrap_up]")
        with app.app_context():
            assert get_calls().load(caller.evaluate("callSid")) is None
        browser.close()
