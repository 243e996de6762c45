"""Chaos run: the production setup on real servers, faults injected while calls and callbacks run.

    python -m bench.chaos --json
    python -m bench.chaos --faults redis_restart --calls 6 --json   # one fault, fewer calls

A real redis-server and PostgreSQL (scripts/real-servers.sh starts them, on free ports in a
temporary folder; this module runs itself under that script), then as the README's production
section runs them: gunicorn -w 2 -k gthread --threads 32, two `callqueue.worker`, one
`callqueue.ticker`. Per fault, --calls simulated callers (ivr.simulator: keypad tracking calls,
complaints that go to the agents' line, callback bookings) arrive while simulated agents answer
at the console (run_agent) and a simulated customer's phone answers every callback placed. The
fault comes a few seconds in; exit status 1 when any count below is not zero. The baseline, run
first in the same invocation: the same callers, agents and phone with no fault injected.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

from bench.figures import print_figures
from bench.servers import free_port
from ivr.simulator import CallFailed, SimulatedCall, answer_outbound, run_agent

FAULTS = ("redis_restart", "postgres_stop", "web_worker_kill", "rq_worker_kill")
REDIS_DOWN_S, POSTGRES_DOWN_S = 4.0, 10.0
FAULT_AT_S = 5.0        # the fault comes this long after the phase's first call
CALLBACK_SETTLE_S = 30.0  # at the end, how long a callback still not dialled gets
PHASE_DRAIN_S = 75.0    # how long a phase's callers and callbacks get to finish after the fault
TOKEN, PASSWORD, WAYBILL = "chaos", "chaos-pass", "1234567890123"
SF = "1"  # its key in the carrier menu: the demo caller has parcels of these digits with SF and YTO
CALLBACK_PROMISE = "已为您预约回电"   # what a caller hears when a callback is booked for them
DEMO_CALLER = "13800138000"  # the demo parcels' recipient: tracking and complaints pass the phone check
APOLOGY = "系统暂时出现问题"
AGENTS = ("chaos1", "chaos2", "chaos3")
CALLERS = {  # keys pressed (SF picked from the carrier menu): tracking; a damaged-parcel complaint,
    # then 0 for an agent; a callback soonest
    "tracking": ["1", WAYBILL, SF, "1"],
    "complaint": ["2", "1", WAYBILL, SF, "1", "1", "1", "0"],
    "callback": ["3", "1", "1"],
}
METHOD = (
    "Baseline: the same calls, agents and phone with no fault injected, run first in the same invocation "
    "(under \"baseline\", each fault's figures to be compared with it). "
    "Real redis-server and PostgreSQL 15 (scripts/real-servers.sh), gunicorn -w 2 -k gthread --threads 32, two "
    "callqueue.worker and one callqueue.ticker, calling hours all day. For each fault in turn, N simulated callers "
    "(ivr.simulator, signed webhooks, a third each tracking / complaint to an agent / callback booking) start over "
    f"{FAULT_AT_S:.0f} s while 3 simulated agents answer at the console API and a simulated phone answers every "
    "callback the carrier simulator is asked to place; the fault comes at "
    f"{FAULT_AT_S:.0f} s: Redis shut down (saving) and restarted after {REDIS_DOWN_S:.0f} s, PostgreSQL stopped for "
    f"{POSTGRES_DOWN_S:.0f} s, one gunicorn worker SIGKILLed, one RQ worker SIGKILLed while callbacks are placed. "
    "Counted at the carrier simulator: calls_started (incoming webhooks sent); calls_stranded (a caller whose call "
    "ended in an error, or a complaint or callback caller who was neither connected to an agent nor heard a "
    "callback promise that the carrier then saw dialled, or a tracking caller who heard the apology and got "
    "neither); call_records_lost (calls started without a row in call_records once the phase drained); "
    "tickets_lost (ticket numbers read out to complaint callers with no such ticket stored); "
    "callbacks_doubled / callbacks_lost (numbers promised a callback dialled more than once / never, by the "
    "placed calls the simulated phone took, counted again at the end of the run after up to "
    f"{CALLBACK_SETTLE_S:.0f} s more, so a callback dialled after its phase is reported late, not lost); "
    "recovery_s (from the server back, or the kill, or in the baseline the moment the fault would come, to the first "
    "incoming webhook answered 200 without the apology, probed every 0.2 s)."
)


class Servers:
    """The real servers real-servers.sh started, stopped and started again as it started them."""

    def __init__(self):
        self.folder = Path(os.environ["REAL_SERVERS_DIR"])
        self.pg_bin = Path(os.environ["REAL_SERVERS_PG_BIN"])
        self.redis_port = int(os.environ["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])

    def _as_postgres(self, *command: str) -> None:
        # PostgreSQL refuses to run as root (real-servers.sh runs it as the postgres user).
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL)

    def redis_down(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.redis_port), "shutdown", "save"], stdout=subprocess.DEVNULL)

    def redis_up(self) -> None:
        subprocess.Popen(["redis-server", str(self.folder / "redis.conf"), "--daemonize", "yes"],
                         stdout=subprocess.DEVNULL).wait()

    def postgres_down(self) -> None:
        self._as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.folder / "pg"), "-m", "fast", "-w", "stop")

    def postgres_up(self) -> None:
        self._as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.folder / "pg"), "-l",
                          str(self.folder / "pg" / "log"), "-w", "start")


class Hotline:
    """gunicorn, two RQ workers and the ticker, as the README's production section runs them."""

    def __init__(self, folder: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.environment = {**os.environ, "HOTLINE_INSTANCE": folder, "TWILIO_AUTH_TOKEN": TOKEN,
                            "SECRET_KEY": "chaos", "CALLING_HOURS": "00:00-24:00",
                            "AGENT_HOURS": "00:00-24:00", "PYTHONPATH": os.getcwd()}
        self.log = open(Path(folder) / "processes.log", "ab")
        self.web = self.workers = self.ticker = None

    def flask(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], env=self.environment, check=True,
                       stdout=self.log, stderr=self.log)

    def _start(self, *command: str) -> subprocess.Popen:
        return subprocess.Popen(list(command), env=self.environment, stdout=self.log, stderr=self.log)

    def start(self) -> None:
        self.flask("db", "upgrade")
        for agent in AGENTS:
            self.flask("agents", "add", agent, "--role", "agent", "--skills", "damaged", "--password", PASSWORD)
        self.web = self._start(sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "32",
                               "-b", f"127.0.0.1:{self.port}", "app:create_app()")
        self.workers = [self._start(sys.executable, "-m", "callqueue.worker") for _ in range(2)]
        self.ticker = self._start(sys.executable, "-m", "callqueue.ticker")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit("chaos: the hotline never became healthy: see processes.log")

    def web_workers(self) -> list[psutil.Process]:
        return psutil.Process(self.web.pid).children()

    def kill_rq_worker(self) -> None:
        """SIGKILL one worker (its scheduler child is left to recovery too), and start one in its place,
        as a supervisor would."""
        victim = self.workers.pop(0)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.workers.append(self._start(sys.executable, "-m", "callqueue.worker"))

    def stop(self) -> None:
        for process in [self.web, self.ticker, *(self.workers or [])]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [self.web, self.ticker, *(self.workers or [])]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.log.close()


