"""The console API: login, roles, agent state, offers with a screen pop, tickets with SLA
timers, callbacks, and clear errors for bad requests."""
from __future__ import annotations

import pytest

from tests.test_webhooks import signed_post

PASSWORD = "s3cret-pass"


@pytest.fixture
def staffed(app, runner, demo_parcels):
    for name, role, skills in (("wang", "agent", "damaged,delayed"), ("boss", "supervisor", "")):
        assert runner.invoke(args=["agents", "add", name, "--role", role, "--skills", skills,
                                   "--password", PASSWORD]).exit_code == 0
    return app


def login(client, username="wang", password=PASSWORD):
    return client.post("/console/api/login", json={"username": username, "password": password})


def test_login_and_roles(staffed):
    client = staffed.test_client()
    assert client.get("/console/api/me").status_code == 401
    assert login(client, password="wrong").status_code == 401
    assert login(client, username="nobody").status_code == 401
    assert login(client).get_json()["user"] == {"username": "wang", "role": "agent", "name": "wang",
                                                 "languages": ["zh-CN"], "categories": ["damaged", "delayed"]}
    assert client.get("/console/api/me").get_json()["state"] == "offline"
    client.post("/console/api/logout", json={})
    assert client.get("/console/api/me").status_code == 401


def test_passwords_are_hashed(staffed):
    with staffed.app_context():
        from console.auth import find_user

        user = find_user("wang")
        assert PASSWORD not in user.password_hash and user.check_password(PASSWORD)


def test_bad_requests_are_clear_errors(staffed):
    client = staffed.test_client()
    login(client)
    assert client.post("/console/api/state", data="state=available").status_code == 415
    assert client.post("/console/api/state", json=["available"]).get_json()["error"] == "the body must be a JSON object"
    response = client.post("/console/api/state", json={"state": "on_call"})
    assert response.status_code == 400 and "state must be one of" in response.get_json()["error"]
    assert client.post("/console/api/accept", json={"call_sid": "CA404"}).status_code == 409
    assert client.post("/console/api/finish", json={"disposition": "resolved"}).status_code == 409
    assert client.post("/console/api/tickets/999/assign", json={}).status_code == 404
    assert client.post("/console/api/callbacks", json={"phone": "12", "slot": "soonest"}).status_code == 400
    assert client.post("/console/api/callbacks", json={"phone": "13800138000", "slot": "never"}).status_code == 400


def test_a_missed_offer_is_not_responding_until_a_new_login(staffed, clock):
    from callqueue.acd import OFFER_TIMEOUT_S
    from calls import get_calls

    client = staffed.test_client()
    login(client)
    complaint_waiting_for_an_agent(staffed, "CA" + "7" * 32)
    assert client.post("/console/api/state", json={"state": "available"}).get_json()["state"] == "offered"
    clock.advance(OFFER_TIMEOUT_S + 1)
    with staffed.app_context():
        get_calls().acd().tick(clock().timestamp())                    # RONA: the offer moves on
    assert client.get("/console/api/me").get_json()["state"] == "not_responding"
    login(staffed.test_client())                                       # the next shift's login
    assert client.get("/console/api/me").get_json()["state"] == "offline"


