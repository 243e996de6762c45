"""An agent on a call transfers the caller to an available colleague or to a line (console API):
the caller goes back into the app's own ACD ahead of later callers, their screen pop goes with
them, the first agent wraps up; with Twilio the caller's leg is redirected (to the app's line, or
to hold music and back), checked against a fake REST client."""
from __future__ import annotations

import re
import threading
import uuid
from types import SimpleNamespace

import jwt
import pytest
from werkzeug.serving import make_server

from callqueue.acd import AgentState
from calls import get_calls
from calls.session import Phase
from ivr.telephony import simulator_redirect_key
from redis_conn import get_redis
from tests.conftest import wait_until
from tests.test_console_api import complaint_waiting_for_an_agent
from tests.test_console_browser import CHROMIUM, WAIT_MS, launch, log_in
from tests.test_console_security import add_staff, signed_in
from tests.test_phone_bridge import TWILIO_PHONE
from tests.test_webhooks import signed_post

SID = "CA" + "5" * 32
ZH = {"Accept-Language": "zh-CN"}


def on_a_call(app):
    """wang (damaged) has accepted a 破损 complaint; li (lost, and the general line) is on a break.
    Their consoles: (wang, li)."""
    add_staff(app, "wang", "li", "boss")
    complaint_waiting_for_an_agent(app, SID)
    wang, li = signed_in(app, "wang"), signed_in(app, "li")
    li.post("/console/api/state", json={"state": "break"})
    assert wang.post("/console/api/state", json={"state": "available"}).get_json()["state"] == "offered"
    assert wang.post("/console/api/accept", json={"call_sid": SID}).status_code == 200
    return wang, li


def test_a_transfer_to_a_line_waits_there_ahead_of_later_callers_with_its_screen_pop(app, demo_parcels):
    wang, li = on_a_call(app)
    targets = wang.get("/console/api/transfer-targets", headers=ZH).get_json()
    assert targets["agents"] == []                                    # li is on a break
    assert {"line": "zh-CN:general", "name": "中文·综合咨询"} in targets["lines"]
    view = wang.post("/console/api/transfer", json={"call_sid": SID, "line": "zh-CN:general"}).get_json()
    assert view["state"] == "wrap_up" and view["offer"] is None       # the first agent wraps up
    with app.app_context():
        acd = get_calls().acd()
        assert acd.call(SID)["status"] == "waiting" and acd.ahead(SID) == 0
        assert get_calls().load(SID).phase is Phase.QUEUED
        # The caller's leg waits in the app's own line (the local carrier's redirect, as Twilio's).
        assert get_redis().get(simulator_redirect_key(SID)).decode() == "http://localhost/voice/transferred"
        assert [d["disposition"] for d in acd.decisions() if d["decision"] == "disposition"] == ["transferred"]
    pop = li.post("/console/api/state", json={"state": "available"}).get_json()["offer"]
    assert pop["call_sid"] == SID and pop["line"] == "zh-CN:general" and pop["transferred_from"] == "wang"
    # What the caller told the IVR and their parcel travel with the call.
    assert pop["category"] == "damaged" and pop["waybill"] == "SF1234567890123"
    assert any("请选择投诉类型" in turn.get("heard", "") for turn in pop["ivr"])
    assert li.post("/console/api/accept", json={"call_sid": SID}).status_code == 200
    with app.app_context():
        assert get_redis().get(simulator_redirect_key(SID)).decode() == "http://localhost/voice/connect/li"


def test_a_transfer_to_an_available_colleague_rings_at_their_desk(app):
    wang, li = on_a_call(app)
    li.post("/console/api/state", json={"state": "available"})
    targets = wang.get("/console/api/transfer-targets").get_json()
    assert targets["agents"] == [{"username": "li", "name": "li"}]
    assert wang.post("/console/api/transfer", json={"call_sid": SID, "agent": "li"}).get_json()["state"] == "wrap_up"
    view = li.get("/console/api/me").get_json()
    assert view["state"] == "offered" and view["offer"]["transferred_from"] == "wang"
    assert view["offer"]["line"] == "zh-CN:damaged"                    # the call's own line, should li not answer


