"""Issue 14's console findings (OWASP ASVS L2), tried as an attacker would: login guessing and
timing, other agents' and supervisors' objects, session cookies, security headers, cross-site
requests, bad query parameters and refused callbacks. Each test fails on the console as it was."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from clock import to_naive_utc
from config import ConfigError, load_config
from database import new_session
from tests.test_console_browser import CHROMIUM, log_in, page  # noqa: F401 (page: a fixture)
from tickets import TRANSITIONS, ComplaintCategory, Ticket, file_message

PASSWORD = "s3cret-pass"
EVIL = "https://evil.example"
STAFF = (("wang", "agent", "damaged"), ("zhao", "agent", "damaged"), ("li", "agent", "lost"),
         ("boss", "supervisor", ""))


def add_staff(app, *usernames: str) -> None:
    runner = app.test_cli_runner()
    for name, role, skills in STAFF:
        if name in usernames:
            assert runner.invoke(args=["agents", "add", name, "--role", role, "--skills", skills,
                                       "--password", PASSWORD]).exit_code == 0


def login(client, username: str, password: str = PASSWORD, **request):
    return client.post("/console/api/login", json={"username": username, "password": password}, **request)


def signed_in(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 200
    return client


@pytest.fixture
def staff(app):
    add_staff(app, *(name for name, _, _ in STAFF))
    return app


@pytest.fixture
def objects(staff):
    """wang's damaged-parcel ticket, a suggestion (建议) nobody owns, and a softphone call wang placed."""
    wang = signed_in(staff, "wang")
    ticket = wang.post("/console/api/tickets", json={"category": "damaged", "name": "李女士", "phone": "13900001111",
                                                     "waybill": "SF1234567890123", "demand": "compensation"})
    with staff.app_context():
        session = new_session()
        suggestion = file_message(session, category=ComplaintCategory.SUGGESTION, phone="13900002222", recording="",
                                  transcript="希望周末也能上门取件", now=to_naive_utc(staff.config["CLOCK"]()),
                                  sla=staff.extensions["sla_policy"]).id
        session.close()
    call = wang.post("/softphone/calls", json={})
    assert ticket.status_code == 201 and call.status_code == 200
    return {"ticket": ticket.get_json()["id"], "suggestion": suggestion, "call": call.get_json()["call_sid"]}


def snapshot(app, objects: dict) -> dict:
    """What an attacker could change: the tickets' state and history, the call's session."""
    from calls import get_calls

    with app.app_context():
        session = new_session()
        tickets = {key: (t.status, t.owner, t.name, t.phone, t.demand, len(t.history))
                   for key in ("ticket", "suggestion") for t in [session.get(Ticket, objects[key])]}
        session.close()
        return {**tickets, "call": get_calls().load(objects["call"])}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    path: str     # with {ticket}, {suggestion}, {call} and {trigger} for the objects tried
    access: str   # anyone, signed_in, supervisor, supervisor_on_a_call, ticket_reader, ticket_changer, caller

    def paths(self, objects: dict, ticket_key: str = "ticket") -> list[str]:
        triggers = TRANSITIONS if "{trigger}" in self.path else [""]
        return [self.path.format(ticket=objects[ticket_key], call=objects["call"], trigger=t) for t in triggers]

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


