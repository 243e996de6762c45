"""Reports against a fixture day counted by hand (Asia/Shanghai, 2026-11-24), an empty day,
a day of only abandoned calls, the export formats, the CLI and the supervisor download."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from callqueue.models import Callback, CallbackStatus
from calls.records import CallRecord
from database import new_session
from reports import figures
from reports.export import export
from tickets.categories import ComplaintCategory, Demand
from tickets.models import Ticket, TicketStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
U = datetime  # fixture times are naive UTC, as stored


def call(sid, start, seconds, language, outcome, carrier="", direction="inbound"):
    return CallRecord(call_sid=sid, direction=direction, from_phone="13800138000", to_phone="4008", language=language,
                      started_at=start, ended_at=U.fromtimestamp(start.timestamp() + seconds),
                      outcome=outcome, carrier=carrier, events=[], transcript=[])


def ticket(number, category, waybill, created, responded=None, closed=None, score=None):
    from datetime import timedelta

    return Ticket(number=number, category=category, status=TicketStatus.CLOSED if closed else TicketStatus.NEW,
                  name="x", waybill=waybill, demand=Demand.COMPENSATION, phone="13800138000", channel="hotline",
                  created_at=created, first_response_due=created + timedelta(hours=1),
                  closure_due=created + timedelta(hours=24), first_responded_at=responded, closed_at=closed,
                  survey_score=score)


@pytest.fixture
def fixture_day(app, demo_parcels):
    with app.app_context():
        session = new_session()
        session.add_all([
            call("CA1", U(2026, 11, 24, 1, 5), 120, "zh-CN", "self_service", "SF"),      # 09:05 local
            call("CA2", U(2026, 11, 24, 1, 40), 300, "zh-CN", "complaint_filed", "SF"),  # 09:40
            call("CA3", U(2026, 11, 24, 2, 10), 60, "en-US", "abandoned"),               # 10:10
            call("CA4", U(2026, 11, 24, 6, 0), 600, "zh-CN", "transferred", "ZTO"),      # 14:00
            call("CA5", U(2026, 11, 24, 15, 59), 30, "ko-KR", "callback_booked"),        # 23:59
            call("CA6", U(2026, 11, 24, 16, 0), 30, "zh-CN", "self_service"),            # 00:00 the 25th
            call("CA7", U(2026, 11, 23, 15, 59), 30, "zh-CN", "self_service"),           # 23:59 the 23rd
            ticket("A", ComplaintCategory.DAMAGED, "SF9876543210987", U(2026, 11, 24, 1, 40),
                   responded=U(2026, 11, 24, 2, 10), closed=U(2026, 11, 24, 10, 0), score=5),
            ticket("B", ComplaintCategory.DELAYED, "SF1234567890123", U(2026, 11, 24, 2, 0),
                   responded=U(2026, 11, 24, 4, 0), closed=U(2026, 11, 25, 3, 0), score=1),
            ticket("C", ComplaintCategory.DAMAGED, "SF9876543210987", U(2026, 11, 24, 6, 0)),
        ])
        for status in (CallbackStatus.COMPLETED, CallbackStatus.SCHEDULED):
            session.add(Callback(phone="13800138000", slot="soonest", reason="ticket_closed", kind="survey",
                                 status=status, requested_at=U(2026, 11, 24, 3), due_at=U(2026, 11, 24, 3),
                                 created_at=U(2026, 11, 24, 3)))
        session.commit()
        session.close()


def build(app, period):
    with app.app_context():
        session = new_session()
        try:
            return figures.build(session, period)
        finally:
            session.close()


def test_fixture_day_counted_by_hand(app, fixture_day):
    report = build(app, figures.day(date(2026, 11, 24), SHANGHAI))
    calls = report["calls"]
    assert calls["total"] == 5
    assert {h: n for h, n in enumerate(calls["by_hour"]) if n} == {9: 2, 10: 1, 14: 1, 23: 1}
    assert calls["by_language"] == {"zh-CN": 3, "en-US": 1, "ko-KR": 1}
    assert calls["by_carrier"] == {"SF": 2, "none": 2, "ZTO": 1}
    assert calls["average_handling_s"] == 222.0           # (120 + 300 + 60 + 600 + 30) / 5
    assert calls["contained_in_ivr"] == 0.6               # self service, complaint, callback: 3 of 5
    assert calls["abandoned"] == 1
    tickets = report["tickets"]
    assert tickets["total"] == 3 and tickets["by_category"] == {"damaged": 2, "delayed": 1}
    assert tickets["first_response_in_time"] == 0.333     # only A within the hour
    assert tickets["closed_in_time"] == 0.333             # A in 8h20; B took 25 h; C open
    assert tickets["average_closure_h"] == 16.67          # (8.333 + 25) / 2
    assert report["satisfaction"] == {"surveys_due": 2, "reached": 1, "callback_rate": 0.5, "average_score": 3.0}
    routes = report["hot_spots"]["routes"]
    assert routes[0] == {"where": "东莞→长沙", "count": 2, "causes": {"damaged": 2}}  # two complaints, one parcel
    assert {"where": "深圳→北京", "count": 1, "causes": {"complaint": 1}} in routes


def test_an_empty_day_and_a_day_of_abandoned_calls(app):
    with app.app_context():
        session = new_session()
        empty = figures.build(session, figures.day(date(2026, 1, 1), SHANGHAI))
        assert empty["calls"]["total"] == 0 and empty["calls"]["average_handling_s"] is None
        assert empty["tickets"]["first_response_in_time"] is None and empty["hot_spots"]["routes"] == []
        session.add_all([call(f"CA{n}", U(2026, 1, 2, 2, n), 40, "zh-CN", "abandoned") for n in range(3)])
        session.commit()
        abandoned = figures.build(session, figures.day(date(2026, 1, 2), SHANGHAI))
        assert (abandoned["calls"]["abandoned"], abandoned["calls"]["contained_in_ivr"]) == (3, 0.0)
        for fmt in ("csv", "xlsx", "html"):
            assert export(empty, fmt) and export(abandoned, fmt)
        session.close()


def test_containment_counts_callers_served_before_hanging_up_and_sets_after_hours_apart(app):
    outcomes = ["self_served", "self_served", "after_hours", "caller_hung_up", "ended_in_ivr", "transferred",
                "callback_booked", "self_service"]  # the last as records before self_served said
    with app.app_context():
        session = new_session()
        session.add_all([call(f"CO{n}", U(2026, 3, 2, 2, n), 40, "zh-CN", outcome)
                         for n, outcome in enumerate(outcomes)])
        # Calls the hotline placed (a survey answered, a callback put through) count in no containment.
        session.add_all([call("OUT1", U(2026, 3, 2, 3), 40, "zh-CN", "completed", direction="outbound"),
                         call("OUT2", U(2026, 3, 2, 3, 5), 40, "zh-CN", "transferred", direction="outbound"),
                         call("OUT3", U(2026, 3, 2, 3, 9), 40, "zh-CN", "callback_booked", direction="outbound")])
        session.commit()
        calls = figures.build(session, figures.day(date(2026, 3, 2), SHANGHAI))["calls"]
        session.close()
    assert calls["contained_in_ivr"] == 0.5  # 2 self served, a callback and a legacy self service: 4 of 8 inbound
    assert calls["total"] == 11
    assert (calls["self_served"], calls["after_hours"]) == (3, 1)
    assert calls["by_outcome"]["after_hours"] == 1


def test_weekly_covers_monday_to_sunday(app, fixture_day):
    period = figures.week("2026-W48", SHANGHAI)
    assert (period.start.date().isoformat(), period.end.date().isoformat()) == ("2026-11-23", "2026-11-30")
    assert build(app, period)["calls"]["total"] == 7
    with pytest.raises(ValueError):
        figures.week("last week", SHANGHAI)


def test_exports(app, fixture_day):
    report = build(app, figures.day(date(2026, 11, 24), SHANGHAI))
    table = list(csv.reader(io.StringIO(export(report, "csv").decode("utf-8-sig"))))
    assert table[0] == ["section", "item", "value"] and ["calls", "total", "5"] in table
    assert ["calls", "hour_09", "2"] in table
    html = export(report, "html").decode()
    assert '<svg id="calls-by-hour"' in html and "东莞→长沙" in html and "<script" not in html
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(export(report, "xlsx")))
    assert workbook.sheetnames == ["report", "calls", "tickets", "satisfaction", "hot_spots"]
    assert ["total", 5] in [list(row) for row in workbook["calls"].iter_rows(values_only=True)]


def test_report_commands(fixture_day, runner, tmp_path):
    out = tmp_path / "day.csv"
    result = runner.invoke(args=["report", "daily", "--date", "2026-11-24", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0 and "calls,total,5" in out.read_text(encoding="utf-8-sig")
    assert runner.invoke(args=["report", "daily", "--date", "24/11/2026"]).exit_code == 2
    out = tmp_path / "week.html"
    assert runner.invoke(args=["report", "weekly", "--week", "2026-W48", "--output", str(out)]).exit_code == 0
    assert "2026-W48" in out.read_text()


def test_supervisors_download_reports(fixture_day, app, runner):
    runner.invoke(args=["agents", "add", "boss", "--role", "supervisor", "--password", "pw-123456"])
    runner.invoke(args=["agents", "add", "wang", "--password", "pw-123456"])
    client = app.test_client()
    client.post("/console/api/login", json={"username": "wang", "password": "pw-123456"})
    assert client.get("/console/api/reports/daily?date=2026-11-24").status_code == 403
    client.post("/console/api/login", json={"username": "boss", "password": "pw-123456"})
    response = client.get("/console/api/reports/daily?date=2026-11-24&format=xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert 'filename="report-2026-11-24.xlsx"' in response.headers["Content-Disposition"]
    assert client.get("/console/api/reports/daily?date=nope").status_code == 400
    assert client.get("/console/api/reports/monthly?date=2026-11-24").status_code == 404


def test_reports_per_language_and_carrier(app, fixture_day, runner, tmp_path):
    with app.app_context():
        session = new_session()
        zh = figures.build(session, figures.day(date(2026, 11, 24), SHANGHAI), language="zh-CN")
        sf = figures.build(session, figures.day(date(2026, 11, 24), SHANGHAI), carrier="SF")
        session.close()
    assert zh["scope"] == {"language": "zh-CN", "carrier": "all"} and zh["calls"]["total"] == 3
    assert sf["calls"]["total"] == 2 and sf["tickets"]["total"] == 3   # all three tickets are SF waybills
    out = tmp_path / "en.csv"
    result = runner.invoke(args=["report", "daily", "--date", "2026-11-24", "--language", "en-US", "--format", "csv",
                                 "--output", str(out)])
    assert result.exit_code == 0 and "calls,total,1" in out.read_text(encoding="utf-8-sig")


def test_exports_never_hold_live_formulas(app, fixture_day):
    from openpyxl import load_workbook

    report = build(app, figures.day(date(2026, 11, 24), SHANGHAI))
    report["scope"]["carrier"] = '=HYPERLINK("http://evil.example","SF")'
    report["calls"]["average_handling_s"] = "@SUM(1+1)"
    report["tickets"]["total"] = -3                               # a real negative number
    report["satisfaction"].update(note="-2+3", tab="\t=1", plain="东莞→长沙")
    table = list(csv.reader(io.StringIO(export(report, "csv").decode("utf-8-sig"))))
    assert ["report", "carrier", '\'=HYPERLINK("http://evil.example","SF")'] in table
    assert ["calls", "average_handling_s", "'@SUM(1+1)"] in table
    assert ["satisfaction", "note", "'-2+3"] in table and ["satisfaction", "tab", "'\t=1"] in table
    assert ["tickets", "total", "-3"] in table and ["satisfaction", "plain", "东莞→长沙"] in table
    workbook = load_workbook(io.BytesIO(export(report, "xlsx")))
    cells = {row[0].value: row[1] for row in workbook["report"].iter_rows(min_row=2)}
    assert cells["carrier"].data_type == "s" and cells["carrier"].value.startswith("=HYPERLINK")
    cells = {row[0].value: row[1] for row in workbook["tickets"].iter_rows(min_row=2)}
    assert cells["total"].value == -3 and cells["total"].data_type == "n"
    assert not [cell for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


def test_a_first_response_not_due_yet_counts_neither_way(app, fixture_day):
    # Just after midnight no ticket of the day was due a first response: "—", not 0%.
    with app.app_context():
        session = new_session()
        before_any = figures.build(session, figures.day(date(2026, 11, 24), SHANGHAI),
                                   now=datetime(2026, 11, 24, 0, 1, tzinfo=SHANGHAI))
        assert before_any["tickets"]["first_response_in_time"] is None
        assert export(before_any, "html").decode().count("<th>首次响应及时率</th><td>—</td>") == 1
        session.close()


def test_the_html_report_reads_in_words_with_percentages_and_charts(app, fixture_day):
    from console.words import REPORT_WORDS

    html = export(build(app, figures.week("2026-W48", SHANGHAI)), "html").decode()
    assert "by_outcome" not in html and "contained_in_ivr" not in html     # labels, not keys
    assert "按结果" in html and re.search(r"<th>自助完成率</th><td>\d+\.\d%</td>", html)  # a percentage
    assert '<svg id="calls-by-day"' in html and ">11-24<" in html          # the week day by day
    assert 'viewBox="0 0 ' in html and 'width="634"' not in html           # scales to the page
    english = export(build(app, figures.day(date(2026, 11, 24), SHANGHAI)), "html", REPORT_WORDS["en"]).decode()
    assert "First response in time" in english and "calls-by-day" not in english and '<html lang="en">' in english


WRITTEN_OUTCOMES = ("self_served", "complaint_filed", "callback_booked", "transferred", "answered_by_agent",
                    "agent_missed", "abandoned", "kept_place", "after_hours", "ended_in_ivr", "caller_hung_up",
                    "queue_redirected")  # every outcome a call record gets (README: Call outcomes)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_report_names_every_outcome_carrier_and_category_in_words(app, language):
    from console.words import REPORT_WORDS

    with app.app_context():
        session = new_session()
        session.add_all([call(f"CA{n}", U(2026, 11, 24, 2, n), 60, "zh-CN", outcome, "ZTO")
                         for n, outcome in enumerate(WRITTEN_OUTCOMES)])
        session.add(ticket("T1", ComplaintCategory.COURIER_ATTITUDE, "ZTO123456789012", U(2026, 11, 24, 2, 0)))
        session.commit()
        session.close()
    html = export(build(app, figures.day(date(2026, 11, 24), SHANGHAI)), "html", REPORT_WORDS[language]).decode()
    raw = [code for code in (*WRITTEN_OUTCOMES, "courier_attitude", "ZTO") if re.search(rf"(>|, ){code}( \d|<)", html)]
    assert raw == [], [m for c in raw for m in re.findall(rf".{{60}}{c}.{{20}}", html)]
    assert ("排队回电 1" if language == "zh-CN" else "kept place 1") in html


def test_hot_spots_hold_the_periods_exceptions_only(app):
    """A parcel held up weeks ago (and still marked so) is not one of this day's hot spots."""
    from tracking.models import Parcel
    from tracking.status import ExceptionReason, ParcelStatus

    def held_up(waybill, origin, scanned):
        return Parcel(waybill=waybill, keyed_digits=waybill[2:], carrier="SF", status=ParcelStatus.EXCEPTION,
                      exception_reason=ExceptionReason.WEATHER, origin=origin, destination="拉萨",
                      last_scan_at=scanned, last_scan_location=f"{origin}转运中心")

    with app.app_context():
        session = new_session()
        session.add_all([held_up("SF1000000000001", "成都", U(2026, 11, 24, 3, 0)),
                         held_up("SF1000000000002", "西宁", U(2026, 11, 3, 3, 0))])
        session.commit()
        spots = figures.build(session, figures.day(date(2026, 11, 24), SHANGHAI))["hot_spots"]
        session.close()
    assert spots["routes"] == [{"where": "成都→拉萨", "count": 1, "causes": {"weather": 1}}]
    assert [spot["where"] for spot in spots["scan_locations"]] == ["成都转运中心"]