def test_transfers_refused_in_the_agents_words(app):
    wang, li = on_a_call(app)

    def transfer(console, **body):
        return console.post("/console/api/transfer", json={"call_sid": SID, **body}, headers=ZH)

    refused = transfer(wang, agent="li")                               # on a break
    assert refused.status_code == 409 and refused.get_json()["code"] == "agent_unavailable"
    assert refused.get_json()["message"] == "li当前不是就绪状态，无法接听转接"
    assert transfer(wang, agent="nobody").get_json()["code"] == "agent_unavailable"
    assert transfer(wang, agent="wang").get_json()["code"] == "agent_unavailable"
    assert transfer(wang, agent="boss").get_json()["code"] == "agent_unavailable"  # offline
    for body, code in (({}, "transfer_target"), ({"agent": "li", "line": "zh-CN:general"}, "transfer_target"),
                       ({"line": "ko-KR:general"}, "line_unserved"), ({"line": ["zh-CN:general"]}, "field_required"),
                       ({"agent": 7}, "field_required")):
        response = transfer(wang, **body)
        assert response.status_code == 400 and response.get_json()["code"] == code, body
    # Only the agent on the call may transfer it: another's is answered as no call at all.
    not_yours = transfer(li, line="zh-CN:general")
    assert not_yours.status_code == 404 and not_yours.get_json()["message"] == "这通来电不在您的线路上"
    assert li.post("/console/api/transfer", json={"line": "zh-CN:general"}).status_code == 400
    assert li.post("/console/api/transfer", data="line=zh-CN:general").status_code == 415
    assert app.test_client().post("/console/api/transfer", json={"call_sid": SID, "line": "x"}).status_code == 401
    with app.app_context():
        assert get_calls().acd().call(SID)["status"] == "connected"      # nothing changed
        assert get_calls().acd().agent("wang")["state"] == AgentState.ON_CALL.value


class FakeTwilio:
    """The twilio REST client's surface the hotline uses to place and update calls, recording
    them instead of sending them: `client.calls.create(...)` and `client.calls(sid).update(...)`."""

    updates: list[tuple[str, dict]] = []
    placed: list[dict] = []

    def __init__(self, account_sid, auth_token):
        self.calls = FakeCalls()


class FakeCalls:
    def __call__(self, sid):
        class Call:
            def update(self, **changes):
                FakeTwilio.updates.append((sid, changes))

        return Call()

    def create(self, **call):
        FakeTwilio.placed.append(call)
        return SimpleNamespace(sid="CA" + uuid.uuid4().hex)


@pytest.fixture
def twilio(make_app, monkeypatch):
    monkeypatch.setattr("twilio.rest.Client", FakeTwilio)
    monkeypatch.setattr(FakeTwilio, "updates", [])
    monkeypatch.setattr(FakeTwilio, "placed", [])
    return make_app(**TWILIO_PHONE)


@pytest.mark.parametrize("entry", ["CA" + "6" * 32, "CB-7-1"], ids=["kept_place", "scheduled"])
def test_with_twilio_a_callback_is_transferred_on_the_call_dialled_to_the_customer(twilio, entry):
    """A callback's customer is on the call the hotline dialled for wang (the ACD's entry is the
    caller who hung up, or the booking): that call takes the entry's place, is redirected into
    the app's line and offered to li as an ordinary caller; li's accept puts it through without
    dialling the customer again, and its hang-up is recorded and leaves nothing in line."""
    from callqueue.routing import callback_leg_key, kept_place_key
    from calls.records import CallRecord
    from database import new_session

    add_staff(twilio, "wang", "li")
    with twilio.app_context():
        get_calls().acd().enqueue(entry, "zh-CN:damaged", twilio.config["CLOCK"]().timestamp(), phone="13800138000",
                                  by_callback=True)
    wang, li = signed_in(twilio, "wang"), signed_in(twilio, "li")
    assert wang.post("/console/api/state", json={"state": "available"}).get_json()["offer"]["kept_place"]
    dialled = wang.post("/console/api/accept", json={"call_sid": entry}).get_json()["ringing"]
    li.post("/console/api/state", json={"state": "available"})
    FakeTwilio.updates.clear()
    view = wang.post("/console/api/transfer", json={"call_sid": entry, "agent": "li"}, headers=ZH).get_json()
    assert view["state"] == "wrap_up"
    assert FakeTwilio.updates == [(dialled, {"url": "http://localhost/voice/transferred", "method": "POST"})]
    with twilio.app_context():
        acd, redis = get_calls().acd(), get_redis()
        assert entry not in acd.waiting_sids() and not redis.exists(callback_leg_key(entry), kept_place_key(dialled))
        in_line = acd.call(dialled)
        assert (in_line["status"], in_line["agent"], in_line["callback"]) == ("offered", "li", "0")
        assert (in_line["phone"], in_line["transferred_from"]) == ("13800138000", "wang")
        assert get_calls().load(dialled).phase is Phase.QUEUED
    pop = li.get("/console/api/me").get_json()["offer"]
    assert (pop["call_sid"], pop["kept_place"], pop["transferred_from"]) == (dialled, False, "wang")
    accepted = li.post("/console/api/accept", json={"call_sid": dialled}).get_json()
    assert accepted == {"connected": dialled, "ringing": dialled, "kept_place": False}
    assert FakeTwilio.updates[-1] == (dialled, {"url": "http://localhost/voice/connect/li", "method": "POST"})
    assert len(FakeTwilio.placed) == 1                                # put through, never dialled again
    client = twilio.test_client()
    signed_post(client, "/voice/connect/li", {"CallSid": dialled})
    signed_post(client, "/voice/status", {"CallSid": dialled, "CallStatus": "completed", "CallDuration": "95"})
    with twilio.app_context():
        session = new_session()
        record = session.query(CallRecord).filter_by(call_sid=dialled).one()
        assert (record.direction, record.to_phone) == ("outbound", "13800138000")
        session.close()
        assert get_calls().acd().waiting_count("zh-CN:damaged") == 0


