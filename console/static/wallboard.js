// The supervisor's wallboard: figures polled from /console/api/wallboard (poll.js).
const $ = (id) => document.getElementById(id);
const W = JSON.parse($("words").textContent);
const LANGUAGE = document.documentElement.lang;
const PERCENTAGES = ["service_level", "ivr_containment"];
const SECONDS = ["average_speed_of_answer_s", "average_handling_s"];
let clockOffsetS = 0;  // the hotline's clock minus this browser's
let agentRows = [], listenIn = false;
let listening = null;  // the call the supervisor listens in on: {call, socket, audio, player, microphone, whispering}

function cells(row, values) {
  row.replaceChildren(...values.map((v) => Object.assign(document.createElement("td"), {textContent: v})));
  return row;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} ${W.hours} ${Math.floor(s % 3600 / 60)} ${W.minutes}`;
  if (s >= 60) return `${Math.floor(s / 60)} ${W.minutes} ${s % 60} ${W.seconds}`;
  return `${s} ${W.seconds}`;
}

function tileText(key, value) {
  if (value === null || value === undefined) return "—";
  if (PERCENTAGES.includes(key)) return `${Math.round(value * 100)}%`;
  if (SECONDS.includes(key)) return duration(value);
  return value.toLocaleString(LANGUAGE);
}

function render(figures, response) {
  const serverTime = Number(response.headers.get("X-Server-Time"));
  if (serverTime) clockOffsetS = serverTime - Date.now() / 1000;
  for (const [key, value] of Object.entries(figures)) {
    const tile = $(`tile-${key}`);
    if (tile) tile.textContent = tileText(key, value);
  }
  const {warn, alert} = figures.wait_thresholds_s;
  document.querySelector("#lines tbody").replaceChildren(...Object.entries(figures.lines).map(([line, f]) => {
    const row = cells(document.createElement("tr"), [figures.line_names[line] || line, f.waiting,
                                                     f.waiting ? duration(f.longest_wait_s) : "—"]);
    row.dataset.line = line;
    // A wait past the thresholds (settings) stands out: amber, then red.
    row.className = f.longest_wait_s >= alert ? "wait-alert" : f.longest_wait_s >= warn ? "wait-warn" : "";
    return row;
  }));
  $("agent-counts").textContent = Object.entries(figures.agents).map(([state, n]) => `${W[state] || state} ${n}`)
    .join(" · ");
  agentRows = figures.agent_rows;
  listenIn = figures.listen_in;
  $("listen-column").hidden = !listenIn;
  if (listening && !agentRows.some((agent) => agent.call === listening.call)) stopListening();  // the call ended
  tick();
  // On the hotline's clock and in its time zone, as the reports count days.
  const hotlineNow = new Date(Date.now() + clockOffsetS * 1000);
  const timeZone = figures.time_zone;
  $("updated").textContent = `${W.updated} ${hotlineNow.toLocaleTimeString(LANGUAGE, {hour12: false, timeZone})}`;
  linkReports(hotlineNow.toLocaleDateString("sv-SE", {timeZone}));
}

function linkReports(today) {
  $("daily").href = `/console/api/reports/daily?date=${today}&format=html&lang=${LANGUAGE}`;
  $("daily-xlsx").href = `/console/api/reports/daily?date=${today}&format=xlsx`;
  $("weekly").href = `/console/api/reports/weekly?week=${isoWeek(today)}&format=html&lang=${LANGUAGE}`;
}

// Time in state counts up between polls.
function tick() {
  const now = Date.now() / 1000 + clockOffsetS;
  document.querySelector("#agents tbody").replaceChildren(...agentRows.map((agent) => {
    const state = (W[agent.state] || agent.state) + (agent.reason ? ` · ${W.reasons[agent.reason] || agent.reason}` : "");
    const row = cells(document.createElement("tr"), [agent.name, state,
      agent.since === null ? "—" : duration(now - agent.since), agent.answered_today]);
    row.dataset.agent = agent.id;
    if (listenIn) row.append(document.createElement("td"));  // calls on the local bridge: 监听
    if (listenIn && agent.call) row.lastChild.append(listenButton(agent));
    return row;
  }));
}

// 监听: both sides of an agent's call, mixed by the hotline. 耳语 (whisper) sends the supervisor's
// microphone to the agent alone; the caller never hears it.
function listenButton(agent) {
  const mine = listening?.call === agent.call;
  const button = Object.assign(document.createElement("button"), {type: "button",
    textContent: mine ? W.stop_listening : W.listen_in});
  button.setAttribute("aria-pressed", String(mine));
  button.addEventListener("click", () => {
    const other = !mine;
    stopListening();
    if (other) startListening(agent);
    tick();
  });
  return button;
}

function startListening(agent) {
  const audio = new AudioContext({sampleRate: MULAW_RATE});
  const player = framePlayer(audio);
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/console/monitor/${agent.call}`);
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.event === "media") player.play(data.media.payload);
  };
  socket.onclose = () => { if (listening?.socket === socket) stopListening(); };
  listening = {call: agent.call, socket, audio, player, microphone: null, whispering: false};
  $("listening").textContent = W.listening.replace("{name}", agent.name);
  $("listening-level").hidden = $("whisper").hidden = false;
  showWhisper();
  listening.meter = setInterval(() => { $("listening-level").value = player.level(); }, 250);
}

