"""The self-service menu, agent hours, announcements and notices on an English hotline."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from database import new_session
from flows.places import has_chinese
from ivr.simulator import SimulatedCall
from tests.conftest import AUTH_TOKEN, client_transport
from tickets.models import Ticket
from tracking.demo import DEMO_CALLER


@pytest.fixture
def english(make_app, demo_parcels):
    return make_app(HOTLINE_LANGUAGE="en-US", HOTLINE_BRAND="Shunda Express")


def call(app, *inputs):
    result = SimulatedCall("http://localhost", AUTH_TOKEN, DEMO_CALLER, transport=client_transport(app.test_client()),
                           language="en-US").run(list(inputs))
    return " ".join(turn["heard"] for turn in result.turns)


def test_fee_quote_and_branch_information_in_english(english):
    assert "For pickups, delivery changes, returns, fees and branches, press 4." in call(english)
    quote = call(english, "4", "4", "310012", "200120", "2#")
    assert ("From Zhejiang to Shanghai, 2 kilograms: standard delivery costs 15 yuan and takes about 2 days. "
            "Express costs 32 yuan and takes about 1 day.") in quote
    assert "Sorry, we do not know that postal code." in call(english, "4", "4", "999999", "200120", "1#")
    branch = call(english, "4", "5", "310012")
    assert "is served by Hangzhou Xihu Branch, phone 0 5 7 1, 8 8 8 8, 6 6 6 6, open 8 am to 8 pm." in branch
    assert ("Pickup points nearby: Wensan Road Cainiao Station, 100 Wensan Road, 8 am to 9 pm; Hive Box Locker, "
            "Cuiyuan Zone 1 South Gate, 24 hours a day.") in branch
    assert "we have no branch information for that area" in call(english, "4", "5", "530000")


def test_a_suggestion_in_english_becomes_a_ticket(english):
    assert "Your message is registered as number" in call(english, "4", "6", ("say", "Please deliver on Sundays"), "1")
    with english.app_context():
        session = new_session()
        [ticket] = session.scalars(select(Ticket)).all()
        session.close()
    assert ticket.category.value == "suggestion"


def test_after_hours_in_english(english, clock):
    clock.now = datetime(2026, 11, 24, 22, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    text = call(english, "0", "1", "1")
    assert ("Our agents are available every day, 8:30 am to 6 pm; holidays may differ. "
            "They will be back at 8:30 am tomorrow.") in text
    assert "around 8:30 am tomorrow" in text.split("back at")[-1]
    assert "Your message is registered" in call(english, "0", "2", ("say", "Call me tomorrow"), "1")


def test_announcements_in_english(english):
    runner = english.test_cli_runner()
    assert runner.invoke(args=["announcements", "add", "Snow delays parcels to Harbin by a day or two.",
                               "--region", "哈尔滨"]).exit_code == 0
    assert runner.invoke(args=["announcements", "add", "We deliver as usual over New Year."]).exit_code == 0
    assert "We deliver as usual over New Year." in call(english)
    tracking = call(english, "1", "7712345678901#", "1")
    assert "Snow delays parcels to Harbin by a day or two." in tracking


def test_an_english_caller_hears_no_chinese(make_app, demo_parcels):
    app = make_app(HOTLINE_LANGUAGE="en-US")  # the default brand, 顺达快递
    runner = app.test_cli_runner()
    assert runner.invoke(args=["announcements", "add", "春节期间正常派送。"]).exit_code == 0
    assert runner.invoke(args=["announcements", "add", "We deliver as usual over New Year."]).exit_code == 0
    text = call(app, "1", "7712345678901#", "1")
    assert text.startswith("Hello, Shunda Express customer service.")
    assert "We deliver as usual over New Year." in text and "春节" not in text
    assert "Your parcel is held at Shenyang Sorting Center." in text
    assert not has_chinese(text), text


def test_pickups_and_delivery_changes_in_english(english):
    booked = call(english, "4", "1", "1", "1", "310012", "1", "3")
    assert "Last time we collected from Building 3, 100 Wensan Road, Xihu District, Hangzhou." in booked
    assert "A courier will collect your parcel tomorrow, from 1 to 6 pm." in booked
    assert "Your booking number is" in booked
    changed = call(english, "4", "2", "1234567890123#", "1", "1", "1", "4")  # SF, of the SF and YTO parcels
    assert "We have asked the delivery branch to deliver it on November 26, during the day." in changed
    refused = call(english, "4", "2", "0001234567890#", "7", "1")  # J&T
    assert "has been signed for or returned" in refused


def test_returns_holidays_and_notices_in_english(make_app, demo_parcels, clock, capsys):
    import json
    import threading

    from werkzeug.serving import make_server

    from callqueue.jobs import dial_callback
    from callqueue.models import Callback
    from ivr.simulator import main as simulator

    app = make_app(HOTLINE_LANGUAGE="en-US", HOTLINE_BRAND="Shunda Express", HOLIDAYS="2026-11-24")
    returned = call(app, "4", "3", "75123456789012#", "1", "1")
    assert "Returning this parcel to the sender costs 11 yuan." in returned and "The return to the sender" in returned
    holiday = call(app, "0")
    assert "They will be back at 8:30 am tomorrow." in holiday
    assert "1 notice calls booked" in app.test_cli_runner().invoke(
        args=["notices", "start", "--location", "郑州分拨中心"]).output
    with app.app_context():
        session = new_session()
        callback_id = session.scalar(select(Callback.id).where(Callback.kind == "notice"))
        session.close()
    clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)  # after the holiday
    with app.app_context():
        assert dial_callback(callback_id) == "ringing"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert simulator(["answer", "--base-url", f"http://127.0.0.1:{server.server_port}", "--dtmf", "9",
                          "--wait", "5", "--auth-token", AUTH_TOKEN]) == 0
    finally:
        server.shutdown()
    heard = json.loads(capsys.readouterr().out)["turns"][0]["heard"]
    assert "calling with news of your parcel. Your parcel ending 8 9 0 1 is held at Zhengzhou Distribution Center." in heard