def test_with_twilio_hold_plays_the_hold_music_and_resume_dials_the_agent_again(twilio):
    wang, li = on_a_call(twilio)
    FakeTwilio.updates.clear()  # the accept's own redirect to wang
    assert wang.post("/console/api/phone/hold", json={"call_sid": SID, "on": True}).get_json()["on_hold"] is True
    assert wang.post("/console/api/phone/hold", json={"call_sid": SID, "on": False}).status_code == 200
    assert FakeTwilio.updates == [
        (SID, {"url": "http://localhost/voice/hold", "method": "POST"}),
        (SID, {"url": "http://localhost/voice/connect/wang", "method": "POST"})]
    assert li.post("/console/api/phone/hold", json={"call_sid": SID, "on": True}).status_code == 404
    assert wang.post("/console/api/phone/hold", json={"call_sid": SID, "on": "yes"}).status_code == 400
    # The hold music, looped, from the app itself.
    voice = twilio.test_client()
    hold = signed_post(voice, "/voice/hold", {"CallSid": SID})
    assert hold.data.decode() == ('<?xml version="1.0" encoding="UTF-8"?><Response>'
                                  '<Play loop="0">/voice/hold-music.wav</Play></Response>')
    music = voice.get("/voice/hold-music.wav")
    assert music.mimetype == "audio/wav" and music.data[:4] == b"RIFF" and len(music.data) > 8000


def test_with_twilio_hold_moves_a_callbacks_dialled_leg_not_its_place_in_line(twilio):
    """A kept-place callback: the customer is on the call the hotline dialled for wang, so hold
    and resume redirect that call (the kept place's own SID is the caller who hung up)."""
    add_staff(twilio, "wang")
    kept = "CA" + "6" * 32
    with twilio.app_context():
        get_calls().acd().enqueue(kept, "zh-CN:damaged", twilio.config["CLOCK"]().timestamp(), phone="13800138000",
                                  by_callback=True)
    wang = signed_in(twilio, "wang")
    assert wang.post("/console/api/state", json={"state": "available"}).get_json()["offer"]["call_sid"] == kept
    dialled = wang.post("/console/api/accept", json={"call_sid": kept}).get_json()["ringing"]
    assert [call["to"] for call in FakeTwilio.placed] == ["+8613800138000"] and dialled != kept
    assert wang.post("/console/api/phone/hold", json={"call_sid": kept, "on": True}).status_code == 200
    assert wang.post("/console/api/phone/hold", json={"call_sid": kept, "on": False}).status_code == 200
    assert FakeTwilio.updates == [
        (dialled, {"url": "http://localhost/voice/hold", "method": "POST"}),
        (dialled, {"url": "http://localhost/voice/connect/wang", "method": "POST"})]
    assert len(FakeTwilio.placed) == 1                                # held and resumed, never dialled again


def test_with_twilio_a_transfer_redirects_the_caller_into_the_apps_own_line(twilio):
    wang, _ = on_a_call(twilio)
    FakeTwilio.updates.clear()
    wang.post("/console/api/transfer", json={"call_sid": SID, "line": "zh-CN:general"})
    assert FakeTwilio.updates == [(SID, {"url": "http://localhost/voice/transferred", "method": "POST"})]
    waiting = signed_post(twilio.test_client(), "/voice/transferred", {"CallSid": SID})
    # The line the ACD serves: its waitUrl tells the caller their place, its action their leaving.
    assert waiting.data.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue action="/voice/queue-exit" method="POST" '
        'waitUrl="/voice/queue-wait" waitUrlMethod="POST">agents</Enqueue></Response>')