# Every console and softphone route and who may use it (console.policy): the first test keeps
# this list complete, so a new route is tried as the wrong role and the wrong agent too.
ROUTES = [
    Route("POST", "/console/api/login", "/console/api/login", "anyone"),
    Route("POST", "/console/api/logout", "/console/api/logout", "anyone"),
    Route("GET", "/console/", "/console/", "anyone"),
    Route("GET", "/console/wallboard", "/console/wallboard", "anyone"),
    Route("GET", "/softphone", "/softphone", "anyone"),
    Route("GET", "/console/api/me", "/console/api/me", "signed_in"),
    Route("GET", "/console/api/me/today", "/console/api/me/today", "signed_in"),
    Route("GET", "/console/api/phone/token", "/console/api/phone/token", "signed_in"),
    Route("POST", "/console/api/state", "/console/api/state", "signed_in"),
    Route("POST", "/console/api/accept", "/console/api/accept", "signed_in"),
    Route("POST", "/console/api/finish", "/console/api/finish", "signed_in"),
    # The call is the body's: only the agent on it may transfer or hold it (tests/test_transfer.py).
    Route("GET", "/console/api/transfer-targets", "/console/api/transfer-targets", "signed_in"),
    Route("POST", "/console/api/transfer", "/console/api/transfer", "signed_in"),
    Route("POST", "/console/api/phone/hold", "/console/api/phone/hold", "signed_in"),
    Route("GET", "/console/api/tickets", "/console/api/tickets", "signed_in"),
    Route("POST", "/console/api/tickets", "/console/api/tickets", "signed_in"),
    Route("POST", "/console/api/callbacks", "/console/api/callbacks", "signed_in"),
    Route("POST", "/softphone/calls", "/softphone/calls", "signed_in"),
    Route("GET", "/softphone/media", "/softphone/media", "signed_in"),
    Route("GET", "/console/api/wallboard", "/console/api/wallboard", "supervisor"),
    Route("GET", "/console/api/reports/<kind>", "/console/api/reports/daily?date=2026-11-24", "supervisor"),
    Route("GET", "/console/api/tickets/<int:ticket_id>", "/console/api/tickets/{ticket}", "ticket_reader"),
    Route("POST", "/console/api/tickets/<int:ticket_id>", "/console/api/tickets/{ticket}", "ticket_changer"),
    Route("POST", "/console/api/tickets/<int:ticket_id>/<trigger>", "/console/api/tickets/{ticket}/{trigger}",
          "ticket_changer"),
    Route("POST", "/softphone/calls/<call_sid>/ended", "/softphone/calls/{call}/ended", "caller"),
    Route("POST", "/softphone/calls/<call_sid>/hangup", "/softphone/calls/{call}/hangup", "caller"),
    Route("POST", "/softphone/calls/<call_sid>/queue", "/softphone/calls/{call}/queue", "caller"),
    Route("GET", "/softphone/calls/<call_sid>/bridge", "/softphone/calls/{call}/bridge", "caller"),
    Route("GET", "/console/phone/<call_sid>", "/console/phone/{call}", "caller"),
    # A supervisor listening in on a call on the bridge (tests/test_phone_bridge.py: 403 for agents).
    Route("GET", "/console/monitor/<call_sid>", "/console/monitor/{call}", "supervisor_on_a_call"),
]
WEBSOCKETS = {"/softphone/media", "/softphone/calls/<call_sid>/bridge", "/console/phone/<call_sid>",
              "/console/monitor/<call_sid>"}
GUARDED = [r for r in ROUTES if r.access != "anyone"]
OBJECT_ROUTES = [r for r in ROUTES if r.access in ("ticket_reader", "ticket_changer", "caller")]
TICKET_ROUTES = [r for r in ROUTES if r.access.startswith("ticket_")]
NO_OBJECTS = {"ticket": 1, "suggestion": 2, "call": "CA0"}


# A browser's websocket handshake (a plain GET never reaches a websocket route: 400).
HANDSHAKE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def try_route(client, route: Route, path: str, **request):
    if route.method == "POST":
        request.setdefault("json", {})
    if route.rule in WEBSOCKETS:
        request["headers"] = {**HANDSHAKE, **request.get("headers", {})}
    return client.open(path, method=route.method, **request)


def test_the_route_list_is_complete(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(("/console", "/softphone")) and not rule.endpoint.endswith("static")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(r.method, r.rule) for r in ROUTES}


# --- Access control: every route as the wrong role and as the wrong agent ---

@pytest.mark.parametrize("route", GUARDED, ids=str)
def test_every_guarded_route_refuses_a_signed_out_caller(app, route):
    [path] = route.paths(NO_OBJECTS)[:1]
    assert try_route(app.test_client(), route, path).status_code == 401


