"""Branches and tariffs: imports with row-level errors, quotes, and areas by postal code."""
from __future__ import annotations

import pytest

from database import new_session
from network.provinces import province_for_postcode, province_named
from network.service import branch_for_postcode, quote


def test_provinces_by_postal_code_and_name():
    assert [province_for_postcode(c) for c in ("310012", "200120", "100000", "530001", "99000", "abcdef")] == [
        "浙江", "上海", "北京", "广西", None, None]
    assert [province_named(n) for n in ("浙江省", "Zhejiang", "广西壮族自治区", "北京市", "Atlantis")] == [
        "浙江", "浙江", "广西", "北京", None]


def test_import_tariffs_reports_bad_rows_and_updates_on_reimport(app, runner, tmp_path):
    tariffs = tmp_path / "tariffs.csv"
    tariffs.write_text(
        "origin,destination,carrier,service,max_kg,price,transit_days\n"
        "浙江省,上海,SF,express,1,22,1\n"
        "Zhejiang,Shanghai,ZTO,standard,1,12,2\n"
        "浙江,火星,SF,express,1,22,1\n"
        "浙江,上海,NOPE,express,1,22,1\n"
        "浙江,上海,SF,overnight,1,22,1\n"
        "浙江,上海,SF,express,0,22,1\n"
        "浙江,上海,SF,express,3,-5,1\n"
        "浙江,上海,SF,express,3,abc,1\n", encoding="utf-8")
    result = runner.invoke(args=["import-tariffs", str(tariffs)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "2 created, 0 updated, 6 rejected"
    for line, reason in ((4, "unknown province '火星' in destination"), (5, "unknown carrier 'NOPE'"),
                         (6, "service 'overnight' is not one of standard, express"), (7, "max_kg must be at least 1"),
                         (8, "price must be above 0"), (9, "price 'abc' is not a number")):
        assert f"{tariffs}:{line}: {reason}" in result.output
    tariffs.write_text("origin,destination,carrier,service,max_kg,price,transit_days\n浙江,上海,SF,express,1,20,1\n",
                       encoding="utf-8")
    assert runner.invoke(args=["import-tariffs", str(tariffs)]).output.splitlines()[-1] == "0 created, 1 updated, 0 rejected"
    with app.app_context():
        session = new_session()
        offers = quote(session, "浙江", "上海", 0.4)
        session.close()
    assert {s: (str(q.price), q.transit_days) for s, q in offers.items()} == {"express": ("20.00", 1),
                                                                             "standard": ("12.00", 2)}


def test_import_branches_from_json_and_csv_with_errors(app, runner, tmp_path):
    branches = tmp_path / "branches.json"
    branches.write_text('{"branches": [{"code": "NB-1", "name": "宁波网点", "area": "宁波", "postcodes": "3150",'
                        ' "phone": "0574-8888 1111", "hours": "08:00-18:00",'
                        ' "pickup_points": [{"name": "驿站", "address": "中山路1号", "hours": "09:00-21:00"}]},'
                        ' {"code": "NB-2", "name": "x", "postcodes": "31a", "phone": "057488881111", "hours": "8-18"},'
                        ' {"code": "NB-3", "name": "x", "postcodes": "3151", "phone": "1", "hours": "08:00-18:00"},'
                        ' {"code": "NB-4", "name": "x", "postcodes": "3152", "phone": "057488881111", "hours": "8-18"},'
                        ' "not a branch"]}', encoding="utf-8")
    result = runner.invoke(args=["import-branches", str(branches)])
    assert result.exit_code == 1 and result.output.splitlines()[-1] == "1 created, 0 updated, 4 rejected"
    assert f"{branches}:2: postcodes are postal-code prefixes" in result.output
    assert f"{branches}:3: phone '1' is not a phone number" in result.output
    assert f"{branches}:4: hours '8-18' are not HH:MM-HH:MM" in result.output
    assert f"{branches}:5: not a record: 'not a branch'" in result.output
    csv_file = tmp_path / "branches.csv"
    csv_file.write_text("code,name,area,postcodes,phone,hours,pickup_points\n"
                        "NB-1,宁波鄞州网点,宁波鄞州,3150 315100,057488881111,08:00-19:00,甲驿站|一号路|全天; 乙柜\n",
                        encoding="utf-8")
    assert runner.invoke(args=["import-branches", str(csv_file)]).exit_code == 0
    with app.app_context():
        session = new_session()
        branch = branch_for_postcode(session, "315100")
        session.close()
    assert (branch.name, branch.hours, branch.pickup_points) == ("宁波鄞州网点", "08:00-19:00", [
        {"name": "甲驿站", "address": "一号路", "hours": "全天"}, {"name": "乙柜", "address": "", "hours": ""}])


@pytest.mark.parametrize("command", ["import-tariffs", "import-branches"])
def test_an_unreadable_file_imports_nothing(runner, tmp_path, command):
    broken = tmp_path / "broken.csv"
    broken.write_text("code,name\nx,y\n", encoding="utf-8")
    result = runner.invoke(args=[command, str(broken)])
    assert result.exit_code == 1 and "header lacks column(s)" in result.output and "nothing imported" in result.output


def test_pickup_booking_numbers_carry_the_local_date(app, demo_parcels):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from network import pickups

    just_after_midnight = datetime(2026, 11, 25, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # the 24th in UTC
    with app.app_context():
        session = new_session()
        order = pickups.book(session, branch=branch_for_postcode(session, "310012"), phone="13800138000",
                             postcode="310012", slot="tomorrow_morning", local_now=just_after_midnight,
                             now=datetime(2026, 11, 24, 16, 30), address="文三路100号")
        number, order_id = order.number, order.id
        session.close()
    assert number == f"1125{order_id:04d}"
