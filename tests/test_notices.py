"""Proactive notices end to end: the parcels one backlog holds, their recipients called within
calling hours through the simulator (human, machine, busy, no answer), never twice."""
from __future__ import annotations

import json
import threading

from sqlalchemy import select
from werkzeug.serving import make_server

from callqueue.jobs import dial_callback
from callqueue.models import Callback, CallbackStatus, DoNotCall
from clock import to_naive_utc
from database import new_session
from ivr.simulator import main as simulator
from tests.conftest import AUTH_TOKEN
from tracking.importer import import_records

HUB = "郑州分拨中心"


def held_parcels(app, clock):
    """Five more parcels held by the backlog at the hub (the demo has one), one on the do-not-call list."""
    with app.app_context():
        session = new_session()
        import_records(session, [(n, {
            "waybill": f"43000000000{n:02d}", "carrier": "YUNDA", "status": "exception", "exception_reason": "backlog",
            "origin": "义乌", "destination": "西安", "recipient_phone": f"1390000000{n}",
            "last_scan_location": HUB, "last_scan_at": "2026-11-23 09:00", "expected_delivery": "2026-11-26",
        }) for n in range(1, 6)])
        session.add(DoNotCall(phone="13900000005", added_at=to_naive_utc(clock()), reason="asked"))
        session.commit()
        session.close()


def notice_callbacks(app):
    with app.app_context():
        session = new_session()
        callbacks = {c.phone: c for c in session.scalars(select(Callback).where(Callback.kind == "notice"))}
        snapshot = {phone: (c.id, c.status, [a.outcome for a in c.history]) for phone, c in callbacks.items()}
        session.close()
    return snapshot


def test_a_backlog_notice_reaches_recipients_once_inside_calling_hours(app, clock, runner, demo_parcels, tmp_path,
                                                                        capsys):
    held_parcels(app, clock)
    dry = runner.invoke(args=["notices", "start", "--location", HUB, "--reason", "backlog", "--dry-run"])
    assert dry.output.count("call   ") == 5 and "skip   139****0005   on the do-not-call list" in dry.output
    started = runner.invoke(args=["notices", "start", "--location", HUB, "--reason", "爆仓"])
    assert "6 parcels affected: 5 notice calls booked, 1 skipped" in started.output
    again = runner.invoke(args=["notices", "start", "--location", HUB])
    assert "0 notice calls booked, 6 skipped" in again.output          # nobody is noticed twice
    booked = notice_callbacks(app)
    assert set(booked) == {"13800138000", "13900000001", "13900000002", "13900000003", "13900000004"}
    with app.app_context():
        for callback_id, _, _ in booked.values():
            assert dial_callback(callback_id) == "ringing"
    script = tmp_path / "phones.json"
    script.write_text(json.dumps({"13900000001": {"as": "human", "dtmf": ["9"]}, "13900000002": "machine",
                                  "13900000003": "busy", "13900000004": "no-answer",
                                  "13800138000": {"as": "human", "dtmf": ["2"]}}))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert simulator(["answer", "--base-url", f"http://127.0.0.1:{server.server_port}", "--script", str(script),
                          "--calls", "5", "--wait", "5", "--auth-token", AUTH_TOKEN]) == 0
    finally:
        server.shutdown()
    calls = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    told = [c for c in calls if "turns" in c and "快件目前在郑州分拨中心暂时滞留" in c["turns"][0]["heard"]]
    assert len(told) == 2 and all("转运中心爆仓" in c["turns"][0]["heard"] for c in told)
    assert any("已为您预约回电" in " ".join(t["heard"] for t in c["turns"]) for c in told)
    outcomes = {phone: (status, history) for phone, (_, status, history) in notice_callbacks(app).items()}
    assert outcomes == {
        "13900000001": (CallbackStatus.COMPLETED, ["completed"]),
        "13800138000": (CallbackStatus.COMPLETED, ["completed"]),
        "13900000002": (CallbackStatus.SCHEDULED, ["machine"]),      # a short message; tried again later
        "13900000003": (CallbackStatus.SCHEDULED, ["busy"]),
        "13900000004": (CallbackStatus.SCHEDULED, ["no-answer"]),
    }


def test_a_notice_started_at_night_calls_nobody_before_the_morning(app, clock, runner, demo_parcels):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    held_parcels(app, clock)
    clock.now = datetime(2026, 11, 24, 22, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    dry = runner.invoke(args=["notices", "start", "--route", "义乌-西安", "--dry-run"]).output
    assert "at 2026-11-25 08:30" in dry
    runner.invoke(args=["notices", "start", "--route", "义乌-西安"])
    with app.app_context():
        session = new_session()
        callbacks = session.scalars(select(Callback).where(Callback.kind == "notice")).all()
        dues = {c.due_at for c in callbacks}
        ids = [c.id for c in callbacks]
        session.close()
        assert dues == {datetime(2026, 11, 25, 0, 30)} and len(ids) == 5
        assert {dial_callback(i) for i in ids} == {"closed"}           # a job firing early is held back


def test_bad_notice_requests_are_clear_errors(runner):
    assert "name a --location or a --route" in runner.invoke(args=["notices", "start"]).output
    result = runner.invoke(args=["notices", "start", "--location", HUB, "--reason", "aliens"])
    assert result.exit_code == 2 and "exception reason" in result.output


def test_the_rule_starts_notices_for_a_large_enough_batch_by_itself(make_app, clock, demo_parcels):
    from callqueue.ticker import tick_once

    app = make_app(NOTICE_RULE_MIN_PARCELS=6)
    tick_once(app, 0)
    assert notice_callbacks(app) == {}                   # one parcel held at the hub: below the rule
    held_parcels(app, clock)
    tick_once(app, 0)
    tick_once(app, 60)                                   # the next minute: nobody booked twice
    assert len(notice_callbacks(app)) == 5               # six held, one on the do-not-call list