@pytest.mark.parametrize("route", [r for r in ROUTES if r.access == "supervisor"], ids=str)
def test_supervisor_routes_refuse_an_agent(staff, route):
    [path] = route.paths(NO_OBJECTS)
    assert try_route(signed_in(staff, "wang"), route, path).status_code == 403
    assert try_route(signed_in(staff, "boss"), route, path).status_code == 200


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_an_agent_of_another_skill_group_cannot_reach_an_agents_ticket_or_call(staff, objects, route):
    li = signed_in(staff, "li")  # skill: lost; the ticket is wang's damaged parcel, the call wang's
    before = snapshot(staff, objects)
    for path in route.paths(objects):
        response = try_route(li, route, path)
        assert response.status_code == 404, (path, response.get_data(as_text=True))
    assert snapshot(staff, objects) == before
    assert objects["ticket"] not in [t["id"] for t in li.get("/console/api/tickets").get_json()["tickets"]]


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=str)
def test_a_colleague_of_the_same_skill_group_reads_but_does_not_change_an_agents_ticket(staff, objects, route):
    zhao = signed_in(staff, "zhao")  # skill: damaged, like wang
    before = snapshot(staff, objects)
    expected = 200 if route.access == "ticket_reader" else 403
    for path in route.paths(objects):
        assert try_route(zhao, route, path).status_code == expected, path
    assert snapshot(staff, objects) == before
    shown = zhao.get(f"/console/api/tickets/{objects['ticket']}").get_json()
    assert shown["owner"] == "wang" and shown["may_change"] is False and shown["actions"] == []


@pytest.mark.parametrize("route", TICKET_ROUTES, ids=str)
def test_suggestions_are_for_supervisors_only(staff, objects, route):
    for agent in ("wang", "zhao", "li"):
        client = signed_in(staff, agent)
        for path in route.paths(objects, "suggestion"):
            assert try_route(client, route, path).status_code == 404, (agent, path)
        assert [t["category"] for t in client.get("/console/api/tickets").get_json()["tickets"]
                if t["category"] == "suggestion"] == []
    boss = signed_in(staff, "boss")
    assert boss.get(f"/console/api/tickets/{objects['suggestion']}").status_code == 200
    assert boss.post(f"/console/api/tickets/{objects['suggestion']}/assign", json={}).get_json()["owner"] == "boss"


def test_owners_supervisors_and_takers_of_unowned_tickets_may_change_them(staff, objects):
    wang, boss, zhao = (signed_in(staff, name) for name in ("wang", "boss", "zhao"))
    assert wang.post(f"/console/api/tickets/{objects['ticket']}/respond", json={}).status_code == 200
    assert boss.post(f"/console/api/tickets/{objects['ticket']}", json={"notes": "主管已跟进"}).status_code == 200
    # A new ticket of the group nobody owns yet: a colleague may take it, and it is theirs.
    with staff.app_context():
        from tickets import Demand, file_complaint

        session = new_session()
        unowned, _ = file_complaint(session, category=ComplaintCategory.DAMAGED, name="王先生", waybill="SF1234567890999",
                                    demand=Demand.REDELIVERY, phone="13900003333", channel="hotline",
                                    now=to_naive_utc(staff.config["CLOCK"]()), sla=staff.extensions["sla_policy"])
        unowned_id = unowned.id
        session.close()
    assert zhao.post(f"/console/api/tickets/{unowned_id}/assign", json={}).get_json()["owner"] == "zhao"
    assert wang.post(f"/console/api/tickets/{unowned_id}/respond", json={}).status_code == 403


def test_a_complaint_that_joins_another_groups_ticket_shows_only_its_number(staff, objects):
    li = signed_in(staff, "li")
    joined = li.post("/console/api/tickets", json={"category": "lost", "name": "李女士", "phone": "13900001111",
                                                   "waybill": "SF1234567890123", "demand": "refund", "notes": "又来电"})
    assert joined.status_code == 200
    assert set(joined.get_json()) == {"created", "id", "number"} and joined.get_json()["id"] == objects["ticket"]


# --- Login: throttling, lockout, timing, audit ---

def test_repeated_wrong_passwords_lock_the_username_even_for_the_right_password(staff):
    client, limit = staff.test_client(), staff.config["LOGIN_MAX_FAILURES"]
    assert [login(client, "wang", f"guess-{i}").status_code for i in range(limit)] == [401] * (limit - 1) + [429]
    locked = login(client, "wang")
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert locked.get_json()["error"] == "too many failed logins: try again in 15 minutes"
    assert client.get("/console/api/me").status_code == 401
    assert login(client, "zhao").status_code == 200  # another username from the same address
    # A username that does not exist locks the same way: a lockout does not tell who exists.
    assert [login(client, "ghost", f"guess-{i}").status_code for i in range(limit)] == [401] * (limit - 1) + [429]


