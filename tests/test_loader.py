"""Flow files are checked strictly at load; `flows check` reports file, step and problem."""
from __future__ import annotations

import shutil

import pytest

from flows.cli import load_checked
from flows.errors import FlowError
from flows.loader import FLOWS_DIR, load_flow, mermaid

GOOD = """
name: tiny
start: a
steps:
  a: {say: greeting, next: b}
  b: {hangup: true, prompt: goodbye}
"""


def write(tmp_path, text, name="tiny.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, problem", [
    ("name: x\nstart: a\nsteps:\n  a: {say: greeting, next: nowhere}\n", "step 'a': goes to undefined step 'nowhere'"),
    ("name: x\nstart: z\nsteps:\n  a: {hangup: true}\n", "start step 'z' is not defined"),
    ("name: x\nstart: a\nsteps:\n  a: {dance: true}\n", "step 'a': needs exactly one of"),
    ("name: x\nstart: a\nsteps:\n  a: {say: greeting, hangup: true}\n", "needs exactly one of"),
    ("name: x\nstart: a\nsteps:\n  a: {hangup: true}\n  b: {hangup: true}\n", "unreachable step(s): b"),
    ("name: x\nstart: a\nsteps:\n  a: {say: greeting}\n", "a say step needs 'next'"),
    ("name: x\nstart: a\nsteps:\n  a: {menu: {prompt: p, options: {12: a}}}\n", "single digits"),
    ("name: x\nstart: a\nsteps:\n  a: {hangup: true, attempts: 2}\n", "'attempts' and 'exhausted' go together"),
    ("name: x\nstart: a\nsteps:\n  a: {run: x}\n", "needs 'outcomes'"),
    ("name: x\nstart: a\nsteps:\n  a: {hangup: true, colour: red}\n", "unknown key(s) for a hangup step: colour"),
    ("name: x\nstart: a\nsteps:\n  a: {record: {prompt: p}, next: a}\n", "record needs prompt and into"),
    ("name: x\nstart: a\nsteps:\n  a: {record: {prompt: p, into: v, max_seconds: 0}, next: a}\n",
     "positive whole seconds"),
    ("name: x\nstart: a\ndefaults: {options: {0: nowhere}}\nsteps:\n  a: {menu: {prompt: p, options: {1: a}}}\n",
     "goes to undefined step 'nowhere' (0)"),
    ("name: x\nstart: a\ndefaults: {options: [0]}\nsteps:\n  a: {menu: {prompt: p, options: {1: a}}}\n",
     "defaults.options maps single keys to steps"),
    ("name: x\nstart: a\nsteps: [1, 2]\n", "'steps' must be a non-empty mapping"),
    ("name: x\nstart: a\nsteps:\n  a: {say: [unclosed\n", "cannot read flow"),
    ("- just\n- a list\n", "a flow is a mapping"),
])
def test_broken_flows_name_file_step_and_problem(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(FlowError) as error:
        load_flow(path)
    assert str(error.value).startswith(str(path))
    assert problem in str(error.value)


def test_default_options_reach_every_menu_that_does_not_use_the_key(tmp_path):
    hotline = load_flow(FLOWS_DIR / "hotline.yaml")
    menus = [spec["menu"]["options"] for spec in hotline.steps.values() if "menu" in spec]
    assert len(menus) >= 20 and all(options["0"]["goto"] == "agent" for options in menus)
    flow = load_flow(write(tmp_path, """
name: tiny
start: a
defaults: {options: {0: c}}
steps:
  a: {menu: {prompt: p, options: {1: b}}}
  b: {menu: {prompt: p, options: {0: a}}}
  c: {hangup: true}
"""))
    assert flow.steps["a"]["menu"]["options"] == {"0": {"goto": "c"}, "1": {"goto": "b"}}
    assert flow.steps["b"]["menu"]["options"] == {"0": {"goto": "a"}}   # its own 0 wins
    diagram = mermaid(flow)
    assert "any_menu{{any menu}} -->|0| c" in diagram and "a -->|0| c" not in diagram and "b -->|0| a" in diagram


def copy_flows(tmp_path):
    target = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_missing_prompt_and_unknown_effect_are_caught(tmp_path):
    flows = copy_flows(tmp_path)
    (flows / "prompts" / "en-US.yaml").write_text(
        (flows / "prompts" / "en-US.yaml").read_text().replace("  goodbye:", "  farewell:"))
    with pytest.raises(FlowError, match=r"step 'goodbye': prompt 'goodbye' is missing from .*en-US.yaml"):
        load_checked(flows, flows / "prompts")
    flows = copy_flows(tmp_path / "again")
    hotline = flows / "hotline.yaml"
    hotline.write_text(hotline.read_text().replace("run: lookup_parcel", "run: teleport_parcel"))
    with pytest.raises(FlowError, match="step 'find_parcel': unknown effect 'teleport_parcel'"):
        load_checked(flows, flows / "prompts")


def test_flows_check_command(runner, tmp_path):
    result = runner.invoke(args=["flows", "check"])
    assert result.exit_code == 0, result.output
    assert "ok: hotline (" in result.output
    flows = copy_flows(tmp_path)
    (flows / "hotline.yaml").write_text((flows / "hotline.yaml").read_text().replace("next: main_menu", "next: main_menuu"))
    result = runner.invoke(args=["flows", "check", "--dir", str(flows)])
    assert result.exit_code == 1
    assert "hotline.yaml: step 'say_announcements': goes to undefined step 'main_menuu'" in result.output


def test_flows_check_fails_on_chinese_left_in_an_english_catalogue(runner, tmp_path):
    flows = copy_flows(tmp_path)
    english = flows / "prompts" / "en-US.yaml"
    english.write_text(english.read_text(encoding="utf-8").replace(
        "Hello, {brand} customer service.", "Hello, 顺达快递 customer service."), encoding="utf-8")
    result = runner.invoke(args=["flows", "check", "--dir", str(flows)])
    assert result.exit_code == 1
    assert "en-US.yaml: step 'greeting': Chinese left in the en-US catalogue" in result.output
    # The words prompts are built from (a carrier's name in a menu) are checked like the prompts.
    english.write_text(english.read_text(encoding="utf-8").replace("Hello, 顺达快递", "Hello, {brand}")
                       .replace("YTO: YTO Express", "YTO: 圆通"), encoding="utf-8")
    result = runner.invoke(args=["flows", "check", "--dir", str(flows)])
    assert result.exit_code == 1
    assert "step 'formats.carriers.YTO': Chinese left in the en-US catalogue: '圆通'" in result.output


def test_diagram_command(runner):
    result = runner.invoke(args=["flows", "diagram", "hotline"])
    assert result.exit_code == 0
    assert result.output.startswith("flowchart TD\n")
    for edge in ("main_menu -->|1| waybill_input", "main_menu -->|2| complaint_category",
                 "main_menu -->|3| callback_slot", "any_menu{{any menu}} -->|0| agent", "agent --> transfer_end"):
        assert edge in result.output
    assert runner.invoke(args=["flows", "diagram", "nope"]).exit_code == 1


def test_mermaid_of_a_small_flow(tmp_path):
    flow = load_flow(write(tmp_path, GOOD))
    assert mermaid(flow) == (
        "flowchart TD\n    start((start)) --> a\n"
        '    a["a<br/><i>say</i>"]\n    a --> b\n'
        '    b["b<br/><i>hangup</i>"]\n    b --> hangup_end((hangup))\n'
    )


def test_app_with_broken_flows_reports_it_in_health(make_app, monkeypatch, tmp_path):
    import flows.cli

    broken = copy_flows(tmp_path)
    (broken / "hotline.yaml").write_text("name: hotline\nstart: a\nsteps: {}\n")
    monkeypatch.setattr(flows.cli, "FLOWS_DIR", broken)
    monkeypatch.setattr(flows.cli.load_checked, "__defaults__", (broken, broken / "prompts"))
    app = make_app()
    assert "'steps' must be a non-empty mapping" in app.extensions["flow_error"]
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["flows"]["ok"] is False
