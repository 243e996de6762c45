"""Parcel import: columns by name, row errors with line numbers, upserts, unreadable files."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from importing import ImportFileError
from tracking.importer import import_file
from tracking.models import Parcel, ScanEvent

HEADER = ("last_scan_location,waybill,status,carrier,origin,destination,sender_phone,recipient_phone,"
          "recipient_name,expected_delivery,last_scan_at,exception_reason,warehouse_note")
GOOD_ROW = "杭州转运中心,SF1234567890123,运输中,顺丰,深圳,北京,02088886666,13800138000,张三,2026-11-26,2026-11-24 08:00,,extra"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def count(session, model=Parcel):
    return session.scalar(select(func.count(model.id)))


def test_csv_columns_by_name_in_any_order_with_extras_ignored(session, tmp_path):
    report = import_file(session, write(tmp_path, "p.csv", f"{HEADER}\n{GOOD_ROW}\n"))
    assert (report.created, report.updated, report.problems) == (1, 0, [])
    parcel = session.scalar(select(Parcel))
    assert (parcel.carrier, parcel.status.value, parcel.recipient_name) == ("SF", "in_transit", "张三")
    assert parcel.last_scan_location == "杭州转运中心" and parcel.keyed_digits == "1234567890123"
    assert [s.location for s in parcel.scans] == ["杭州转运中心"]


def test_malformed_rows_are_reported_with_line_and_reason_and_the_rest_imported(session, tmp_path):
    rows = [
        GOOD_ROW,
        "x,SF12,运输中,顺丰,,,,,,,,,",                                    # line 3: bad waybill
        "x,75123456789012,flying,ZTO,,,,,,,,,",                          # line 4: bad status
        "x,7712345678901,异常,STO,,,,,,,,,",                              # line 5: exception without reason
        "x,4312345678901,运输中,无名快递,,,,,,,,,",                        # line 6: unknown carrier
        "x,JD0012345678901,运输中,JD,,,,,,2026-13-45,,,",                  # line 7: bad date
        ",,,,,,,,,,,,",                                                   # line 8: missing fields
        "x,JT0001234567890,已揽收,JT,,,,,,,,,,too,many",                   # line 9: too many cells
        "沈阳,YT1234567890123,异常,YTO,,,,,,,2026-11-24 07:00,天气,",      # line 10: fine
    ]
    report = import_file(session, write(tmp_path, "p.csv", HEADER + "\n" + "\n".join(rows) + "\n"))
    assert report.created == 2
    problems = {p.line: p.reason for p in report.problems}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9]
    assert "does not fit the SF format" in problems[3]
    assert "unknown status 'flying'" in problems[4]
    assert "needs an exception_reason" in problems[5]
    assert "unknown carrier" in problems[6]
    assert "expected_delivery '2026-13-45' is not a date" in problems[7]
    assert problems[8].startswith("missing waybill, carrier, status")
    assert "too many cells" in problems[9]
    assert session.scalar(select(Parcel).where(Parcel.carrier == "YTO")).exception_reason.value == "weather"


def test_reimport_updates_and_never_duplicates(session, tmp_path):
    import_file(session, write(tmp_path, "a.csv", f"{HEADER}\n{GOOD_ROW}\n"))
    moved = GOOD_ROW.replace("杭州转运中心", "北京顺义网点").replace("运输中", "派送中").replace("08:00", "15:00")
    report = import_file(session, write(tmp_path, "b.csv", f"{HEADER}\n{moved}\n"))
    assert (report.created, report.updated) == (0, 1)
    assert count(session) == 1
    parcel = session.scalar(select(Parcel))
    assert parcel.status.value == "out_for_delivery"
    assert [s.location for s in parcel.scans] == ["杭州转运中心", "北京顺义网点"]
    import_file(session, write(tmp_path, "c.csv", f"{HEADER}\n{moved}\n"))
    assert count(session, ScanEvent) == 2


def test_json_with_full_scan_history(session, tmp_path):
    data = {"parcels": [{
        "waybill": "EE123456785CN", "carrier": "EMS", "status": "in_transit", "recipient_phone": "+8613800138000",
        "scans": [
            {"at": "2026-11-23 20:00", "location": "上海国际邮件处理中心", "status": "picked_up"},
            {"at": "2026-11-24 06:00", "location": "成都邮件处理中心", "status": "in_transit", "description": "到达"},
        ],
    }, {"waybill": "EE123456784CN", "carrier": "EMS", "status": "in_transit"}, "not an object"]}
    report = import_file(session, write(tmp_path, "p.json", json.dumps(data, ensure_ascii=False)))
    assert report.created == 1
    assert [(p.line, p.reason) for p in report.problems] == [
        (2, "waybill 'EE123456784CN' does not fit the EMS format"),
        (3, "not a record: 'not an object'"),
    ]
    parcel = session.scalar(select(Parcel))
    assert parcel.recipient_phone == "13800138000"
    assert [s.location for s in parcel.scans] == ["上海国际邮件处理中心", "成都邮件处理中心"]
    assert parcel.last_scan_location == "成都邮件处理中心"


@pytest.mark.parametrize("name, content, message", [
    ("p.csv", "\xff\xfe\x00garbage", "not UTF-8"),
    ("p.csv", "", "header lacks column(s) waybill, carrier, status"),
    ("p.csv", "name,phone\nx,y\n", "header lacks column(s) waybill, carrier, status"),
    ("p.json", '{"parcels": [', "invalid JSON"),
    ("p.json", '{"parcels": 3}', "expected a list of parcels"),
])
def test_unreadable_files_write_nothing(session, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_file(session, path)
    assert count(session) == 0


def test_import_command_reports_rows_and_exit_status(runner, tmp_path, app):
    good = write(tmp_path, "good.csv", f"{HEADER}\n{GOOD_ROW}\n")
    result = runner.invoke(args=["import-parcels", str(good)])
    assert result.exit_code == 0 and "1 created, 0 updated, 0 rejected" in result.output
    mixed = write(tmp_path, "mixed.csv", f"{HEADER}\n{GOOD_ROW}\nx,SF1,运输中,SF,,,,,,,,,\n")
    result = runner.invoke(args=["import-parcels", str(mixed)])
    assert result.exit_code == 1
    assert f"{mixed}:3: waybill 'SF1' does not fit the SF format" in result.output
    assert "0 created, 1 updated, 1 rejected" in result.output
    result = runner.invoke(args=["import-parcels", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and "cannot read" in result.output and "nothing imported" in result.output


def test_seed_demo_prints_waybills(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    for waybill in ("SF1234567890123", "75123456789012", "JD0012345678901", "EA123456785CN"):
        assert waybill in result.output
    again = runner.invoke(args=["seed-demo"])
    assert again.output == result.output


def test_imported_text_reaches_callers_only_as_speakable_words(session, tmp_path, call):
    hostile = f"{HEADER}\n" + GOOD_ROW.replace("杭州转运中心", '"-2+3<svg onload=alert(1)>武汉转运中心"')
    assert import_file(session, write(tmp_path, "p.csv", hostile + "\n")).problems == []
    status = call("1", "1234567890123#", "1", "1", "9").turns[4]["heard"]      # the demo caller's SF parcel
    assert "在2 3 武汉转运中心" in status and "<" not in status and "+" not in status


def test_the_demo_parcels_latest_scan_is_never_in_the_future(runner, app, clock):
    from datetime import UTC, datetime

    from database import new_session

    clock.now = datetime(2026, 11, 24, 16, 5, tzinfo=UTC)  # 00:05 on the 25th in Shanghai
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        session = new_session()
        scans = [parcel.last_scan_at for parcel in session.scalars(select(Parcel))]  # local, as imported
        session.close()
    assert scans and max(scans) <= datetime(2026, 11, 25, 0, 5)