def test_no_database_connection_is_held_through_the_password_check(staff, monkeypatch):
    """The check is slow on purpose (a memory-hard hash): sixty logins at once holding a pooled
    connection each through it would empty the pool for the hotline's calls."""
    from console import auth

    engine, checked = staff.extensions["db_engine"], []
    real_check = auth.check_password_hash

    def check_noting_the_pool(*args):
        checked.append(engine.pool.checkedout())
        return real_check(*args)

    monkeypatch.setattr(auth, "check_password_hash", check_noting_the_pool)
    assert login(staff.test_client(), "wang").status_code == 200
    assert login(staff.test_client(), "wang", "wrong-pass").status_code == 401
    assert login(staff.test_client(), "nobody").status_code == 401
    assert checked == [0, 0, 0]


def test_a_successful_login_forgets_the_usernames_failures(staff):
    client, limit = staff.test_client(), staff.config["LOGIN_MAX_FAILURES"]
    for _ in range(2):
        assert {login(client, "wang", "guess").status_code for _ in range(limit - 1)} == {401}
        assert login(client, "wang").status_code == 200


def test_one_address_guessing_across_usernames_is_locked(make_app):
    app = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    add_staff(app, "wang")
    client, attacker = app.test_client(), {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
    assert [login(client, name, "123456", **attacker).status_code for name in ("a1", "a2", "a3")] == [401, 401, 429]
    assert login(client, "wang", **attacker).status_code == 429
    assert login(client, "wang", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_behind_a_trusted_proxy_the_clients_address_is_counted(make_app):
    app = make_app(LOGIN_MAX_FAILURES_PER_ADDRESS=2, TRUSTED_PROXY_COUNT=1)
    add_staff(app, "wang")
    client = app.test_client()

    def via(address: str) -> dict:
        return {"headers": {"X-Forwarded-For": address}}

    assert [login(client, name, "123456", **via("198.51.100.7")).status_code for name in ("a1", "a2")] == [401, 429]
    assert login(client, "wang", **via("203.0.113.9")).status_code == 200


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "SESSION_LIFETIME_HOURS", "LOGIN_LOCKOUT_MINUTES",
                                  "LOGIN_MAX_FAILURES", "LOGIN_MAX_FAILURES_PER_ADDRESS"])
def test_security_limits_of_zero_are_refused_at_start(name):
    with pytest.raises(ConfigError, match=f"{name}=0 must be at least 1"):
        load_config({name: "0"})


def test_an_unknown_username_costs_the_same_password_check_as_a_wrong_password(staff, monkeypatch):
    """So the refusal's time does not tell which usernames exist: each costs one check of a hash
    made the same way (the same method and work factor)."""
    from console import auth

    checked = []
    check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda hashed, password: checked.append(
        hashed.split("$")[0]) or check(hashed, password))
    client = staff.test_client()
    assert login(client, "wang", "wrong").status_code == 401
    assert login(client, "nobody", "wrong").status_code == 401
    assert len(checked) == 2 and checked[0] == checked[1] and checked[0].startswith(("scrypt", "pbkdf2"))


def test_logins_are_audited_with_addresses_and_unknown_usernames_masked(staff, caplog):
    caplog.set_level("INFO", logger="console.audit")
    client = staff.test_client()
    login(client, "hunter2-typed-as-name", "wrong")
    login(client, "wang", "wrong")
    login(client, "wang")
    client.post("/console/api/logout", json={})
    lines = [r.getMessage() for r in caplog.records if r.name == "console.audit"]
    assert lines == ["login failed: hu*** (unknown) from 127.0.0.0/24", "login failed: wang from 127.0.0.0/24",
                     "login: wang (agent) from 127.0.0.0/24", "logout: wang from 127.0.0.0/24"]


# --- Sessions: cookie flags, logout, idle timeout, lifetime, rotation ---

