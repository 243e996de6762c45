"""Operator commands on bad input or with nothing to do: exit 1 with one clear line, no traceback."""
from __future__ import annotations

import json

import pytest

from callqueue.campaign import CONTACT_COLUMNS
from network.importer import BRANCH_COLUMNS, TARIFF_COLUMNS
from tracking.importer import REQUIRED_COLUMNS


def one_line_error(result) -> str:
    # a ClickException exits 1; anything else raised would be the traceback an operator sees
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ")
    return line


def test_pickups_for_an_unknown_branch(runner):
    assert one_line_error(runner.invoke(args=["pickups", "--branch", "NOSUCH"])) == "Error: no branch 'NOSUCH'"


def test_a_campaign_dry_run_with_nobody_to_call(runner):
    assert one_line_error(runner.invoke(args=["campaign", "run", "--dry-run"])) == "Error: nobody to call (0 skipped)"


@pytest.mark.parametrize("where, said", [(["--location", "火星分拨中心"], "no parcels held at 火星分拨中心"),
                                         (["--route", "义乌-火星", "--reason", "backlog"],
                                          "no parcels held on route 义乌-火星 for backlog")])
def test_a_notice_for_an_unknown_location_or_route(runner, demo_parcels, where, said):
    for dry_run in ([], ["--dry-run"]):
        assert one_line_error(runner.invoke(args=["notices", "start", *where, *dry_run])) == f"Error: {said}"


def test_a_report_to_a_folder_that_does_not_exist(runner, tmp_path):
    target = tmp_path / "nonexistent" / "x.html"
    line = one_line_error(runner.invoke(args=["report", "daily", "--date", "2026-11-24", "--output", str(target)]))
    assert line == f"Error: cannot write {target}: No such file or directory" and not target.parent.exists()


@pytest.mark.parametrize("command, header", [
    ("import-parcels", REQUIRED_COLUMNS), ("campaign import", CONTACT_COLUMNS),
    ("import-tariffs", TARIFF_COLUMNS), ("import-branches", BRANCH_COLUMNS)])
def test_a_csv_field_over_the_csv_limit_in_any_import(runner, tmp_path, command, header):
    path = tmp_path / "big.csv"
    path.write_text(",".join(header) + "\n" + "x" * 131_073 + "\n", encoding="utf-8")
    line = one_line_error(runner.invoke(args=[*command.split(), str(path)]))
    assert line.startswith(f"Error: {path}:2: not readable as CSV: field larger than field limit")
    assert line.endswith("nothing imported")


def test_a_five_million_character_name_is_refused_and_nothing_past_a_limit_is_stored(app, runner, tmp_path):
    from sqlalchemy import func, select

    from database import new_session
    from network.models import Branch
    from tracking.models import Parcel

    def parcel(number, name, location="杭州"):
        return {"waybill": f"SF123456789012{number}", "carrier": "SF", "status": "in_transit",
                "recipient_name": name, "last_scan_location": location}

    parcels = tmp_path / "parcels.json"  # JSON: a CSV cell that long is refused whole (above)
    parcels.write_text(json.dumps([parcel(3, "张" * 5_000_000), parcel(4, "李四", "杭" * 65), parcel(5, "王五")]),
                       encoding="utf-8")
    result = runner.invoke(args=["import-parcels", str(parcels)])
    assert result.exit_code == 1
    assert f"{parcels}:1: recipient_name is 5,000,000 characters; at most 64" in result.output
    assert f"{parcels}:2: last_scan_location is 65 characters; at most 64" in result.output
    branches = tmp_path / "branches.json"
    branches.write_text(json.dumps([{"code": "HZ-X", "name": "杭州", "area": "杭州市", "postcodes": "3100",
                                     "phone": "057188886666", "hours": "08:00-20:00",
                                     "pickup_points": [{"name": "驿站", "address": "路" * 201}]}]), encoding="utf-8")
    refused = runner.invoke(args=["import-branches", str(branches)])
    assert refused.exit_code == 1 and f"{branches}:1: address is 201 characters; at most 200" in refused.output
    with app.app_context():
        session = new_session()
        assert [p.recipient_name for p in session.scalars(select(Parcel))] == ["王五"]
        assert session.scalar(select(func.count(Branch.id))) == 0
        session.close()
