"""Whole calls through the carrier simulator: signed webhooks, TwiML followed, keys pressed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from callqueue.models import Callback, CallbackStatus
from calls.records import CallRecord
from database import new_session
from tickets.models import Ticket, TicketStatus
from tracking.demo import DEMO_CALLER, OTHER_PHONE

SF_IN_TRANSIT = "1234567890123#"        # SF1234567890123, recipient is the demo caller
YTO_OTHERS = "9876543210987#"           # YT9876543210987, recipient 13912345678
# 13 keyed digits fit several carriers' formats: a caller not on exactly one such parcel is asked whose.
SF, YTO = "1", "2"  # of SF, YTO, JD and J&T, the carriers whose formats these digits fit
STO_WEATHER = "7712345678901#"          # exception: weather
STRANGER = "13700001111"


def heard(call) -> str:
    return " ".join(turn["heard"] for turn in call.turns)


def record_of(app, call) -> CallRecord:
    with app.app_context():
        session = new_session()
        record = session.scalar(select(CallRecord).where(CallRecord.call_sid == call.sid))
        session.close()
    return record


def test_greeting_on_answer_then_main_menu(call):
    result = call()
    assert result.turns[0]["heard"].startswith("您好，顺达快递客服，请问有什么可以帮您？")
    assert "查询快件请按1" in result.turns[0]["heard"]
    assert result.ended_by == "caller"


def test_known_parcel_with_matching_caller_id_hears_status(call, app):
    result = call("1", SF_IN_TRANSIT, SF, "1", "9")
    assert [t["pressed"] for t in result.turns[:5]] == ["1", SF_IN_TRANSIT, SF, "1", "9"]
    # The demo caller is on both SF1234567890123 and YT1234567890123: asked whose, never chosen for.
    # Only the carriers whose waybills these 13 digits could be, numbered in the order said.
    assert result.turns[2]["heard"] == "请问您的快件是哪家快递公司的？顺丰请按1，圆通请按2，京东请按3，极兔请按4。"
    assert "您要查询的单号是 1 2 3 4，5 6 7，8 9 0，1 2 3。" in result.turns[3]["heard"]  # in fours and threes
    status = result.turns[4]["heard"]
    assert "您的快件正在运输中，最新一次扫描是今天早上6点15分，在武汉转运中心" in status  # the clock's day, by name
    assert "预计明天送达" in status
    assert "后四位" not in heard(result)  # no identity question for the recipient's own phone
    assert record_of(app, result).outcome == "self_served"  # got the status, then hung up at the menu


def test_a_caller_who_hangs_up_before_being_served_hung_up(call, app):
    assert record_of(app, call("1")).outcome == "caller_hung_up"


def test_the_yto_parcel_sharing_the_sf_digits_is_reached_by_naming_the_carrier(call):
    result = call("1", SF_IN_TRANSIT, YTO, "1", "9")
    assert "您的快件已于" in result.turns[4]["heard"] and "成都高新网点" in result.turns[4]["heard"]


def test_the_carrier_menu_names_only_the_carriers_a_keyed_number_could_be(call):
    # Twelve digits from 7 are an SF or a ZTO waybill; no parcel has them, and the stranger is
    # asked the same as for a known number.
    twelve = call("1", "771234567890#", "2", "1", caller=STRANGER)
    assert twelve.turns[2]["heard"] == "请问您的快件是哪家快递公司的？顺丰请按1，中通请按2。"
    assert "后四位" in twelve.turns[4]["heard"]
    # A key past the carriers named is a wrong key: said so, and the menu again.
    wrong = call("1", SF_IN_TRANSIT, "5", SF, "1", "9")
    assert wrong.turns[3]["heard"] == ("抱歉，您的输入有误。 "
                                       "请问您的快件是哪家快递公司的？顺丰请按1，圆通请按2，京东请按3，极兔请按4。")
    assert "正在运输中" in wrong.turns[5]["heard"]


def test_exception_parcel_explains_reason_and_plan(call):
    result = call("1", STO_WEATHER, "1", "9")
    status = result.turns[3]["heard"]
    assert "滞留在沈阳转运中心" in status
    assert "天气影响" in status and "预计后天送达" in status


def test_stranger_with_right_phone_tail_hears_details(call):
    result = call("1", YTO_OTHERS, YTO, "1", "5678", "9", caller=STRANGER)
    assert "后四位" in result.turns[4]["heard"]
    assert "地址不详" in result.turns[5]["heard"]


def test_stranger_wrong_tail_twice_gets_no_details_and_an_agent_offer(call):
    result = call("1", YTO_OTHERS, YTO, "1", "0000", "1111", "0", caller=STRANGER)
    text = heard(result)
    assert text.count("单号或手机号后四位不符") == 2
    assert "无法核实您的身份" in text
    assert "昆明" not in text and "地址不详" not in text  # no parcel details leaked
    assert result.turns[-1]["heard"].startswith("正在为您转接人工客服")
    assert result.queue == "agents"


def test_a_caller_who_fails_the_identity_check_can_still_complain(call, app):
    result = call("2", "1", YTO_OTHERS, YTO, "1", "0000", "1111", "1", "1", "9", caller=STRANGER)
    text = heard(result)
    assert "您要投诉的快件单号是" in text
    assert "不能告知快件详情。我们仍会为您登记投诉，工单会注明身份未核实" in text
    assert "您的投诉已登记，工单号" in text and "运输中" not in text and "最新扫描" not in text
    with app.app_context():
        session = new_session()
        ticket = session.scalar(select(Ticket))
        assert (ticket.waybill, ticket.phone, ticket.name) == ("YT9876543210987", STRANGER, "")
        assert [e.action for e in ticket.history] == ["opened", "unverified"]
        session.close()
    assert record_of(app, result).outcome == "complaint_filed"


def test_an_unknown_waybill_is_checked_like_a_known_one_so_a_stranger_learns_nothing(call):
    known = call("1", YTO_OTHERS, YTO, "1", "0000", "1111", "9", caller=STRANGER)
    unknown = call("1", "9876543210988#", YTO, "1", "0000", "1111", "9", caller=STRANGER)
    # A number no parcel has is asked the carrier like one two carriers share.
    assert "9 8 7 6，5 4 3，2 1 0，9 8 8。" in unknown.turns[3]["heard"]  # read back as keyed
    assert heard(unknown) == heard(known).replace("9 8 7。", "9 8 8。")
    assert "单号或手机号后四位不符" in heard(unknown) and "没有查到" not in heard(unknown)


def test_wrong_tails_lock_a_waybill_across_calls_but_not_for_its_owner(call):
    for _ in range(2):                                       # four wrong tails from one stranger
        assert "无法核实您的身份" in heard(call("1", YTO_OTHERS, YTO, "1", "0000", "1111", "9", caller=STRANGER))
    fifth = call("1", YTO_OTHERS, YTO, "1", "2222", "9", caller="13700002222")
    assert "这个单号的核实次数已用完" in heard(fifth)
    assert "核实次数已用完" in fifth.turns[5]["heard"] and "人工服务请按0" in fifth.turns[5]["heard"]
    # Now even the right tail, from anyone, is refused, and the check tells nothing.
    right = call("1", YTO_OTHERS, YTO, "1", "5678", "9", caller="13700003333")
    assert "这个单号的核实次数已用完" in heard(right) and "后四位" not in heard(right)
    assert "地址不详" not in heard(right)
    # The recipient's own phone is verified by its caller ID and hears the status.
    owner = call("1", YTO_OTHERS, "1", "9", caller="13912345678")  # on exactly one: not asked whose
    assert "核实次数已用完" not in heard(owner) and "您的快件" in heard(owner)


def test_wrong_tails_lock_a_caller_across_waybills(make_app, demo_parcels):
    from ivr.simulator import SimulatedCall
    from tests.conftest import AUTH_TOKEN, client_transport

    app = make_app(IDENTITY_MAX_FAILURES_PER_CALLER=3)

    def place(*keys):
        simulated = SimulatedCall("http://localhost", AUTH_TOKEN, STRANGER, transport=client_transport(app.test_client()))
        return simulated.run(list(keys))

    place("1", "1111222233334#", YTO, "1", "0000", "1111", "9")   # two wrong, on a waybill that does not exist
    third = place("1", STO_WEATHER, "3", "1", "0000", "9")         # a third, on another waybill (STO: 3rd of 5)
    assert "核实次数已用完" in heard(third)
    assert "核实次数已用完" in heard(place("1", YTO_OTHERS, YTO, "1", "9"))   # locked before it is asked



def test_wrong_readback_lets_caller_key_again(call):
    result = call("1", SF_IN_TRANSIT, SF, "2", "75123456789012#", "1", "9")
    assert "请输入运单号" in result.turns[4]["heard"]
    assert "正在派送中" in result.turns[6]["heard"]


def test_star_repeats_the_menu_and_silence_reprompts(call):
    result = call("*", "", "0")
    assert result.turns[1]["heard"] == "查询快件请按1，投诉请按2，预约回电请按3，更多服务请按4，人工服务请按0，重听请按星号键。"
    assert result.turns[2]["heard"].startswith("抱歉，没有听到您的按键。")
    assert result.queue == "agents"


def test_invalid_key_three_times_goes_to_an_agent(call, app):
    result = call("7", "8", "6")
    assert heard(result).count("您的输入有误") == 3
    assert result.queue == "agents"
    assert record_of(app, result).outcome == "abandoned"  # the simulated caller gives up in the queue


def test_zero_reaches_an_agent_from_a_menu_that_does_not_offer_it(call):
    result = call("1", SF_IN_TRANSIT, SF, "0")          # at the read-back ("1 right, 2 again")
    assert "确认请按1，重新输入请按2" in result.turns[3]["heard"] and "人工" not in result.turns[3]["heard"]
    assert result.queue == "agents"


def test_agent_key_enqueues_with_no_estimate_while_no_agent_is_on_duty(call):
    result = call("0")
    assert result.queue == "agents"
    told = result.turns[-1]["heard"]
    assert "目前暂无客服在线" in told and "暂时无法估计等待时间" in told and "预计等待" not in told


def test_complaint_becomes_ticket_with_four_core_items(call, app, clock):
    result = call("2", "1", SF_IN_TRANSIT, SF, "1", "1", "1", "9")
    text = heard(result)
    assert "请选择投诉类型" in result.turns[0]["heard"] + result.turns[1]["heard"]
    assert "工单号" in text and "60分钟内首次回复，24小时内处理完毕" in text
    assert "您要投诉的快件单号是" in text and "您要查询的单号是" not in text
    assert result.ended_by == "hangup"
    with app.app_context():
        session = new_session()
        ticket = session.scalar(select(Ticket))
        assert (ticket.name, ticket.waybill, ticket.demand.value, ticket.phone) == (
            "张先生", "SF1234567890123", "compensation", DEMO_CALLER)
        assert ticket.category.value == "damaged" and ticket.status is TicketStatus.NEW
        assert ticket.first_response_due - ticket.created_at == (ticket.closure_due - ticket.created_at) / 24
        assert " ".join(ticket.number) in text
        session.close()
    assert record_of(app, result).outcome == "complaint_filed"


def test_a_complaint_after_hours_says_when_the_first_reply_comes(call, app, clock):
    shanghai_time(clock, 23, 50)  # agents are off until 08:30 tomorrow
    text = heard(call("2", "1", SF_IN_TRANSIT, SF, "1", "1", "1", "9"))
    assert "您的投诉已登记" in text and "60分钟内" not in text
    assert "现在是人工客服休息时间，客服将于明天早上8点半上线后首先给您回复，24小时内处理完毕。" in text


def test_a_caller_silent_in_a_submenu_reaches_an_agent(call):
    result = call("4", "", "", "")          # more services, then nothing three times
    assert heard(result).count("抱歉，没有听到您的按键。") == 3 and result.queue == "agents"


def test_a_caller_silent_after_hours_hears_why_the_call_ends(call, clock):
    shanghai_time(clock, 23, 50)
    result = call("0", "", "")
    assert "人工客服将于明天早上8点半上线" in heard(result)
    assert heard(result).endswith("抱歉，多次没有收到您的有效按键，本次通话将结束。如需帮助，欢迎再次来电。再见。")
    assert result.ended_by == "hangup"


def test_complaint_after_status_uses_verified_parcel_and_other_phone(call, app):
    result = call("1", SF_IN_TRANSIT, SF, "1", "2", "6", "2", "2", "13311112222#")
    assert "工单号" in heard(result)
    with app.app_context():
        session = new_session()
        ticket = session.scalar(select(Ticket))
        assert ticket.category.value == "signed_not_received"
        assert ticket.phone == "13311112222" and ticket.demand.value == "redelivery"
        session.close()


def test_repeat_complaint_links_to_open_ticket(call, app):
    first = call("2", "3", SF_IN_TRANSIT, SF, "1", "4", "1")
    second = call("2", "3", SF_IN_TRANSIT, SF, "1", "4", "1")
    assert "已有处理中的工单" in heard(second)
    with app.app_context():
        session = new_session()
        tickets = session.scalars(select(Ticket)).all()
        assert len(tickets) == 1
        assert [e.action for e in tickets[0].history] == ["opened", "repeat_complaint"]
        session.close()
    assert " ".join(tickets[0].number) in heard(first)


def test_callback_booking_is_stored_and_scheduled(call, app):
    result = call("3", "2", "1", caller=OTHER_PHONE)
    assert "已为您预约回电" in heard(result)
    assert "今天下午2点前后" in heard(result)
    with app.app_context():
        session = new_session()
        callback = session.scalar(select(Callback))
        assert callback.phone == OTHER_PHONE and callback.status is CallbackStatus.SCHEDULED
        session.close()
        from callqueue.jobs import get_queue
        from redis_conn import get_redis

        scheduled = get_queue(get_redis()).scheduled_job_registry.get_job_ids()
        assert scheduled == [f"callback-{callback.id}-attempt-1"]
    assert record_of(app, result).outcome == "callback_booked"


def test_callback_outside_hours_moves_and_says_so(call, clock):
    clock.now = clock.now.replace(hour=12)  # 20:00 in Shanghai
    result = call("3", "1", "1")
    text = heard(result)
    assert "已顺延到最近的服务时间" in text
    assert "明天早上8点半" in text


def test_call_record_keeps_events_and_transcript(call, app):
    result = call("1", SF_IN_TRANSIT, SF, "1", "9")
    record = record_of(app, result)
    assert record.from_phone == DEMO_CALLER and record.language == "zh-CN"
    assert [e["event"] for e in record.events][:3] == ["start", "digits", "digits"]
    assert record.transcript[0]["heard"].startswith("您好")
    assert record.carrier_status == "completed"


def test_english_hotline(make_app, demo_parcels):
    from ivr.simulator import SimulatedCall
    from tests.conftest import AUTH_TOKEN, client_transport

    app = make_app(HOTLINE_LANGUAGE="en-US", HOTLINE_BRAND="Shunda Express")
    simulated = SimulatedCall("http://localhost", AUTH_TOKEN, DEMO_CALLER,
                              transport=client_transport(app.test_client()))
    result = simulated.run(["1", SF_IN_TRANSIT, SF, "1", "9"])
    assert result.turns[0]["heard"].startswith("Hello, Shunda Express customer service.")
    assert result.turns[2]["heard"] == ("Which carrier is your parcel with? For SF Express, press 1. "
                                        "For YTO Express, press 2. For JD Logistics, press 3. For J and T Express, press 4.")
    assert "You want to track waybill 1 2 3 4, 5 6 7, 8 9 0, 1 2 3." in result.turns[3]["heard"]
    assert "Your parcel is in transit" in result.turns[4]["heard"]
    assert "It should arrive tomorrow." in result.turns[4]["heard"]


def test_after_the_maximum_wait_the_caller_keeps_their_place_unless_they_hold_on(make_app, clock):
    from callqueue.routing import distributor
    from ivr.simulator import SimulatedCall
    from redis_conn import get_redis
    from tests.conftest import AUTH_TOKEN, client_transport

    app = make_app(QUEUE_MAX_WAIT_SECONDS=0)  # every wait is already the longest allowed

    def caller(phone, *keys):
        return SimulatedCall("http://localhost", AUTH_TOKEN, phone, transport=client_transport(app.test_client()),
                             hold_s=30, **clock.simulated_time()).run(list(keys))

    quiet = caller("13900000001", "0")
    assert "抱歉让您久等了。我们将为您保留排队位置" in quiet.turns[-1]["heard"]
    assert "已为您保留排队位置，轮到您时我们会立即回电" in quiet.turns[-1]["heard"] and quiet.ended_by == "hangup"
    clock.now += timedelta(minutes=1)  # the second caller arrives later
    holding = caller("13900000002", "0", "2")
    assert "您前面还有1位客户" in holding.turns[-1]["heard"]  # the kept place ahead; asked once, then as usual
    assert holding.ended_by == "caller"                          # and hangs up in the end
    with app.app_context():
        acd = distributor(get_redis(), app.config)
        assert acd.call(quiet.sid)["status"] == "callback_waiting"
        assert acd.call(holding.sid)["status"] == "abandoned"
    assert record_of(app, quiet).outcome == "kept_place"


def shanghai_time(clock, hour, minute=0, day=24):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    clock.now = datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def test_at_22_00_a_caller_asking_for_an_agent_books_a_callback_for_the_morning(call, app, clock):
    shanghai_time(clock, 22)
    result = call("0", "1", "1")
    text = heard(result)
    assert "人工客服服务时间为每天早上8点半到下午6点，节假日另行安排。人工客服将于明天早上8点半上线" in text
    assert result.queue is None
    assert "已为您预约回电，我们将在明天早上8点半前后致电尾号8 0 0 0的号码" in text
    with app.app_context():
        session = new_session()
        [callback] = session.scalars(select(Callback)).all()
        session.close()
    assert (callback.phone, callback.status) == (DEMO_CALLER, CallbackStatus.SCHEDULED)


def test_on_a_holiday_self_service_goes_on_and_a_message_becomes_a_ticket(make_app, clock, demo_parcels):
    from ivr.simulator import SimulatedCall
    from tests.conftest import AUTH_TOKEN, client_transport

    app = make_app(HOLIDAYS="2026-11-24")
    client = app.test_client()

    def caller(*inputs):
        return SimulatedCall("http://localhost", AUTH_TOKEN, DEMO_CALLER, transport=client_transport(client)).run(
            list(inputs))

    tracking = caller("1", SF_IN_TRANSIT, SF, "1", "0")        # tracking works; the agent does not
    assert "正在运输中" in heard(tracking) and "人工客服将于明天早上8点半上线" in tracking.turns[-1]["heard"]
    assert record_of(app, tracking).outcome == "after_hours"  # wanted an agent after being served
    message = caller("0", "2", ("say", "请明天上午给我回电话"), "1")
    assert "您的留言已登记，编号" in message.turns[-1]["heard"]
    with app.app_context():
        session = new_session()
        [ticket] = session.scalars(select(Ticket)).all()
        session.close()
    assert (ticket.category.value, ticket.demand.value, ticket.channel, ticket.phone) == (
        "message", "call_back", "voicemail", DEMO_CALLER)
    assert ticket.recording.startswith("https://api.twilio.com/") and ticket.status is TicketStatus.NEW


def test_a_fee_quote_by_keypad(call):
    result = call("4", "4", "310012", "200120", "2#", "9", "9")
    text = heard(result)
    assert "运费查询请按4" in result.turns[1]["heard"]
    assert "从浙江寄往上海，2公斤： 标准快递15元，预计2天送达。 特快专递32元，预计1天送达。" in text
    unknown = call("4", "4", "990000", "200120", "5#")
    assert "没有找到这个邮政编码对应的地区" in heard(unknown)
    no_route = call("4", "4", "830000", "200120", "50#")
    assert "这条线路或重量暂时无法自助报价" in heard(no_route)


def test_branch_and_pickup_points_by_postal_code(call):
    result = call("4", "5", "310012", "9")
    text = heard(result)
    assert "杭州市西湖区由杭州西湖网点负责，网点电话 0 5 7 1，8 8 8 8，6 6 6 6，营业时间早上8点到晚上8点。" in text
    assert "附近的代收点有：文三路菜鸟驿站，文三路100号，早上8点到晚上9点；丰巢快递柜" in text
    assert "这个地区暂无网点信息" in heard(call("4", "5", "530000"))


def test_a_suggestion_is_recorded_and_becomes_a_ticket(call, app):
    result = call("4", "6", ("say", "希望周末也能上门取件"), "1")
    assert "您的留言已登记，编号" in result.turns[-1]["heard"]
    with app.app_context():
        session = new_session()
        [ticket] = session.scalars(select(Ticket)).all()
        session.close()
    assert (ticket.category.value, ticket.demand.value, ticket.channel) == ("suggestion", "none", "voicemail")


def test_announcements_after_the_greeting_and_for_parcels_in_scope(call, runner):
    def announce(*args):
        result = runner.invoke(args=["announcements", "add", *args])
        assert result.exit_code == 0, result.output

    announce("元旦假期1月1日至3日照常收派。", "--from", "2026-11-20", "--to", "2026-11-30")
    announce("受大雪影响，哈尔滨方向快件将延误1至2天。", "--region", "哈尔滨")
    announce("义乌至西安线路爆仓，预计延误2天。", "--route", "义乌-西安", "--carrier", "YUNDA")
    announce("去年的公告。", "--from", "2025-11-01", "--to", "2025-11-02")
    greeting = call("9")
    assert "元旦假期1月1日至3日照常收派。" in greeting.turns[0]["heard"] and "去年" not in greeting.turns[0]["heard"]
    weather = call("1", STO_WEATHER, "1", "9")                  # 南京 -> 哈尔滨
    assert "受大雪影响，哈尔滨方向快件将延误1至2天。" in heard(weather) and "义乌至西安" not in heard(weather)
    in_transit = call("1", SF_IN_TRANSIT, SF, "1", "9")            # 深圳 -> 北京: no scoped announcement
    assert "哈尔滨" not in heard(in_transit) and "义乌" not in heard(in_transit)
    backlog = call("1", "4312345678901#", "1", "9")            # YUNDA 义乌 -> 西安
    assert "义乌至西安线路爆仓，预计延误2天。" in heard(backlog)
    listing = runner.invoke(args=["announcements", "list"]).output
    assert "[carrier=YUNDA route=义乌-西安]" in listing and "[everyone]" in listing
    assert runner.invoke(args=["announcements", "add", "x", "--carrier", "NOPE"]).exit_code == 1
    assert runner.invoke(args=["announcements", "add", "x", "--from", "2026-12-02", "--to", "2026-12-01"]).exit_code == 1
    assert runner.invoke(args=["announcements", "remove", "1"]).exit_code == 0
    assert "元旦" not in call("9").turns[0]["heard"]


def pickup_orders(app):
    from network.models import PickupOrder

    with app.app_context():
        session = new_session()
        orders = [(o.number, o.phone, o.day.isoformat(), o.window, o.status, o.address, bool(o.address_recording))
                  for o in session.scalars(select(PickupOrder).order_by(PickupOrder.id))]
        session.close()
    return orders


def test_book_a_pickup_from_a_saved_address_then_change_and_cancel_it(call, app):
    booked = call("4", "1", "1", "1", "310012", "1", "2", "9")
    text = heard(booked)
    assert "您上次的取件地址是杭州市西湖区文三路100号3幢" in text
    assert "已为您预约明天上午9点到中午12点上门取件。" in text  # the window's hours from the data
    [(number, phone, day, window, status, address, recorded)] = pickup_orders(app)
    assert (phone, day, window, status, address, recorded) == (
        DEMO_CALLER, "2026-11-25", "morning", "booked", "杭州市西湖区文三路100号3幢", False)
    assert f"预约号 {' '.join(number)}" in text
    stranger = call("4", "1", "2", number, "", "", "", caller=STRANGER)   # not their booking
    assert "没有找到这个号码下您的预约" in heard(stranger)
    changed = call("4", "1", "2", number, "2", "3", "9")
    assert "您预约的是明天上午9点到中午12点的上门取件。取消预约请按1" in heard(changed)
    assert "已为您预约明天下午1点到6点上门取件。" in heard(changed)
    cancelled = call("4", "1", "2", number, "1", "9")
    assert "已为您取消预约" in heard(cancelled)
    assert [(o[2], o[3], o[4]) for o in pickup_orders(app)] == [("2026-11-25", "afternoon", "cancelled")]


def test_a_recorded_address_a_full_slot_and_an_unknown_area(make_app, demo_parcels, runner, tmp_path):
    from ivr.simulator import SimulatedCall
    from tests.conftest import AUTH_TOKEN, client_transport

    app = make_app()
    branches = tmp_path / "branches.csv"
    branches.write_text("code,name,area,postcodes,phone,hours,pickup_capacity\n"
                        "SH-PD,上海浦东营业部,上海市浦东新区,2001 2012,02166668888,08:30-19:30,1\n", encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["import-branches", str(branches)]).exit_code == 0

    def caller(phone, *inputs):
        return heard(SimulatedCall("http://localhost", AUTH_TOKEN, phone, transport=client_transport(app.test_client()))
                     .run(list(inputs)))

    first = caller(STRANGER, "4", "1", "1", "1", "200120", ("say", "浦东新区张江路500号"), "1", "9")
    assert "请在提示音后说出详细的取件地址" in first and "已为您预约今天下午1点到6点上门取件。" in first
    second = caller("13700002222", "4", "1", "1", "1", "200120", ("say", "张江路1号"), "1", "2", "9")
    assert "这个时段已经约满，请选择其他时段" in second and "已为您预约明天上午9点" in second
    assert [(o[1], o[3], o[6]) for o in pickup_orders(app)] == [(STRANGER, "afternoon", True),
                                                               ("13700002222", "morning", True)]
    listing = app.test_cli_runner().invoke(args=["pickups", "--branch", "SH-PD"]).output.splitlines()
    assert [line.split()[:3] for line in listing] == [["SH-PD", "2026-11-24", "afternoon"],
                                                      ["SH-PD", "2026-11-25", "morning"]]
    assert "137****1111" in listing[0] and "(recorded: " in listing[0]
    nowhere = caller(STRANGER, "4", "1", "1", "1", "530000")
    assert "该地区暂不提供上门取件服务" in nowhere


def test_this_afternoon_is_not_offered_once_it_has_begun(call, app, clock):
    shanghai_time(clock, 14)
    text = heard(call("4", "1", "1", "1", "310012", "1", "1", "9"))
    assert "今天下午请按1" not in text
    assert "今天的取件时段已过，请选择明天的时间：明天上午请按1，明天下午请按2。" in text
    assert "已为您预约明天上午9点" in text


def delivery_requests(app):
    from network.models import DeliveryRequest

    with app.app_context():
        session = new_session()
        requests = [(r.waybill, r.kind, r.detail) for r in session.scalars(select(DeliveryRequest))]
        session.close()
    return requests


def test_the_recipient_changes_the_day_the_pickup_point_or_the_address(call, app):
    day = heard(call("4", "2", SF_IN_TRANSIT, SF, "1", "1", "1", "9"))
    assert "已通知派送网点，改为明天上午派送。" in day
    point = heard(call("4", "2", "75123456789012#", "1", "2", "1", "9"))
    assert "可改投的代收点有：1，张江驿站，张江路500号" in point and "已为您改投到张江驿站" in point
    assert "收件地附近暂无可改投的代收点" in heard(call("4", "2", SF_IN_TRANSIT, SF, "1", "2"))   # 北京朝阳: none
    address = heard(call("4", "2", SF_IN_TRANSIT, SF, "1", "3", ("say", "北京市朝阳区建国路88号"), "9"))
    assert "地址修改已提交给派送网点，工单号" in address and "60分钟内与您确认" in address
    assert [(w, k) for w, k, _ in delivery_requests(app)] == [("SF1234567890123", "reschedule"),
                                                             ("75123456789012", "pickup_point"),
                                                             ("SF1234567890123", "address")]
    with app.app_context():
        session = new_session()
        [ticket] = session.scalars(select(Ticket)).all()
        session.close()
    assert ticket.category.value == "address_change" and ticket.recording.startswith("https://api.twilio.com/")


def test_changes_refused_to_strangers_senders_and_finished_parcels(call, app):
    stranger = heard(call("4", "2", YTO_OTHERS, YTO, "1", "0000", "0000", "9", caller=STRANGER))
    assert "人工服务请按0，返回主菜单请按9" in stranger and "更改派送时间" not in stranger
    sender = heard(call("4", "2", STO_WEATHER, "1", "9", caller="02088886666"))
    assert "只有收件人本人可以更改派送" in sender
    finished = heard(call("4", "2", "0001234567890#", "1", "9"))          # JT: returned already
    assert "已经签收或退回，无法再更改派送" in finished
    assert delivery_requests(app) == []


def test_return_to_sender_reads_the_fee_first(call, app):
    paid = heard(call("4", "3", "75123456789012#", "1", "1", "9"))       # 上海 -> 浙江, standard 1 kg
    assert "退回寄件人的运费为11元。" in paid and "已登记退回寄件人" in paid
    free = heard(call("4", "3", "9876543210987#", "1", "2", "9"))         # SF, damaged on the way: free
    assert "这个快件退回寄件人不收取运费。" in free and "已登记退回" not in free
    by_sender = heard(call("4", "3", STO_WEATHER, "1", "1", "9", caller="02088886666"))
    assert "退回运费由网点核定后告知您" in by_sender and "已登记退回寄件人" in by_sender
    assert [(w, k) for w, k, _ in delivery_requests(app)] == [("75123456789012", "return"), ("7712345678901", "return")]
