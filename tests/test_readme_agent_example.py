"""The README's agents example, as written there: the agent it adds answers at the console and
the simulated caller files a complaint, asks for an agent, holds and is put through. The
command lines are read out of README.md, so the test fails when the README drifts."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from ivr.simulator import main
from tests.conftest import AUTH_TOKEN, client_transport

README = Path(__file__).resolve().parent.parent / "README.md"
PASSWORD = "s3cret-pass"  # the README leaves the password to the reader


def agents_example() -> list[str]:
    """The lines of the README's shell example that adds an agent."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    [block] = [block for block in blocks if " agents add " in block]
    return block.splitlines()


def example_command(marker: str) -> list[str]:
    """The words of the agents example's one command containing `marker`, without its comment."""
    [line] = [line for line in agents_example() if marker in line]
    return shlex.split(re.sub(r"\s#\s.*$", "", line))


class ConsoleAgent:
    """An agent at the console's JSON API who answers an offer `answer_after` seconds after it
    comes, looking whenever the caller's time passes (the caller's `sleep`)."""

    def __init__(self, app, clock, username: str, answer_after: float):
        self.console, self.clock, self.answer_after = app.test_client(), clock, answer_after
        self.offered_at = self.offer = self.accepted = None
        assert self.console.post("/console/api/login", json={"username": username, "password": PASSWORD}).status_code == 200
        assert self.console.post("/console/api/state", json={"state": "available"}).status_code == 200

    def look(self) -> None:
        if self.accepted is not None:
            return
        view = self.console.get("/console/api/me").get_json()
        if view["state"] == "offered" and self.offer is None:
            self.offer, self.offered_at = view["offer"], self.clock()
        if self.offer and (self.clock() - self.offered_at).total_seconds() >= self.answer_after:
            response = self.console.post("/console/api/accept", json={"call_sid": self.offer["call_sid"]})
            assert response.status_code == 200, response.get_json()
            self.accepted = response.get_json()


def test_the_readme_agent_example_files_a_complaint_and_reaches_the_agent(app, runner, demo_parcels, clock, capsys):
    add = example_command("agents add")
    assert runner.invoke(args=[*add[add.index("agents"):], "--password", PASSWORD]).exit_code == 0
    agent_line = example_command("ivr.simulator agent")
    agent = ConsoleAgent(app, clock, agent_line[agent_line.index("--agent") + 1],
                         float(agent_line[agent_line.index("--answer-after") + 1]))
    call = example_command("ivr.simulator call")
    hold_s = float(call[call.index("--hold") + 1])
    start = clock()

    time = clock.simulated_time()

    def caller_waits(seconds: float) -> None:
        time["sleep"](seconds)
        agent.look()  # the agent at the console meanwhile

    code = main([*call[call.index("ivr.simulator") + 1:], "--base-url", "http://localhost", "--auth-token", AUTH_TOKEN,
                 "--json"], transport=client_transport(app.test_client()), sleep=caller_waits,
                monotonic=time["monotonic"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and "error" not in result, result
    heard = " ".join(turn["heard"] for turn in result["turns"])
    assert "您的投诉已登记，工单号" in heard and "正在为您转接人工客服" in heard, heard
    assert agent.offer["call_sid"] == result["call_sid"] and agent.offer["line"] == "zh-CN:damaged"
    assert agent.offer["waybill"] == "SF1234567890123"
    assert result["queue"] == "agents" and result["agent"] == "client:wang"
    assert (clock() - start).total_seconds() < hold_s  # put through before the caller gave up
    assert agent.console.post("/console/api/finish", json={"disposition": "ticket_opened"}).status_code == 200
    [ticket] = agent.console.get("/console/api/tickets").get_json()["tickets"]
    assert (ticket["category"], ticket["waybill"], ticket["phone"]) == ("damaged", "SF1234567890123", "138****8000")