def heard(call: SimulatedCall) -> str:
    return " ".join(turn["heard"] for turn in call.turns)


def place_caller(base: str, kind: str, number: str, results: list) -> None:
    call = SimulatedCall(base, TOKEN, number, hold_s=60.0)
    started = time.monotonic()
    try:
        call.run(list(CALLERS[kind]))
    except CallFailed as error:
        call.error = str(error)
    results.append({"kind": kind, "number": number, "sid": call.sid, "heard": heard(call), "error": call.error,
                    "agent": call.connected_to, "started": started})


def probe_recovery(base: str, since: float, stop: threading.Event) -> float | None:
    """Seconds from `since` to the first incoming webhook answered as a call should be."""
    while not stop.is_set():
        call = SimulatedCall(base, TOKEN, "13900000000")
        try:
            status, body = call.post("/voice/incoming", call.params())
            call.post("/voice/status", call.params(CallStatus="completed"))
        except CallFailed:
            status, body = 0, ""
        if status == 200 and APOLOGY not in body:
            return round(time.monotonic() - since, 2)
        time.sleep(0.2)
    return None


class Carrier:
    """The customer's phones: every call the hotline places is answered, and who was dialled counted."""

    def __init__(self, base: str):
        self.base, self.dialled = base, collections.Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        while not self.stop.is_set():
            try:
                call = answer_outbound(self.base, TOKEN, "human", [], wait_s=1.0)
            except (CallFailed, requests.RequestException, ValueError):
                time.sleep(0.2)
                continue
            if isinstance(call, SimulatedCall):
                self.dialled[call.called[-8:]] += 1  # E.164 or national: the same last digits

    def times_dialled(self, number: str) -> int:
        return self.dialled.get(number[-8:], 0)


