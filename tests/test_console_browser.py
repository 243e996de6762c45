"""The agent console in headless Chromium: log in, go available, get an offer with its screen
pop, accept, set a disposition. Screenshots are saved under test-output/ for review."""
from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from database import new_session
from speech.audio import write_wav
from tests.test_webhooks import signed_post

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "console"
PASSWORD = "s3cret-pass"
# Waits go through locators (expect): wait_for_function evaluates a string in the page, which the
# console's Content-Security-Policy forbids, as it should.
WAIT_MS = 30_000


@pytest.fixture
def console_server(app, runner, demo_parcels):
    assert runner.invoke(args=["agents", "add", "wang", "--name", "王小明", "--skills", "damaged",
                               "--password", PASSWORD]).exit_code == 0
    voice = app.test_client()
    sid = "CA" + "8" * 32
    for digits in (None, "2", "1", "1234567890123", "1", "1", "1", "1", "0"):  # damaged, SF, then 0
        path, params = ("/voice/incoming", {"CallSid": sid, "From": "13800138000"}) if digits is None else \
            ("/voice/step", {"CallSid": sid, "Digits": digits})
        assert signed_post(voice, path, params).status_code == 200
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def launch(playwright, microphone: Path | None = None):
    """Headless Chromium; with a WAV file, a fake microphone that plays it (in a loop), granted to
    every page, and audio that plays without a click first."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    audio = [] if microphone is None else [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}", "--autoplay-policy=no-user-gesture-required"]
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", *audio])


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport=SIZES["desktop"])
        yield page
        browser.close()


SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def screenshots(page, name: str) -> None:
    """The page at desktop and phone sizes, for review; at phone size nothing may run off the side."""
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(OUTPUT / f"{name}-{size}.png"), full_page=True)
        if size == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
    page.set_viewport_size(SIZES["desktop"])


def log_in(page, url: str, username: str, shown: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login button")
    if shown:
        page.wait_for_selector(f"{shown}:not([hidden])")


# Notifications, recorded: headless Chromium shows none, and the offer's must be there.
RECORD_NOTIFICATIONS = """window.notified = [];
window.Notification = class { static permission = "granted"; constructor(title) { notified.push(title); } };"""


def test_agent_takes_an_offered_call(console_server, page):
    page.add_init_script(RECORD_NOTIFICATIONS)
    log_in(page, f"{console_server}/console/", "wang", "#desk")
    assert page.inner_text("#who") == "王小明 (坐席)"
    page.select_option("#break-reason", "training")
    page.click("[data-set-state=break]")
    expect(page.locator("#state")).to_have_text("未就绪 · 培训", timeout=WAIT_MS)    # not ready, and why
    expect(page.locator("#my-calls")).to_have_text("0", timeout=WAIT_MS)           # the agent's own day
    screenshots(page, "1-idle")

    page.click("[data-set-state=available]")
    page.wait_for_selector("#state[data-state=offered]")
    assert page.inner_text("#pop-caller") == "138****8000"
    assert page.inner_text("#pop-waybill") == "SF1234567890123"
    assert page.inner_text("#pop-line") == "中文·破损"                # the queue in words
    assert page.title().startswith("【来电】")                          # the offer shows in the tab's title
    assert page.get_attribute("body", "data-ringing") == "true"         # and rings
    assert page.evaluate("notified") == ["来电弹屏 · 客服工作台"]          # and notifies, once
    assert page.get_attribute("#offer", "aria-live") == "assertive"     # screen readers announce it at once
    assert page.evaluate("ringer.state") == "running"
    expect(page.locator("#offer-left")).to_contain_text("秒内未接听", timeout=WAIT_MS)
    # 接听 comes first in the offer, above the screen pop's record.
    assert page.locator("#accept").bounding_box()["y"] < page.locator("#pop-scans").bounding_box()["y"]
    assert page.inner_text("#pop-category") == "破损"                 # words, not codes
    assert "武汉转运中心 运输中" in page.inner_text("#pop-scans")
    assert "破损 新建" in page.inner_text("#pop-tickets")
    assert "请选择投诉类型" in page.inner_text("#pop-ivr")
    screenshots(page, "2-offer")

    held = []  # the accept request, held back to see the page while it is in flight
    page.route("**/console/api/accept", lambda route: held.append(route))
    page.click("#accept")
    expect(page.locator("#accept")).to_be_disabled(timeout=WAIT_MS)   # no second click while it connects
    deadline = time.monotonic() + WAIT_MS / 1000
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    held[0].continue_()
    page.wait_for_selector("#state[data-state=on_call]")
    page.unroute("**/console/api/accept")
    assert page.title() == "客服工作台" and page.get_attribute("body", "data-ringing") is None  # answered: no ring
    # This browser has no microphone: the agent reads why in their words, not the browser's English.
    expect(page.locator("#phone-status")).to_have_text("未找到麦克风，请接上耳麦后刷新页面", timeout=WAIT_MS)
    screenshots(page, "3-on-call")
    # The complaint form starts from the screen pop; this waybill has the ticket the IVR opened.
    assert page.input_value("#new-ticket input[name=waybill]") == "SF1234567890123"
    assert page.input_value("#new-ticket select[name=category]") == "damaged"
    page.fill("#new-ticket input[name=name]", "张先生")
    page.fill("#new-ticket input[name=phone]", "13800138000")
    page.fill("#new-ticket input[name=notes]", "外箱破损，客户要求赔偿")
    page.click("#new-ticket button")
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.inner_text("#new-ticket-result").startswith("已并入在办工单")
    assert "重复投诉 破损 · 要求赔偿 · 工作台" in page.inner_text("#ticket-history")   # codes in words
    page.click("#ticket-actions [data-action=assign]")
    expect(page.locator("#ticket-owner")).to_have_text("王小明", timeout=WAIT_MS)   # a name, not a username
    page.fill("#edit-ticket input[name=notes]", "已联系网点核实")
    page.click("#edit-ticket button")
    expect(page.locator("#ticket-history")).to_contain_text("已联系网点核实", timeout=WAIT_MS)
    assert page.inner_text("#ticket-status") == "已受理"
    assert "10:00 建单 热线" in page.inner_text("#ticket-history")   # local time, in words
    assert "王小明: 已联系网点核实" in page.inner_text("#ticket-history")
    assert page.inner_text("#ticket-name") == "张先生" and page.inner_text("#ticket-demand")
    assert page.inner_text("#ticket-created").startswith("20") and "截止" in page.inner_text("#ticket-closure")
    assert re.search(r"截止 .+ · 剩余 \d+ 小时", page.inner_text("#ticket-closure"))  # the due time and the time left
    screenshots(page, "4-ticket-detail")
    # The complaint taken on the call makes its disposition 已建工单, naming that ticket.
    assert page.input_value("#finish select[name=disposition]") == "ticket_opened"
    assert page.inner_text("#finish-ticket b") == page.inner_text("#ticket-number")
    page.fill("#finish input[name=notes]", "破损，已登记理赔")
    page.click("#finish button")
    page.wait_for_selector("#state[data-state=wrap_up]")
    assert page.inner_text("#state") == "话后整理"
    expect(page.locator("#wrap-left")).to_contain_text(re.compile(r"剩余 \d+ 秒"), timeout=WAIT_MS)
    assert page.is_hidden("#hung-up")                                  # the agent ended it, not the caller
    assert page.inner_text("#pop-waybill") == "SF1234567890123"        # the screen pop stays through wrap-up
    assert page.is_hidden("#accept") and page.is_hidden("#finish")
    expect(page.locator("#my-calls")).to_have_text("1", timeout=WAIT_MS)
    assert "破损" in page.inner_text("#tickets")
    assert "剩余" in page.inner_text("#tickets")                        # time left to the SLA, counting down
    assert re.search(r"截止 20\d\d-\d\d-\d\d \d\d:\d\d", page.inner_text("#tickets"))  # and its due time
    page.check("#ticket-filters input[name=mine]")
    expect(page.locator("#tickets tbody tr")).to_have_count(1, timeout=WAIT_MS)
    page.fill("#ticket-filters input[name=q]", "nobody")
    expect(page.locator("#tickets tbody tr")).to_have_count(0, timeout=WAIT_MS)
    page.fill("#ticket-filters input[name=q]", "")
    screenshots(page, "5-wrap-up")
    # A ticket opens from the keyboard: Tab to its row, Enter.
    page.reload()
    row = page.locator("#tickets tbody tr").first
    expect(row).to_be_visible(timeout=WAIT_MS)
    assert page.is_hidden("#ticket")
    row.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#ticket-number")).to_have_text(row.locator("td").first.inner_text(), timeout=WAIT_MS)


def test_the_console_says_when_the_caller_hung_up(console_server, page, app):
    log_in(page, f"{console_server}/console/", "wang", "#desk")
    page.click("[data-set-state=available]")
    page.wait_for_selector("#state[data-state=offered]")
    page.click("#accept")
    page.wait_for_selector("#state[data-state=on_call]")
    sid = "CA" + "8" * 32
    assert signed_post(app.test_client(), "/voice/status", {"CallSid": sid, "CallStatus": "completed"}).status_code < 300
    expect(page.locator("#hung-up")).to_be_visible(timeout=WAIT_MS)
    assert page.inner_text("#hung-up") == "客户已挂机" and page.inner_text("#state") == "通话中"
    page.click("#finish button")                                       # the agent writes the call up
    page.wait_for_selector("#state[data-state=wrap_up]")
    assert page.is_visible("#hung-up")


def test_wrong_password_is_shown_and_english_is_available(console_server, page):
    log_in(page, f"{console_server}/console/?lang=en", "wang", "#error", password="wrong")
    assert page.inner_text("h1") == "Agent console"
    assert "wrong username or password" in page.inner_text("#error")
    assert page.is_hidden("#desk")
    log_in(page, f"{console_server}/console/", "wang", "#error", password="wrong")
    assert page.inner_text("#error") == "出错了: 工号或密码错误"          # Chinese by default, server words too
    assert page.get_by_role("alert").filter(has_text="工号或密码错误").is_visible()  # announced to screen readers


def test_an_expired_session_asks_to_log_in_again(console_server, page):
    log_in(page, f"{console_server}/console/", "wang", "#desk")
    page.context.clear_cookies()                                       # as when the session times out
    expect(page.locator("#expired")).to_be_visible(timeout=WAIT_MS)
    assert "登录已过期" in page.inner_text("#expired") and page.is_hidden("#desk")
    assert page.get_by_role("alert").filter(has_text="登录已过期").is_visible()  # announced
    page.click("#relogin")                                             # 重新登录: back to the login form
    page.wait_for_selector("#login:not([hidden])")
    assert page.is_hidden("#expired")
    log_in(page, page.url, "wang", "#desk")


@pytest.fixture
def wallboard_server(app, runner, demo_parcels):
    assert runner.invoke(args=["agents", "add", "boss", "--role", "supervisor", "--password", PASSWORD]).exit_code == 0
    assert runner.invoke(args=["agents", "add", "wang", "--name", "王小明", "--skills", "damaged",
                               "--password", PASSWORD]).exit_code == 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_wallboard_shows_a_simulated_call_within_seconds(wallboard_server, page, app):
    wang = app.test_client()                                           # wang goes to a meeting
    assert wang.post("/console/api/login", json={"username": "wang", "password": PASSWORD}).status_code == 200
    assert wang.post("/console/api/state", json={"state": "break", "reason": "meeting"}).status_code == 200
    log_in(page, f"{wallboard_server}/console/wallboard", "boss", "#board")
    expect(page.locator("#tile-waiting")).to_have_text("0", timeout=WAIT_MS)
    # The carrier simulator places a call that asks for an agent and waits in line.
    from ivr.simulator import SimulatedCall
    from tests.conftest import AUTH_TOKEN

    clock = app.config["CLOCK"]  # the caller holds on for 5 minutes of the hotline's time
    caller = threading.Thread(target=lambda: SimulatedCall(wallboard_server, AUTH_TOKEN, "13900001111", hold_s=300,
                                                           monotonic=clock.seconds).run(["0"]))
    caller.start()
    expect(page.locator("#tile-waiting")).to_have_text("1", timeout=WAIT_MS)
    assert "中文·综合咨询" in page.inner_text("#lines")
    # A wait past WALLBOARD_WAIT_ALERT_SECONDS (180 s) stands out in red.
    clock.advance(200)
    expect(page.locator("#lines tr.wait-alert")).to_have_count(1, timeout=WAIT_MS)
    assert "3 分钟" in page.inner_text("#lines tr.wait-alert")
    # One row per agent (the supervisor is not one): name, state in words, time in state (on the
    # hotline's clock, 200 s on).
    assert page.inner_text("#agents tbody").split("\t")[:2] == ["王小明", "未就绪 · 会议"]
    expect(page.locator("#agents tr[data-agent=wang] td:nth-child(3)")).to_have_text(re.compile(r"^3 分钟 \d+ 秒$"))
    assert page.inner_text("#agent-counts") == "未就绪 1"
    assert "语音导航中" in page.inner_text(".tiles") and "更新于" in page.inner_text("#updated")
    screenshots(page, "6-wallboard")
    # The reports are of the hotline's day and week (its clock, Asia/Shanghai), not the browser's.
    assert page.get_attribute("#daily", "href").startswith(
        f"/console/api/reports/daily?date={app.extensions['calling_hours'].local(app.config['CLOCK']()).date()}")
    report = page.request.get(wallboard_server + page.get_attribute("#daily", "href"))
    assert report.ok and "客服报表" in report.text()
    assert report.headers["content-disposition"].startswith("inline")  # opens in the browser
    clock.advance(200)                                                 # the caller gives up
    caller.join(WAIT_MS / 1000)
    assert not caller.is_alive()
    with app.app_context():  # a week's calls of every kind, for the weekly report to show
        from tests.test_reports import WRITTEN_OUTCOMES
        from tests.test_reports import call as record

        session = new_session()
        today = app.config["CLOCK"]().replace(tzinfo=None)
        session.add_all([record(f"CA-week-{n}", today - timedelta(days=n % 2, minutes=7 * n), 60 + 30 * n, "zh-CN", outcome, "SF")
                         for n, outcome in enumerate(WRITTEN_OUTCOMES)])
        session.commit()
        session.close()
    page.goto(wallboard_server + page.get_attribute("#weekly", "href"))
    expect(page.locator("h1")).to_contain_text("客服报表", timeout=WAIT_MS)
    screenshots(page, "7-weekly-report")


def test_an_agent_on_the_wallboard_is_told_it_is_for_supervisors(wallboard_server, page):
    log_in(page, f"{wallboard_server}/console/wallboard", "wang", "#error")
    assert page.inner_text("#error") == "需要主管权限" and page.is_hidden("#board")


@pytest.fixture
def phone_page(tmp_path):
    """Chromium with a fake microphone playing a WAV file (silence: this caller uses the keypad)."""
    from playwright.sync_api import sync_playwright

    microphone = tmp_path / "microphone.wav"
    microphone.write_bytes(write_wav(np.zeros(16000 * 30), 16000))
    with sync_playwright() as playwright:
        browser = launch(playwright, microphone)
        page = browser.new_page(viewport={"width": 1000, "height": 1200})
        yield page
        browser.close()


def test_softphone_calls_the_hotline_from_a_browser(console_server, phone_page, app):
    page = phone_page
    log_in(page, f"{console_server}/softphone", "wang", "#phone")
    page.click("#call")
    expect(page.locator("#transcript")).to_contain_text("请问有什么可以帮您", timeout=15000)
    page.wait_for_selector("[data-key='1']:not([disabled])")
    page.click("[data-key='1']")
    expect(page.locator("#transcript")).to_contain_text("请输入运单号", timeout=15000)
    for key in "1234567890123#":
        page.click(f"[data-key='{key}']")
    expect(page.locator("#transcript")).to_contain_text("请问您的快件是哪家快递公司的？顺丰请按1", timeout=15000)
    page.click("[data-key='1']")  # SF
    expect(page.locator("#transcript")).to_contain_text("确认请按1", timeout=15000)
    page.click("[data-key='1']")
    # The softphone has no caller ID: the hotline asks for the recipient's phone tail.
    expect(page.locator("#transcript")).to_contain_text("后四位", timeout=15000)
    for key in "8000":
        page.click(f"[data-key='{key}']")
    expect(page.locator("#transcript")).to_contain_text("正在运输中", timeout=15000)
    page.screenshot(path=str(OUTPUT / "6-softphone.png"), full_page=True)
    page.click("[data-key='0']")
    expect(page.locator("#status")).to_contain_text("排队等待坐席", timeout=15000)   # waiting for an agent
    # On hold music. (Polled by attribute: the page's CSP forbids the eval wait_for_function needs.)
    deadline = time.monotonic() + WAIT_MS / 1000
    while float(page.get_attribute("#level", "value")) <= 0.01:
        assert time.monotonic() < deadline, "no hold music while in line"
        page.wait_for_timeout(100)
    page.click("#hangup")                                                         # and leaves the line
    expect(page.locator("#status")).to_contain_text("已挂断")
    assert float(page.get_attribute("#level", "value")) == 0 and page.is_enabled("#call")