# The Twilio Voice JS SDK's surface the console uses, served in its place: a Device that records
# its token and registration, and calls the test rings (`fakeTwilio.ring()`, as Twilio does when
# the hotline dials <Client>wang</Client>) that record accept, mute and disconnect.
FAKE_VOICE_SDK = """
window.fakeTwilio = {token: null, registered: false, calls: []};
class FakeEvents {
  constructor() { this.handlers = {}; }
  on(event, handler) { (this.handlers[event] ||= []).push(handler); }
  emit(event, ...args) { (this.handlers[event] || []).forEach((handler) => handler(...args)); }
}
class FakeCall extends FakeEvents {
  constructor() { super(); Object.assign(this, {accepted: false, muted: false, disconnected: false}); }
  accept() { this.accepted = true; this.emit("accept", this); this.emit("volume", 0, 0.3); }
  mute(on) { this.muted = on; }
  reject() { this.emit("reject"); }
  disconnect() { this.disconnected = true; this.emit("disconnect", this); }
}
window.Twilio = {Device: class extends FakeEvents {
  constructor(token) { super(); fakeTwilio.token = token; fakeTwilio.device = this; }
  async register() { fakeTwilio.registered = true; }
  updateToken(token) { fakeTwilio.token = token; }
}};
fakeTwilio.ring = () => {
  const call = new FakeCall();
  fakeTwilio.calls.push(call);
  fakeTwilio.device.emit("incoming", call);
  return fakeTwilio.calls.length;
};
"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_consoles_twilio_phone_answers_mutes_holds_and_hangs_up(twilio, demo_parcels):
    """The console on the Voice SDK (a stand-in for Twilio's servers): it registers with the
    agent's token, answers the call the hotline dials to the agent at once, mutes it, holds it
    (the caller's leg goes to the hold music by REST, the agent's call ends) and resumes on the
    call dialled again, and hangs up."""
    from playwright.sync_api import expect, sync_playwright

    add_staff(twilio, "wang")
    sid = "CA" + "5" * 32
    complaint_waiting_for_an_agent(twilio, sid)
    server = make_server("127.0.0.1", 0, twilio, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.route("**/vendor/twilio-voice-sdk/twilio.min.js",
                       lambda route: route.fulfill(body=FAKE_VOICE_SDK, content_type="text/javascript"))
            log_in(page, f"{base}/console/", "wang", "#desk")
            expect(page.locator("#phone-status")).to_have_text("网页电话已就绪", timeout=WAIT_MS)
            claims = jwt.decode(page.evaluate("fakeTwilio.token"), options={"verify_signature": False})
            assert claims["grants"]["identity"] == "wang" and page.evaluate("fakeTwilio.registered")

            page.click("[data-set-state=available]")
            page.wait_for_selector("#state[data-state=offered]")
            page.click("#accept")
            page.wait_for_selector("#state[data-state=on_call]")
            assert FakeTwilio.updates[-1] == (sid, {"url": f"{base}/voice/connect/wang", "method": "POST"})
            page.evaluate("fakeTwilio.ring()")                           # Twilio rings the agent's browser
            expect(page.locator("#phone-status")).to_have_text("通话中", timeout=WAIT_MS)
            assert page.evaluate("fakeTwilio.calls[0].accepted")          # answered at once
            expect(page.locator("#phone-timer")).to_have_text(re.compile(r"00:0[1-9]"), timeout=WAIT_MS)

            page.click("#phone-mute")
            assert page.evaluate("fakeTwilio.calls[0].muted") and page.inner_text("#phone-status") == "已静音"
            page.click("#phone-hold")                                    # the caller's leg to the hold music
            expect(page.locator("#phone-status")).to_have_text("保持中（客户在听等待音乐）", timeout=WAIT_MS)
            wait_until(lambda: FakeTwilio.updates[-1] == (sid, {"url": f"{base}/voice/hold", "method": "POST"}))
            expect(page.locator("#phone-hold")).to_be_enabled(timeout=WAIT_MS)
            page.evaluate("fakeTwilio.calls[0].disconnect()")            # which ends the agent's call
            assert page.inner_text("#phone-status").startswith("保持中")  # and is no hang-up
            page.click("#phone-hold")                                    # resume: the agent is dialled again
            expect(page.locator("#phone-hold")).to_have_text("保持", timeout=WAIT_MS)
            wait_until(lambda: FakeTwilio.updates[-1] == (sid, {"url": f"{base}/voice/connect/wang", "method": "POST"}))
            page.evaluate("fakeTwilio.ring()")
            assert page.evaluate("fakeTwilio.calls[1].accepted && fakeTwilio.calls[1].muted")  # still muted
            assert page.inner_text("#phone-status") == "已静音"

            page.click("#phone-hangup")
            assert page.evaluate("fakeTwilio.calls[1].disconnected")
            expect(page.locator("#phone-status")).to_have_text("通话已结束", timeout=WAIT_MS)
            assert page.is_disabled("#phone-hangup") and page.is_disabled("#phone-mute")
            browser.close()
    finally:
        server.shutdown()