def agents_at_work(base: str, stop: threading.Event) -> list[threading.Thread]:
    def work(agent: str) -> None:
        while not stop.is_set():
            try:
                run_agent(base, agent, PASSWORD, answer_after=0.5, calls=1000, talk_s=1.0, timeout_s=10.0)
            except (CallFailed, requests.RequestException, ValueError):
                time.sleep(0.5)  # an outage: log in again, as an agent would

    threads = [threading.Thread(target=work, args=(agent,), daemon=True) for agent in AGENTS]
    for thread in threads:
        thread.start()
    return threads


def inject(fault: str, servers: Servers, hotline: Hotline) -> float:
    """The fault; returns when the server came back (monotonic). "none": the baseline, no fault."""
    if fault == "none":
        pass
    elif fault == "redis_restart":
        servers.redis_down()
        time.sleep(REDIS_DOWN_S)
        servers.redis_up()
    elif fault == "postgres_stop":
        servers.postgres_down()
        time.sleep(POSTGRES_DOWN_S)
        servers.postgres_up()
    elif fault == "web_worker_kill":
        hotline.web_workers()[0].send_signal(signal.SIGKILL)
    else:
        hotline.kill_rq_worker()
    return time.monotonic()


def stored_records_and_tickets() -> tuple[set[str], set[str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as connection:
        recorded = {row[0] for row in connection.execute(text("SELECT call_sid FROM call_records"))}
        tickets = {re.sub(r"\D", "", str(row[0])) for row in connection.execute(text("SELECT number FROM tickets"))}
    engine.dispose()
    return recorded, tickets


def ticket_told(words: str) -> str | None:
    """The ticket number a caller was told (spoken in groups of digits), or None."""
    told = re.search(r"工单号\s*([\d ，,]+)", words)
    return re.sub(r"\D", "", told.group(1)) if told else None


def phase(fault: str, calls: int, offset: int, servers: Servers, hotline: Hotline, carrier: Carrier) -> dict:
    results: list[dict] = []
    kinds = list(CALLERS)
    callers = []
    for n in range(calls):
        number = f"137{offset + n:08d}" if kinds[n % 3] == "callback" else DEMO_CALLER
        callers.append(threading.Thread(target=place_caller, args=(hotline.base, kinds[n % 3], number, results)))
    begun = time.monotonic()
    for caller in callers:
        caller.start()
        time.sleep(FAULT_AT_S * 1.2 / calls)
    time.sleep(max(0.0, begun + FAULT_AT_S - time.monotonic()))
    back = inject(fault, servers, hotline)
    stop = threading.Event()
    recovery = probe_recovery(hotline.base, back, stop)
    for caller in callers:
        caller.join(timeout=max(1.0, back + PHASE_DRAIN_S - time.monotonic()))
    time.sleep(10)  # callbacks booked late in the phase come due (soonest) and are placed
    promised = [r["number"] for r in results if CALLBACK_PROMISE in r["heard"]]

    def stranded(r: dict) -> bool:
        if r["error"]:
            return True
        if r["agent"]:
            return False
        if CALLBACK_PROMISE in r["heard"]:
            return not carrier.times_dialled(r["number"])  # a promise not kept
        return r["kind"] != "tracking" or APOLOGY in r["heard"]

    stranded_calls = [r for r in results if stranded(r)]
    recorded, tickets = stored_records_and_tickets()
    tickets_told = {ticket_told(r["heard"]) for r in results if ticket_told(r["heard"])}
    return {
        "fault": fault, "calls_started": len(results),
        "calls_stranded": len(stranded_calls),
        "stranded_examples": [{"kind": r["kind"], "error": r["error"][:120], "heard_end": r["heard"][-80:]}
                              for r in stranded_calls[:3]],
        "call_records_lost": sum(1 for r in results if r["sid"] not in recorded),
        "tickets_lost": len(tickets_told - tickets),
        "callbacks_promised": len(promised), "promised_numbers": promised,
        "unkept_numbers": [r["number"] for r in stranded_calls if not r["error"] and CALLBACK_PROMISE in r["heard"]],
        "callbacks_doubled": sum(1 for n in promised if carrier.times_dialled(n) > 1),
        "callbacks_lost": sum(1 for n in promised if not carrier.times_dialled(n)),
        "recovery_s": recovery,
    }


def settle_callbacks(phases: list[dict], carrier: Carrier) -> None:
    """Callbacks are counted once more at the end: one dialled after its phase is late, not lost."""
    deadline = time.monotonic() + CALLBACK_SETTLE_S
    while time.monotonic() < deadline and any(not carrier.times_dialled(n) for p in phases
                                              for n in p["promised_numbers"]):
        time.sleep(0.5)
    time.sleep(2)  # a second dial of the same callback, if one was coming
    for figures in phases:
        promised = figures.pop("promised_numbers")
        lost_in_phase = figures["callbacks_lost"]
        figures["callbacks_doubled"] = sum(1 for n in promised if carrier.times_dialled(n) > 1)
        figures["callbacks_lost"] = sum(1 for n in promised if not carrier.times_dialled(n))
        figures["callbacks_dialled_after_their_phase"] = lost_in_phase - figures["callbacks_lost"]
        figures["calls_stranded"] -= sum(1 for n in figures.pop("unkept_numbers") if carrier.times_dialled(n))


def run(args) -> dict:
    folder = tempfile.mkdtemp(prefix="hotline-chaos-")
    servers, hotline = Servers(), Hotline(folder)
    stop_agents = threading.Event()
    try:
        hotline.start()
        carrier = Carrier(hotline.base)
        agents_at_work(hotline.base, stop_agents)
        phases = [phase(fault, args.calls, 1000 * n, servers, hotline, carrier)
                  for n, fault in enumerate(["none", *args.faults])]
        settle_callbacks(phases, carrier)
        carrier.stop.set()
    finally:
        stop_agents.set()
        hotline.stop()
    counts = ("calls_stranded", "call_records_lost", "tickets_lost", "callbacks_doubled", "callbacks_lost")
    failed = any(p[c] for p in phases for c in counts) or any(p["recovery_s"] is None for p in phases)
    return {"method": METHOD, "calls_per_fault": args.calls, "baseline": phases[0], "faults": phases[1:],
            "passed": not failed,
            "log": str(Path(folder) / "processes.log")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="simulated callers per fault")
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if "REAL_SERVERS_DIR" not in os.environ:  # start the real servers, then this again under them
        script = Path(__file__).resolve().parent.parent / "scripts" / "real-servers.sh"
        return subprocess.run([str(script), sys.executable, "-m", "bench.chaos", *(argv or sys.argv[1:])]).returncode
    figures = run(args)
    print_figures(figures, args.json)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