def session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_the_session_cookie_is_httponly_samesite_and_secure_behind_https(make_app):
    app = make_app()
    add_staff(app, "wang")
    cookie = session_cookie(login(app.test_client(), "wang"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires" not in cookie  # gone when the browser closes; the server's limits apply anyway
    https = make_app(PUBLIC_BASE_URL="https://hotline.example")
    response = login(https.test_client(), "wang")
    assert "Secure" in session_cookie(response)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_logging_out_invalidates_a_copied_cookie(staff):
    wang = signed_in(staff, "wang")
    stolen = staff.test_client()
    stolen.set_cookie("session", wang.get_cookie("session").value)
    assert stolen.get("/console/api/me").status_code == 200
    wang.post("/console/api/logout", json={})
    assert stolen.get("/console/api/me").status_code == 401


def test_a_request_running_across_a_logout_does_not_bring_the_session_back(staff):
    from flask import request

    wang = signed_in(staff, "wang")
    cookie = wang.get_cookie("session").value
    sessions = staff.session_interface
    with staff.test_request_context("/console/api/me", headers={"Cookie": f"session={cookie}"}):
        slow = sessions.open_session(staff, request)
        wang.post("/console/api/logout", json={})  # while the slow request runs
        sessions.save_session(staff, slow, staff.response_class())
    stolen = staff.test_client()
    stolen.set_cookie("session", cookie)
    assert stolen.get("/console/api/me").status_code == 401


def test_a_session_ends_after_the_idle_timeout(staff, clock):
    wang = signed_in(staff, "wang")
    idle = staff.config["SESSION_IDLE_MINUTES"] * 60
    for _ in range(3):  # each use starts the idle time again
        clock.advance(idle - 60)
        assert wang.get("/console/api/tickets").status_code == 200
    clock.advance(idle + 1)
    assert wang.get("/console/api/me").status_code == 401


def test_the_pages_polling_does_not_hold_off_the_idle_timeout(staff, clock):
    wang = signed_in(staff, "wang")
    idle = staff.config["SESSION_IDLE_MINUTES"] * 60
    for _ in range(4):  # an open console polls its view, unattended
        clock.advance(idle / 4 - 1)
        assert wang.get("/console/api/me").status_code == 200
    clock.advance(5)
    assert wang.get("/console/api/me").status_code == 401


def test_a_session_ends_after_its_lifetime_however_busy(staff, clock):
    wang = signed_in(staff, "wang")
    lifetime, step = staff.config["SESSION_LIFETIME_HOURS"] * 3600, 20 * 60
    for _ in range(lifetime // step):
        clock.advance(step)
        assert wang.get("/console/api/tickets").status_code == 200
    clock.advance(step)
    assert wang.get("/console/api/me").status_code == 401


def test_login_gives_a_new_session_id_so_a_planted_one_never_signs_in(staff):
    victim = staff.test_client()
    victim.set_cookie("session", "planted-by-attacker")
    assert login(victim, "wang").status_code == 200
    assert victim.get_cookie("session").value != "planted-by-attacker"
    attacker = staff.test_client()
    attacker.set_cookie("session", "planted-by-attacker")
    assert attacker.get("/console/api/me").status_code == 401
    first = victim.get_cookie("session").value
    assert login(victim, "zhao").status_code == 200 and victim.get_cookie("session").value != first


def test_logging_out_elsewhere_stops_the_polling_page_at_its_next_poll(staff):
    wang = signed_in(staff, "wang")
    etag = wang.get("/console/api/me").headers["ETag"]
    assert wang.get("/console/api/me", headers={"If-None-Match": etag}).status_code == 304
    elsewhere = staff.test_client()
    elsewhere.set_cookie("session", wang.get_cookie("session").value)
    elsewhere.post("/console/api/logout", json={})
    assert wang.get("/console/api/me", headers={"If-None-Match": etag}).status_code == 401


# --- Security headers and pages without inline code ---

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize("path", ["/console/", "/console/?lang=en", "/console/wallboard", "/softphone",
                                  "/console/static/console.js", "/console/api/me", "/console/api/tickets/1",
                                  "/health", "/voice/incoming"])
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:
        assert {name: response.headers.get(name) for name in HEADERS} == HEADERS


@pytest.mark.parametrize("path", ["/console/", "/console/wallboard", "/softphone"])
def test_pages_have_no_inline_script_or_style(client, path):
    html = client.get(path).get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes or 'type="application/json"' in attributes for attributes in scripts)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html)


@pytest.fixture
def live_staff(staff):
    server = make_server("127.0.0.1", 0, staff, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_pages_work_in_a_browser_under_the_content_security_policy(live_staff, page):  # noqa: F811
    page.add_init_script("window.violations = []; document.addEventListener('securitypolicyviolation', "
                         "(e) => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));")
    log_in(page, f"{live_staff}/console/", "boss", "#desk")
    expect(page.locator("#state")).to_have_text("离线")  # words from the page's JSON block
    assert page.evaluate("window.violations") == []
    page.goto(f"{live_staff}/console/wallboard")
    expect(page.locator("#tile-waiting")).to_have_text("0")
    assert page.evaluate("getComputedStyle(document.querySelector('.tiles')).display") == "grid"
    assert page.evaluate("window.violations") == []
    page.goto(f"{live_staff}/softphone")
    page.wait_for_selector("#phone:not([hidden])")
    assert page.evaluate("getComputedStyle(document.getElementById('keypad')).display") == "grid"
    assert page.evaluate("window.violations") == []


# --- Cross-site requests ---

@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "POST"], ids=str)
def test_a_cross_site_post_is_refused(staff, objects, route):
    wang = signed_in(staff, "wang")  # the victim's browser, with their cookie, on the attacker's page
    before = snapshot(staff, objects)
    for path in route.paths(objects)[:1]:
        for request in ({"data": {"state": "available"}, "headers": {"Origin": EVIL}},
                        {"json": {"state": "available"}, "headers": {"Origin": "null"}},
                        {"data": {}, "headers": {"Referer": f"{EVIL}/page"}}):
            response = wang.open(path, method="POST", **request)
            assert response.status_code == 403, (path, request)
    assert snapshot(staff, objects) == before
    assert wang.get("/console/api/me").get_json()["state"] == "offline"