def test_a_softphone_call_comes_from_the_number_the_caller_gives(staffed):
    from calls import get_calls

    client = staffed.test_client()
    login(client)
    known = client.post("/softphone/calls", json={"from": "138 0013 8000"}).get_json()["call_sid"]
    unknown = client.post("/softphone/calls", json={}).get_json()["call_sid"]
    refused = client.post("/softphone/calls", json={"from": "12"}, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 400
    assert refused.get_json()["message"] == "来电号码应为7到12位数字（国际号码以+和国家代码开头，最多15位）"
    with staffed.app_context():
        calls = get_calls()
        assert (calls.load(known).caller, calls.load(known).flow_vars["contact_phone"]) == ("13800138000",) * 2
        assert calls.load(unknown).caller == "softphone"     # an unknown number: identity by phone tail


def complaint_waiting_for_an_agent(app, sid):
    """A caller who chose 投诉 → 破损 and pressed 0 for an agent: in the damaged line."""
    voice = app.test_client()
    for path, params in (("/voice/incoming", {"CallSid": sid, "From": "13800138000"}),
                         ("/voice/step", {"CallSid": sid, "Digits": "2"}),
                         ("/voice/step", {"CallSid": sid, "Digits": "1"}),
                         ("/voice/step", {"CallSid": sid, "Digits": "1234567890123"}),
                         ("/voice/step", {"CallSid": sid, "Digits": "1"}),   # SF, of the SF and YTO parcels
                         ("/voice/step", {"CallSid": sid, "Digits": "1"}),
                         ("/voice/step", {"CallSid": sid, "Digits": "1"}),
                         ("/voice/step", {"CallSid": sid, "Digits": "1"}),
                         ("/voice/step", {"CallSid": sid, "Digits": "0"})):
        assert signed_post(voice, path, params).status_code == 200
    return voice


def last_decision(app):
    with app.app_context():
        from callqueue.routing import distributor
        from redis_conn import get_redis

        return distributor(get_redis(), app.config).decisions(1)[0]


def test_offer_with_screen_pop_accept_and_disposition(staffed):
    sid = "CA" + "7" * 32
    complaint_waiting_for_an_agent(staffed, sid)
    client = staffed.test_client()
    login(client)
    view = client.post("/console/api/state", json={"state": "available"}).get_json()
    assert view["state"] == "offered"
    pop = view["offer"]
    assert pop["call_sid"] == sid and pop["caller"] == "138****8000" and pop["line"] == "zh-CN:damaged"
    assert pop["waybill"] == "SF1234567890123" and pop["parcel"]["scans"][0]["location"] == "武汉转运中心"
    assert pop["category"] == "damaged" and pop["earlier_tickets"][0]["category"] == "damaged"
    assert any("请选择投诉类型" in turn.get("heard", "") for turn in pop["ivr"])
    accepted = client.post("/console/api/accept", json={"call_sid": sid}).get_json()
    assert accepted == {"connected": sid, "ringing": sid, "kept_place": False}
    assert client.post("/console/api/accept", json={"call_sid": sid}).status_code == 409   # double accept
    view = client.post("/console/api/finish", json={"disposition": "ticket_opened", "notes": "破损理赔"}).get_json()
    assert view["state"] == "wrap_up" and view["offer"] is None
    decision = last_decision(staffed)
    assert decision["disposition"] == "ticket_opened" and decision["notes"] == "破损理赔"


@pytest.fixture
def caller_hung_up(staffed):
    """wang's console, logged in, on a complaint call whose caller has just hung up: (console, call sid)."""
    sid = "CA" + "8" * 32
    voice = complaint_waiting_for_an_agent(staffed, sid)
    client = staffed.test_client()
    login(client)
    assert client.post("/console/api/state", json={"state": "available"}).get_json()["state"] == "offered"
    assert client.post("/console/api/accept", json={"call_sid": sid}).status_code == 200
    assert signed_post(voice, "/voice/status", {"CallSid": sid, "CallStatus": "completed"}).status_code < 300
    return client, sid


def test_finish_after_the_caller_hung_up_is_not_an_error_and_keeps_the_disposition(staffed, caller_hung_up):
    client, sid = caller_hung_up
    response = client.post("/console/api/finish", json={"disposition": "resolved", "call_sid": sid})
    assert response.status_code == 200 and response.get_json()["state"] in ("wrap_up", "available")
    assert last_decision(staffed) | {"at": 0} == {"decision": "disposition", "at": 0, "agent": "wang", "call": sid,
                                                 "disposition": "resolved", "notes": ""}
    # A call the agent never had is still refused.
    assert client.post("/console/api/finish", json={"disposition": "resolved", "call_sid": "CA404"}).status_code == 409


def test_not_ready_reasons_my_day_and_a_disposition_linked_to_its_ticket(staffed, clock):
    client = staffed.test_client()
    login(client)
    view = client.post("/console/api/state", json={"state": "break", "reason": "training"}).get_json()
    assert (view["state"], view["reason"]) == ("break", "training")               # 未就绪 · 培训
    assert client.post("/console/api/state", json={"state": "break", "reason": "nap"}).status_code == 400
    assert client.post("/console/api/state", json={"state": "break"}).get_json()["reason"] == "rest"
    assert client.get("/console/api/me/today").get_json() == {"calls": 0, "average_handling_s": None, "tickets": 0}

    sid = "CA" + "5" * 32
    complaint_waiting_for_an_agent(staffed, sid)
    view = client.post("/console/api/state", json={"state": "available"}).get_json()
    assert view["state"] == "offered" and view["reason"] == ""
    client.post("/console/api/accept", json={"call_sid": sid})
    opened = client.post("/console/api/tickets", json={"category": "delayed", "waybill": "YT9876543210",
                                                       "name": "李女士", "phone": "13900001111",
                                                       "demand": "redelivery"}).get_json()
    clock.advance(125)
    # 已建工单 names a ticket the agent may read, and only that.
    hidden = client.post("/console/api/finish", json={"disposition": "ticket_opened", "call_sid": sid,
                                                      "ticket": "T-nobody's"})
    assert hidden.status_code == 404 and hidden.get_json()["code"] == "ticket_not_found"
    assert client.get("/console/api/me").get_json()["state"] == "on_call"           # nothing was finished
    finished = client.post("/console/api/finish", json={"disposition": "ticket_opened", "call_sid": sid,
                                                        "ticket": opened["number"]})
    assert finished.status_code == 200
    assert last_decision(staffed) | {"at": 0} == {"decision": "disposition", "at": 0, "agent": "wang", "call": sid,
                                                 "disposition": "ticket_opened", "notes": "", "ticket": opened["number"]}
    assert client.get("/console/api/me/today").get_json() == {"calls": 1, "average_handling_s": 125, "tickets": 1}


def test_tickets_with_sla_timers_and_actions(staffed, call):
    call("2", "3", "1234567890123#", "1", "1", "4", "1", "9")
    client = staffed.test_client()
    login(client)
    [ticket] = client.get("/console/api/tickets").get_json()["tickets"]
    assert ticket["phone"] == "138****8000" and ticket["status"] == "new"
    assert ticket["sla"]["first_response"] == {"due": ticket["sla"]["first_response"]["due"], "met": False,
                                               "breached": False, "remaining_s": 3600}
    assert client.post(f"/console/api/tickets/{ticket['id']}/assign", json={}).get_json()["owner"] == "wang"
    assert client.post(f"/console/api/tickets/{ticket['id']}/close", json={}).status_code == 409


def test_an_agent_opens_and_edits_a_ticket(staffed):
    client = staffed.test_client()
    login(client)
    form = {"category": "damaged", "name": "李女士", "waybill": "sf 1234 5678 90123", "demand": "compensation",
            "phone": "139-0000-1111", "notes": "外箱破损，内物摔碎"}
    created = client.post("/console/api/tickets", json=form)
    ticket = created.get_json()
    assert created.status_code == 201 and ticket["created"] is True
    assert (ticket["waybill"], ticket["phone"], ticket["owner"], ticket["status"], ticket["channel"]) == (
        "SF1234567890123", "139****1111", "wang", "assigned", "console")
    assert [h["action"] for h in ticket["history"]] == ["opened", "assign", "note"]
    assert ticket["history"][0]["at"] == "2026-11-24 10:00"      # 02:00 UTC, read in Shanghai time
    assert ticket["actions"] == ["respond", "escalate"]
    again = client.post("/console/api/tickets", json={**form, "category": "lost", "notes": ""})
    assert again.status_code == 200 and again.get_json()["created"] is False and again.get_json()["id"] == ticket["id"]
    edited = client.post(f"/console/api/tickets/{ticket['id']}", json={"phone": "13900002222", "demand": "refund",
                                                                     "notes": "客户改用新号码"}).get_json()
    assert (edited["phone"], edited["demand"]) == ("139****2222", "refund")
    assert [(h["action"], h["detail"]) for h in edited["history"][-2:]] == [("edited", "wang: phone, demand"),
                                                                           ("note", "wang: 客户改用新号码")]
    assert client.get(f"/console/api/tickets/{ticket['id']}").get_json() == edited


@pytest.mark.parametrize("body, status, error", [
    ({"category": "broken", "name": "a", "waybill": "SF1", "demand": "refund", "phone": "13900001111"}, 400,
     "category must be one of"),
    ({"category": "lost", "waybill": "SF1", "demand": "refund", "phone": "13900001111"}, 400, "name is required"),
    ({"category": "lost", "name": "a", "waybill": "SF1", "demand": "refund", "phone": "12"}, 400,
     "phone must have 7 to 12 digits, or up to 15 after + and a country code"),
    ({"category": "lost", "name": "a" * 65, "waybill": "SF1", "demand": "refund", "phone": "13900001111"}, 400,
     "name is longer than 64 characters"),
])
def test_a_malformed_ticket_form_is_refused_and_nothing_is_stored(staffed, body, status, error):
    client = staffed.test_client()
    login(client)
    response = client.post("/console/api/tickets", json=body)
    assert response.status_code == status and error in response.get_json()["error"]
    assert client.get("/console/api/tickets").get_json()["tickets"] == []
    assert client.post("/console/api/tickets/1", json={"notes": "x"}).status_code == 404


def test_only_name_phone_demand_and_notes_can_be_edited(staffed):
    client = staffed.test_client()
    login(client)
    ticket = client.post("/console/api/tickets", json={"category": "lost", "name": "a", "waybill": "SF1234567890123",
                                                       "demand": "refund", "phone": "13900001111"}).get_json()
    response = client.post(f"/console/api/tickets/{ticket['id']}", json={"status": "closed"})
    assert response.status_code == 400 and response.get_json()["error"] == "cannot change status"


def test_agent_books_a_callback(staffed):
    client = staffed.test_client()
    login(client)
    booked = client.post("/console/api/callbacks", json={"phone": "13900001111", "slot": "tomorrow_morning"})
    assert booked.status_code == 200 and booked.get_json()["due_at"] == "2026-11-25T01:00Z"
    assert booked.get_json()["due_local"].endswith("09:00")  # said to the agent in the hotline's time


def test_the_console_polls_its_view_and_gets_304_until_it_changes(staffed):
    client = staffed.test_client()
    login(client)
    first = client.get("/console/api/me")
    assert first.get_json()["state"] == "offline" and first.headers["Cache-Control"] == "no-cache"
    unchanged = client.get("/console/api/me", headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    client.post("/console/api/state", json={"state": "available"})
    changed = client.get("/console/api/me", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["state"] == "available"
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_wallboard_figures_for_supervisors_only(staffed, call):
    from calls.records import CallRecord
    from clock import to_naive_utc
    from database import new_session

    call("1", "1234567890123#", "1", "1", "9")
    call("0")
    with staffed.app_context():  # a survey call the hotline placed: no caller the IVR served or lost
        session = new_session()
        now = to_naive_utc(staffed.config["CLOCK"]())
        session.add(CallRecord(call_sid="CAOUT", direction="outbound", from_phone="4008", to_phone="13800138000",
                               language="zh-CN", started_at=now, ended_at=now, outcome="completed",
                               events=[], transcript=[]))
        session.commit()
        session.close()
    agent, boss = staffed.test_client(), staffed.test_client()
    login(agent)
    assert agent.get("/console/api/wallboard").status_code == 403
    login(boss, "boss")
    figures = boss.get("/console/api/wallboard").get_json()
    assert figures["calls_today"] == 3 and figures["abandoned_today"] == 1
    # Of the two inbound callers, the status caller was served.
    assert figures["ivr_containment"] == 0.5 and figures["waiting"] == 0
    assert figures["after_hours_today"] == 0
    # The supervisor is no floor agent: one agent, on a row of their own, its queue in words.
    assert figures["agents"] == {"offline": 1} and figures["lines"]["zh-CN:damaged"] == {"waiting": 0, "longest_wait_s": 0}
    assert [(row["id"], row["name"], row["state"]) for row in figures["agent_rows"]] == [("wang", "wang", "offline")]
    assert figures["line_names"]["zh-CN:damaged"] == "中文·破损"
    assert figures["wait_thresholds_s"] == {"warn": 60, "alert": 180}
    assert figures["time_zone"] == "Asia/Shanghai" and figures["listen_in"] is True  # the local bridge
    etag = boss.get("/console/api/wallboard").headers["ETag"]
    assert boss.get("/console/api/wallboard", headers={"If-None-Match": etag}).status_code == 304


def test_suggestions_are_on_the_supervisors_list_only(staffed, call):
    call("4", "6", ("say", "希望周末也能上门取件"), "1")
    call("2", "3", "1234567890123#", "1", "1", "4", "1", "9")
    agent, boss = staffed.test_client(), staffed.test_client()
    login(agent)
    login(boss, "boss")
    assert [t["category"] for t in agent.get("/console/api/tickets").get_json()["tickets"]] == ["delayed"]
    assert sorted(t["category"] for t in boss.get("/console/api/tickets").get_json()["tickets"]) == [
        "delayed", "suggestion"]


@pytest.mark.parametrize("kept_place", [True, False])
def test_a_call_the_carrier_refuses_frees_the_agent_and_keeps_the_callers_place(staffed, monkeypatch, kept_place):
    from ivr.telephony import SimulatedTelephony

    def refuse(self, *args, **kwargs):
        raise RuntimeError("carrier said no to 13800138000")

    monkeypatch.setattr(SimulatedTelephony, "place_call", refuse)
    monkeypatch.setattr(SimulatedTelephony, "redirect", refuse)
    sid = "CA" + "8" * 32
    with staffed.app_context():
        from callqueue.routing import distributor
        from redis_conn import get_redis

        acd = distributor(get_redis(), staffed.config)
        acd.enqueue(sid, "zh-CN:damaged", staffed.config["CLOCK"]().timestamp(), phone="13800138000",
                    by_callback=kept_place)
    client = staffed.test_client()
    login(client)
    assert client.post("/console/api/state", json={"state": "available"}).get_json()["offer"]["call_sid"] == sid
    refused = client.post("/console/api/accept", json={"call_sid": sid})
    assert refused.status_code == 503 and "carrier said no to 138****8000" in refused.get_json()["error"]
    with staffed.app_context():
        call, agent = acd.call(sid), acd.agent("wang")
    if kept_place:  # back in line for a later try, the agent free for the next caller
        assert call["status"] == "callback_waiting" and agent["state"] == "available"
    else:           # the caller has gone: the agent wraps up
        assert agent["state"] == "wrap_up"



def test_errors_carry_a_code_and_a_message_in_the_session_language(staffed):
    client = staffed.test_client()
    refused = login(client, password="wrong")
    assert refused.get_json() == {"error": "wrong username or password", "code": "wrong_login",
                                  "message": "工号或密码错误"}                      # zh-CN by default
    english = client.post("/console/api/login", json={"username": "wang", "password": "wrong"},
                          headers={"Accept-Language": "en"})
    assert english.get_json()["message"] == "wrong username or password"
    assert client.get("/console/api/me").get_json()["message"] == "请先登录"
    login(client)
    assert client.get("/console/api/wallboard").get_json()["message"] == "需要主管权限"
    missing = client.post("/console/api/state", json={})
    assert missing.get_json() == {"error": "state is required", "code": "field_required", "message": "请填写状态"}
    assert client.post("/console/api/tickets/999/assign", json={}).get_json()["message"] == "找不到工单 999"


def test_tickets_name_their_owner_filter_and_search(staffed, runner):
    assert runner.invoke(args=["agents", "add", "li", "--name", "李娜", "--skills", "damaged",
                               "--password", PASSWORD]).exit_code == 0
    client = staffed.test_client()
    login(client, "li")
    form = {"category": "damaged", "name": "李女士", "waybill": "SF1234567890123", "demand": "compensation",
            "phone": "13900001111"}
    created = client.post("/console/api/tickets", json=form).get_json()
    assert created["owner_name"] == "李娜" and created["created_at"].count(":") == 1   # local, to the minute
    assert created["sla"]["closure"]["remaining_s"] > 0
    opened = created["history"][0]
    assert opened["action"] == "opened" and opened["detail"] == "工作台"                 # the channel, in words
    assert created["history"][1]["detail"].startswith("李娜")                            # who took it, by name
    assert [t["number"] for t in client.get("/console/api/tickets?mine=1").get_json()["tickets"]] == [created["number"]]
    assert client.get("/console/api/tickets?q=李女").get_json()["tickets"][0]["name"] == "李女士"
    assert client.get("/console/api/tickets?q=nobody").get_json()["tickets"] == []
    assert client.get("/console/api/tickets?status=closed").get_json()["tickets"] == []
    assert client.get("/console/api/tickets?status=bogus").status_code == 400
    login(client, "wang")
    assert client.get("/console/api/tickets?mine=1").get_json()["tickets"] == []
    assert created["verified"] is True


def test_a_ticket_from_a_caller_who_failed_the_identity_check_says_so(staffed, clock):
    from clock import to_naive_utc
    from tickets.categories import ComplaintCategory, Demand
    from tickets.service import file_complaint

    with staffed.app_context():
        from database import new_session

        session = new_session()
        ticket, _ = file_complaint(session, category=ComplaintCategory.DAMAGED, name="", waybill="YT9876543210987",
                                   demand=Demand.COMPENSATION, phone="13911112222", channel="hotline",
                                   now=to_naive_utc(clock()),
                                   sla=staffed.extensions["sla_policy"], unverified=True)
        ticket_id = ticket.id
        session.close()
    client = staffed.test_client()
    login(client)
    shown = client.get(f"/console/api/tickets/{ticket_id}").get_json()
    assert shown["waybill"] == "YT9876543210987" and shown["verified"] is False   # 身份未核实 on the detail

def test_login_while_the_database_is_out_of_reach_is_a_clear_503(staffed):
    from tests.test_outages import break_table

    break_table(staffed, "users", broken=True)
    response = login(staffed.test_client())
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "database or Redis is out of reach" in response.get_json()["error"]
    assert response.get_json()["message"] == "系统数据暂时无法访问，请稍后重试"  # in the console's language
    break_table(staffed, "users", broken=False)
    assert login(staffed.test_client()).status_code == 200


def test_an_agent_whose_finish_was_lost_can_log_in_again_and_go_available(staffed, caller_hung_up):
    # The agent's finish was lost in an outage; their console logs in afresh.
    again = staffed.test_client()
    assert login(again).status_code == 200
    response = again.post("/console/api/state", json={"state": "available"})
    assert response.status_code == 200 and response.get_json()["state"] == "available"
    # An agent whose caller is still on the line stays on the call.
    other = "CA" + "5" * 32
    complaint_waiting_for_an_agent(staffed, other)
    assert again.get("/console/api/me").get_json()["state"] == "offered"
    again.post("/console/api/accept", json={"call_sid": other})
    assert again.post("/console/api/state", json={"state": "available"}).status_code == 409
    assert again.get("/console/api/me").get_json()["state"] == "on_call"


def test_every_word_is_in_both_languages():
    """A word missing in one language would show as a blank or a code on that page."""
    from console.words import MESSAGES, WORDS

    def keys(words: dict, prefix: str = "") -> set[str]:
        return {f"{prefix}{key}" for key in words} | {
            k for key, value in words.items() if isinstance(value, dict) for k in keys(value, f"{prefix}{key}.")}

    assert keys(WORDS["zh-CN"]) == keys(WORDS["en"])
    assert keys(MESSAGES["zh-CN"]) == keys(MESSAGES["en"])


def test_the_softphone_page_is_in_the_consoles_languages(staffed):
    import re

    client = staffed.test_client()
    chinese, english = client.get("/softphone").get_data(as_text=True), client.get("/softphone?lang=en").get_data(as_text=True)
    assert "<title>网页电话</title>" in chinese and "拨打热线" in chinese
    assert "<title>Softphone</title>" in english and "Call the hotline" in english
    words_shown = re.sub(r'<script type="application/json" id="words">.*?</script>', "", english, flags=re.S)
    assert not re.search(r"[\u4e00-\u9fff]", words_shown)  # no Chinese left on the English page