function stopListening() {
  if (!listening) return;
  const {socket, audio, player, meter, microphone} = listening;
  listening = null;
  clearInterval(meter);
  microphone?.getTracks().forEach((track) => track.stop());
  socket.close();
  player.stop();
  audio.close();
  $("listening").textContent = "";
  $("listening-level").hidden = $("whisper").hidden = true;
  tick();
}

function showWhisper() {
  const on = Boolean(listening?.whispering);
  $("whisper").textContent = on ? W.stop_whisper : W.whisper;
  $("whisper").setAttribute("aria-pressed", String(on));
}

$("whisper").addEventListener("click", async () => {
  const current = listening;
  if (!current) return;
  current.whispering = !current.whispering;
  showWhisper();
  if (current.whispering && !current.microphone) {
    try {
      current.microphone = await captureFrames(current.audio, (payload) => {
        if (current.whispering && current.socket.readyState === WebSocket.OPEN) {
          current.socket.send(JSON.stringify({event: "media", media: {payload}}));
        }
      });
      if (listening !== current) current.microphone.getTracks().forEach((track) => track.stop());  // stopped meanwhile
    } catch (error) {
      current.whispering = false;
      showWhisper();
      showError(W.microphone_errors[error.name] || W.microphone_unavailable);  // in words, not the browser's English
    }
  }
});
setInterval(tick, 1000);

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
}

function start() {
  $("login").hidden = true;
  $("error").hidden = true;
  $("board").hidden = false;
  poll("/console/api/wallboard", render, 2000);
}

// "2026-W49" for a "2026-12-07".
function isoWeek(isoDate) {
  const day = new Date(`${isoDate}T00:00:00Z`);
  const thursday = new Date(day.getTime() + (3 - (day.getUTCDay() + 6) % 7) * 86400000);
  const week = 1 + Math.floor((thursday - Date.UTC(thursday.getUTCFullYear(), 0, 1)) / 86400000 / 7);
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

// An agent who opens the wallboard is told why they see no figures.
async function open() {
  const response = await fetch("/console/api/wallboard", {headers: {"Accept-Language": LANGUAGE}});
  if (response.ok) { start(); return; }
  if (response.status === 403) {
    $("login").hidden = true;
    showError(W.supervisor_only);
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/console/api/login", {method: "POST",
    headers: {"Content-Type": "application/json", "Accept-Language": LANGUAGE},
    body: JSON.stringify({username: form.get("username"), password: form.get("password")})});
  if (!response.ok) { showError((await response.json()).message); return; }
  await open();
});
open();