def test_the_softphone_takes_posts_from_its_own_page_and_json_only(staff, objects):
    wang = signed_in(staff, "wang")
    queue = f"/softphone/calls/{objects['call']}/queue"
    assert wang.post(queue, headers={"Origin": "http://localhost"}).status_code == 200   # the page's own fetch
    assert wang.post(queue, headers={"Referer": "http://localhost/softphone"}).status_code == 200
    assert wang.post(queue).status_code == 415                                            # neither: JSON only
    assert wang.post(queue, json={}).status_code == 200


def test_a_websocket_handshake_from_another_site_is_refused(staff):
    wang = signed_in(staff, "wang")
    assert wang.get("/softphone/media", headers={**HANDSHAKE, "Origin": EVIL}).status_code == 403


# --- Bad query parameters are 400s, never 500s ---

FUZZ = ["", "abc", "\n", "2026-W48\n", "2026-11-24\n", "2026-11-24\r\nSet-Cookie: x=1", "-1", "0", "nan", "inf",
        "1e400", "\x00", "9" * 500, "２０２６-１１-２４", "2026-W00", "2026-W99", "0001-01-01", "9999-12-31",
        "2026-02-30", "%", "'", "<script>", "zh-CN\n", "SF\n"]
QUERIES = {
    "/console/": ["lang"],
    "/console/api/reports/daily": ["date", "format", "language", "carrier"],
    "/console/api/reports/weekly": ["week", "format", "language", "carrier"],
}
VALID = {"date": "2026-11-24", "week": "2026-W48"}


@pytest.mark.parametrize("path", QUERIES)
def test_fuzzed_query_parameters_get_clear_answers_never_500(staff, path):
    boss = signed_in(staff, "boss")
    for name in QUERIES[path]:
        for value in FUZZ:
            query = {**{k: v for k, v in VALID.items() if k in QUERIES[path]}, name: value}
            response = boss.get(path, query_string=query)
            assert response.status_code < 500, (path, name, value)
            if path.startswith("/console/api/") and response.status_code == 400:
                assert response.get_json()["error"], (path, name, value)


def test_a_week_with_a_newline_is_a_400(staff):
    response = signed_in(staff, "boss").get("/console/api/reports/weekly", query_string={"week": "2026-W48\n"})
    assert response.status_code == 400 and response.get_json()["error"] == "week must look like 2026-W48"


# --- Callbacks: a destination the hotline refuses is shown clearly ---

def test_a_refused_callback_number_is_a_clear_400(staff):
    response = signed_in(staff, "wang").post("/console/api/callbacks", json={"phone": "+19005550100", "slot": "soonest"})
    assert response.status_code == 400
    assert response.get_json()["error"] == ("no callback booked: the number is outside the destinations "
                                            "the hotline calls")
