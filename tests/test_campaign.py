"""The satisfaction campaign: contacts from closed tickets and re-delivered parcels, survey
calls answered by the simulated customer (human, machine, busy, no answer), low scores
escalated, opt-out honoured, pacing, and the CLI."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from callqueue import campaign
from callqueue.jobs import dial_callback
from callqueue.models import Callback, CallbackStatus, DoNotCall
from clock import to_naive_utc
from database import new_session
from ivr.simulator import answer_outbound
from tests.conftest import AUTH_TOKEN, client_transport
from tickets import ComplaintCategory, Demand, SlaPolicy, TicketStatus, apply, file_complaint


@pytest.fixture
def closed_ticket(app, clock):
    with app.app_context():
        session = new_session()
        ticket, _ = file_complaint(session, category=ComplaintCategory.DELAYED, name="张先生",
                                   waybill="SF1234567890123", demand=Demand.EXPLANATION, phone="13800138000",
                                   channel="hotline", now=to_naive_utc(clock()), sla=SlaPolicy())
        for trigger in ("assign", "respond", "forward_to_branch", "record_result", "confirm_with_customer", "close"):
            apply(session, ticket, trigger, now=to_naive_utc(clock()), actor="agent-1")
        ticket_id = ticket.id
        session.close()
    return ticket_id


def start_campaign(app, clock):
    with app.app_context():
        from callqueue.jobs import schedule_callback_job

        session = new_session()
        booked = campaign.run(session, now=clock(), hours=app.extensions["calling_hours"],
                              window=timedelta(days=3), schedule=schedule_callback_job)
        ids = [c.id for c in booked]
        session.close()
    return ids


def survey_call(app, answer_as, *keys):
    with app.app_context():
        session = new_session()
        callback_id = session.scalar(select(Callback.id).where(Callback.status == CallbackStatus.SCHEDULED))
        session.close()
        dial_callback(callback_id)
    client = app.test_client()
    from ivr.simulator import SimulatedCall

    original = SimulatedCall.__init__

    def through_test_client(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.transport = client_transport(client)

    SimulatedCall.__init__ = through_test_client
    try:
        return callback_id, answer_outbound("http://localhost", AUTH_TOKEN, answer_as, list(keys), wait_s=1)
    finally:
        SimulatedCall.__init__ = original


def state(app, callback_id, ticket_id=None):
    with app.app_context():
        session = new_session()
        callback = session.get(Callback, callback_id)
        result = {"status": callback.status, "outcomes": [a.outcome for a in callback.history]}
        if ticket_id:
            from tickets.models import Ticket

            ticket = session.get(Ticket, ticket_id)
            result |= {"score": ticket.survey_score, "ticket": ticket.status}
        session.close()
    return result


def test_a_human_scores_by_keypad(app, clock, closed_ticket, demo_parcels, runner):
    assert len(start_campaign(app, clock)) == 1
    callback_id, call = survey_call(app, "human", "5", "2")
    assert call.turns[0]["heard"].startswith("您好，这里是顺达快递客服，想占用您一分钟")
    # No recogniser on this line: keys only, never "请说".
    assert "请按1到5为本次服务打分：非常满意请按5，满意请按4，一般请按3，不满意请按2，非常不满意请按1。" in call.turns[0]["heard"]
    assert "说" not in call.turns[0]["heard"]
    assert call.turns[1]["heard"] == "您还有什么意见或建议吗？需要留言请按1，不需要请按2。"
    assert "感谢您的评价" in call.turns[-1]["heard"] and call.ended_by == "hangup"
    assert state(app, callback_id, closed_ticket) == {"status": CallbackStatus.COMPLETED, "outcomes": ["completed"],
                                                      "score": 5, "ticket": TicketStatus.CLOSED}
    assert "2026-11-24      1        1   100%   5.00" in runner.invoke(args=["campaign", "status"]).output


def test_a_low_score_reopens_and_escalates_the_ticket(app, clock, closed_ticket):
    start_campaign(app, clock)
    callback_id, call = survey_call(app, "human", "1", "2")
    assert "安排主管" in call.turns[-1]["heard"]
    assert state(app, callback_id, closed_ticket)["ticket"] is TicketStatus.ESCALATED


def test_a_spoken_comment_is_recorded_re_recorded_and_kept_with_the_ticket(app, clock, closed_ticket):
    start_campaign(app, clock)
    callback_id, call = survey_call(app, "human", "4", "1", ("say", "快递员态度很好"), "2",
                                    ("say", "快递员态度很好，就是慢了一天"), "1")
    heard = [turn["heard"] for turn in call.turns]
    assert heard[2] == "请在提示音后说出您的意见，说完请按井号键或停顿几秒。"
    assert heard[3] == heard[5] == "您的留言已录好。保存请按1，重新录制请按2。"
    assert "您的意见已记录" in heard[-1] and "感谢您的评价" in heard[-1]
    with app.app_context():
        session = new_session()
        callback = session.get(Callback, callback_id)
        from tickets.models import Ticket

        history = [(e.action, e.detail) for e in session.get(Ticket, closed_ticket).history]
        # Keypad-only (no zh-CN model here): the recording stays with the carrier, untranscribed.
        assert callback.survey_score == 4 and callback.survey_comment == ""
        assert callback.survey_recording.startswith("https://api.twilio.com/2010-04-01/Accounts/")
        assert history[-2:] == [("survey", "score 4"), ("survey_comment",
                                                         f"comment recorded ({callback.survey_recording})")]
        session.close()


def test_silence_instead_of_a_comment_asks_again_then_ends_politely(app, clock, closed_ticket):
    start_campaign(app, clock)
    callback_id, call = survey_call(app, "human", "5", "1", "", "", "")
    assert [t["heard"].count("请在提示音后说出您的意见") for t in call.turns[2:5]] == [1, 1, 1]
    assert "感谢您的评价" in call.turns[-1]["heard"] and call.ended_by == "hangup"
    assert state(app, callback_id, closed_ticket)["score"] == 5


def test_machine_busy_and_no_answer_are_retried_never_surveyed(app, clock, closed_ticket):
    start_campaign(app, clock)
    callback_id, call = survey_call(app, "machine")
    assert "我们稍后会再次致电" in call.turns[0]["heard"] and "回访" not in call.turns[0]["heard"]
    assert state(app, callback_id) == {"status": CallbackStatus.SCHEDULED, "outcomes": ["machine"]}
    for answer_as in ("busy", "no-answer"):
        _, sent = survey_call(app, answer_as)
        assert sent["status"] == answer_as
    assert state(app, callback_id) == {"status": CallbackStatus.FAILED, "outcomes": ["machine", "busy", "no-answer"]}


def test_opt_out_is_honoured_on_the_next_run(app, clock, closed_ticket, runner):
    start_campaign(app, clock)
    _, call = survey_call(app, "human", "9")
    assert "不会再给您打回访电话" in call.turns[-1]["heard"]
    with app.app_context():
        session = new_session()
        assert session.get(DoNotCall, "13800138000") is not None
        ticket_2, _ = file_complaint(session, category=ComplaintCategory.LOST, name="张先生", waybill="7712345678901",
                                     demand=Demand.COMPENSATION, phone="13800138000", channel="hotline",
                                     now=to_naive_utc(clock()), sla=SlaPolicy())
        ticket_2.status = TicketStatus.CLOSED
        session.commit()
        session.close()
    result = runner.invoke(args=["campaign", "run", "--dry-run"])
    assert "skip   138****8000   on the do-not-call list" in result.output
    assert start_campaign(app, clock) == []


def test_call_me_later_books_tomorrow_morning(app, clock, closed_ticket):
    start_campaign(app, clock)
    _, call = survey_call(app, "human", "8")
    assert "明天上午9点前后" in call.turns[-1]["heard"]


def test_re_delivered_parcels_are_contacts(app, demo_parcels):
    with app.app_context():
        session = new_session()
        from tracking.models import Parcel, ScanEvent
        from tracking.status import ParcelStatus

        parcel = session.scalar(select(Parcel).where(Parcel.waybill == "7712345678901"))
        parcel.scans.append(ScanEvent(at=parcel.last_scan_at + timedelta(days=1), location="哈尔滨南岗网点",
                                      status=ParcelStatus.SIGNED))
        parcel.scans[0].status = ParcelStatus.EXCEPTION
        parcel.status = ParcelStatus.SIGNED
        session.commit()
        reasons = [c.reason for c in campaign.plan(session).due]
        session.close()
    assert reasons == ["redelivered:7712345678901"]


def test_campaign_and_callbacks_commands(app, clock, closed_ticket, runner):
    dry = runner.invoke(args=["campaign", "run", "--dry-run"])
    assert dry.exit_code == 0 and "call   138****8000   at 2026-11-24 10:00  ticket_closed:" in dry.output
    assert "1 survey calls booked" in runner.invoke(args=["campaign", "run"]).output
    listing = runner.invoke(args=["callbacks", "list"]).output
    assert "survey  scheduled  2026-11-24 10:00  138****8000" in listing
    clock.now = clock.now.replace(hour=12)  # 20:00 in Shanghai
    booked = runner.invoke(args=["callbacks", "book", "13900001111", "--slot", "soonest"]).output
    assert "at 2026-11-25 08:30 (moved to the next opening of calling hours)" in booked
    assert runner.invoke(args=["callbacks", "book", "12"]).exit_code == 2
    status = runner.invoke(args=["campaign", "status"]).output
    assert "2026-11-24" in status and "not yet in the campaign: 0 due" in status


@pytest.mark.parametrize("limits", [{"OUTBOUND_CALLS_PER_SECOND": 1}, {"OUTBOUND_MAX_CONCURRENT": 1}])
def test_pacing_holds_calls_beyond_the_limits(make_app, clock, limits):
    app = make_app(**limits)  # the clock stands still: every call is placed in one second
    with app.app_context():
        from callqueue.callbacks import book_callback
        from callqueue.jobs import get_queue
        from redis_conn import get_redis

        session = new_session()
        ids = [book_callback(session, phone=f"1380013800{n}", slot="soonest", now=clock(),
                             hours=app.extensions["calling_hours"], reason="pacing")[0].id for n in range(3)]
        session.close()
        results = [dial_callback(i) for i in ids]
        retries = get_queue(get_redis()).scheduled_job_registry.get_job_ids()
    assert results == ["ringing", "paced", "paced"]
    assert len([r for r in retries if "-paced-" in r]) == 2


def test_two_workers_never_dial_past_the_concurrency_limit(make_app, clock, monkeypatch):
    """Two workers count the calls in progress at the same moment: without the admission lock both
    see none and both dial. Each count waits (up to 3 s) for the other worker to count too."""
    import threading

    from callqueue import jobs

    app = make_app(OUTBOUND_MAX_CONCURRENT=1)
    both_counted = threading.Barrier(2, timeout=3.0)  # long enough for a loaded machine to start both
    counted = jobs._over_pace

    def count_then_wait_for_the_other(*args):
        over = counted(*args)
        try:
            both_counted.wait()
        except threading.BrokenBarrierError:
            pass  # the other worker could not count meanwhile: it waits for the lock
        return over

    monkeypatch.setattr(jobs, "_over_pace", count_then_wait_for_the_other)
    monkeypatch.setattr(jobs, "ADMISSION_WAIT_S", 30)
    with app.app_context():
        from callqueue.callbacks import book_callback

        session = new_session()
        ids = [book_callback(session, phone=f"1380013800{n}", slot="soonest", now=clock(),
                             hours=app.extensions["calling_hours"], reason="race")[0].id for n in range(2)]
        session.close()
    results = {}

    def worker(callback_id):
        with app.app_context():
            results[callback_id] = dial_callback(callback_id)

    workers = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert sorted(results.values()) == ["paced", "ringing"]


def test_contacts_import_books_surveys_and_reports_bad_rows(app, clock, closed_ticket, demo_parcels, runner,
                                                            tmp_path):
    with app.app_context():
        session = new_session()
        from tickets.models import Ticket

        ticket_number = session.get(Ticket, closed_ticket).number
        session.add(DoNotCall(phone="13700000000", added_at=to_naive_utc(clock()), reason="test"))
        session.commit()
        session.close()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "waybill,phone,ticket,note\n"
        "YT1234567890123,139 0000 1111,,re-delivered on Monday\n"
        f",13800138000,{ticket_number},\n"
        ",12,,\n"
        ",13900002222,T-NONE,\n"
        ",13700000000,,\n"
        "YT1234567890123,13900001111,,the same delivery again\n"
        "SF0000000000000,13900003333,,no such parcel\n"
        ",n/a,,\n", encoding="utf-8")
    result = runner.invoke(args=["campaign", "import", str(contacts)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "2 created, 1 updated, 5 rejected"
    assert (f"{contacts}:4: phone ** is not a phone number (7 to 12 digits, or up to 15 after + and a country code)"
            in result.output)
    assert f"{contacts}:8: no parcel has waybill SF*********0000" in result.output
    assert f"{contacts}:9: phone 'n/a' holds no digits" in result.output
    assert f"{contacts}:5: unknown ticket 'T-NONE'" in result.output
    assert f"{contacts}:6: on the do-not-call list" in result.output
    assert "13700000000" not in result.output and "13900003333" not in result.output
    with app.app_context():
        session = new_session()
        booked = {c.reason: (c.phone, c.ticket_id, c.status) for c in session.scalars(select(Callback))}
        session.close()
    assert booked == {"imported:YT1234567890123": ("13900001111", None, CallbackStatus.SCHEDULED),
                      f"ticket_closed:{ticket_number}": ("13800138000", closed_ticket, CallbackStatus.SCHEDULED)}
    # The closed ticket's survey came from the file: the campaign does not book it again.
    assert start_campaign(app, clock) == []


@pytest.mark.parametrize("content, message", [
    (b"name,waybill\nx,y\n", "header lacks column(s) phone"),
    (b"\xff\xfephone\n", "not UTF-8 text"),
])
def test_an_unreadable_contacts_file_imports_nothing(runner, tmp_path, content, message):
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes(content)
    result = runner.invoke(args=["campaign", "import", str(contacts)])
    assert result.exit_code == 1 and message in result.output and "nothing imported" in result.output


def test_scripted_customers_answer_the_campaign_by_number(app, demo_parcels, clock, tmp_path, capsys):
    import threading

    from werkzeug.serving import make_server

    from ivr.simulator import main as simulator

    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone,waybill\n13900000001,SF1234567890123\n13900000002,YT9876543210987\n"
                        "13900000003,7712345678901\n", encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["campaign", "import", str(contacts)]).exit_code == 0
    with app.app_context():
        session = new_session()
        ids = {c.phone: c.id for c in session.scalars(select(Callback))}
        session.close()
        for callback_id in ids.values():
            assert dial_callback(callback_id) == "ringing"
    script = tmp_path / "phones.json"
    script.write_text('{"13900000001": {"as": "human", "dtmf": ["4", "2"]}, "13900000002": "busy", "*": "machine"}')
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = simulator(["answer", "--base-url", f"http://127.0.0.1:{server.server_port}", "--script", str(script),
                          "--calls", "3", "--wait", "5", "--auth-token", AUTH_TOKEN])
    finally:
        server.shutdown()
    assert code == 0 and len(capsys.readouterr().out.splitlines()) == 3
    with app.app_context():
        session = new_session()
        answered = {phone: (session.get(Callback, i).status, [a.outcome for a in session.get(Callback, i).history],
                            session.get(Callback, i).survey_score) for phone, i in ids.items()}
        session.close()
    assert answered == {"13900000001": (CallbackStatus.COMPLETED, ["completed"], 4),
                        "13900000002": (CallbackStatus.SCHEDULED, ["busy"], None),
                        "13900000003": (CallbackStatus.SCHEDULED, ["machine"], None)}


def test_a_bad_answer_script_is_a_clear_error(tmp_path, capsys):
    from ivr.simulator import main as simulator

    script = tmp_path / "phones.json"
    script.write_text("{not json")
    assert simulator(["answer", "--script", str(script), "--auth-token", "x"]) == 2
    assert "cannot read the script" in capsys.readouterr().out
