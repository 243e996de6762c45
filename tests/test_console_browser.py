"""The agent console in headless Chromium: log in, go available, get an offer with its screen
pop, accept, set a disposition. Screenshots are saved under test-output/ for review."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

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


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        yield page
        browser.close()


def log_in(page, url: str, username: str, shown: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login button")
    if shown:
        page.wait_for_selector(f"{shown}:not([hidden])")


def test_agent_takes_an_offered_call(console_server, page):
    log_in(page, f"{console_server}/console/", "wang", "#desk")
    page.screenshot(path=str(OUTPUT / "1-logged-in.png"), full_page=True)

    page.click("[data-set-state=available]")
    page.wait_for_selector("#state[data-state=offered]")
    assert page.inner_text("#pop-caller") == "138****8000"
    assert page.inner_text("#pop-waybill") == "SF1234567890123"
    assert page.inner_text("#pop-line") == "zh-CN:damaged"
    assert page.inner_text("#pop-category") == "破损"                 # words, not codes
    assert "武汉转运中心 运输中" in page.inner_text("#pop-scans")
    assert "破损 新建" in page.inner_text("#pop-tickets")
    assert "请选择投诉类型" in page.inner_text("#pop-ivr")
    page.screenshot(path=str(OUTPUT / "2-offer-screen-pop.png"), full_page=True)

    page.click("#accept")
    page.wait_for_selector("#state[data-state=on_call]")
    # The complaint form starts from the screen pop; this waybill has the ticket the IVR opened.
    assert page.input_value("#new-ticket input[name=waybill]") == "SF1234567890123"
    assert page.input_value("#new-ticket select[name=category]") == "damaged"
    page.fill("#new-ticket input[name=name]", "张先生")
    page.fill("#new-ticket input[name=phone]", "13800138000")
    page.fill("#new-ticket input[name=notes]", "外箱破损，客户要求赔偿")
    page.click("#new-ticket button")
    page.wait_for_selector("#ticket:not([hidden])")
    assert page.inner_text("#new-ticket-result").startswith("已并入在办工单")
    assert "重复投诉" in page.inner_text("#ticket-history")
    page.click("#ticket-actions [data-action=assign]")
    expect(page.locator("#ticket-owner")).to_have_text("wang", timeout=WAIT_MS)
    page.fill("#edit-ticket input[name=notes]", "已联系网点核实")
    page.click("#edit-ticket button")
    expect(page.locator("#ticket-history")).to_contain_text("已联系网点核实", timeout=WAIT_MS)
    assert page.inner_text("#ticket-status") == "已受理"
    assert "10:00 建单 via hotline" in page.inner_text("#ticket-history")   # local time, in words
    page.screenshot(path=str(OUTPUT / "3-ticket.png"), full_page=True)
    page.select_option("#finish select[name=disposition]", "ticket_opened")
    page.fill("#finish input[name=notes]", "破损，已登记理赔")
    page.click("#finish button")
    page.wait_for_selector("#state[data-state=wrap_up]")
    assert page.inner_text("#state") == "话后整理"
    assert "破损" in page.inner_text("#tickets")
    assert "分钟" in page.inner_text("#tickets")                        # time left to the SLA, in Chinese
    page.screenshot(path=str(OUTPUT / "4-after-call.png"), full_page=True)


def test_wrong_password_is_shown_and_english_is_available(console_server, page):
    log_in(page, f"{console_server}/console/?lang=en", "wang", "#error", password="wrong")
    assert page.inner_text("h1") == "Agent console"
    assert "wrong username or password" in page.inner_text("#error")
    assert page.is_hidden("#desk")


@pytest.fixture
def wallboard_server(app, runner, demo_parcels):
    assert runner.invoke(args=["agents", "add", "boss", "--role", "supervisor", "--password", PASSWORD]).exit_code == 0
    assert runner.invoke(args=["agents", "add", "wang", "--skills", "damaged", "--password", PASSWORD]).exit_code == 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_wallboard_shows_a_simulated_call_within_seconds(wallboard_server, page, app):
    log_in(page, f"{wallboard_server}/console/wallboard", "boss", "#board")
    expect(page.locator("#tile-waiting")).to_have_text("0", timeout=WAIT_MS)
    # The carrier simulator places a call that asks for an agent and waits in line.
    from ivr.simulator import SimulatedCall
    from tests.conftest import AUTH_TOKEN

    caller = threading.Thread(target=lambda: SimulatedCall(wallboard_server, AUTH_TOKEN, "13900001111",
                                                           hold_s=8).run(["0"]))
    caller.start()
    expect(page.locator("#tile-waiting")).to_have_text("1", timeout=5000)
    assert "zh-CN:general" in page.inner_text("#lines")
    assert page.inner_text("#agents").split() == ["offline", "2"]  # the supervisor can take calls too
    page.screenshot(path=str(OUTPUT / "5-wallboard.png"), full_page=True)
    report = page.request.get(wallboard_server + page.get_attribute("#daily", "href"))
    assert report.ok and "客服报表" in report.text()
    caller.join(15)


@pytest.fixture
def phone_page(tmp_path):
    """Chromium with a fake microphone playing a WAV file (silence: this caller uses the keypad)."""
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    microphone = tmp_path / "microphone.wav"
    microphone.write_bytes(write_wav(np.zeros(16000 * 30), 16000))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={microphone}",
            "--autoplay-policy=no-user-gesture-required"])
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
    expect(page.locator("#transcript")).to_contain_text("这个单号可能属于不同的快递公司", timeout=15000)
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
