// The browser softphone: microphone -> 8 kHz mu-law 20 ms frames -> Media Streams protocol;
// the hotline's mu-law audio is played back; keypad presses go as DTMF.
const $ = (id) => document.getElementById(id);
const W = JSON.parse($("words").textContent), S = W.softphone;  // the page's words, as data (no inline script)
let socket = null, audio = null, player = null, callSid = null, streamSid = null, waitTimer = null;
let inLine = false;  // waiting for an agent
let stopMusic = () => {};  // the hold music while in line, once it plays

// The hotline takes changes only as JSON or from its own pages (the browser adds the Origin);
// its errors come in the page's language.
function post(path, body = {}) {
  return fetch(path, {method: "POST", body: JSON.stringify(body),
    headers: {"Content-Type": "application/json", "Accept-Language": document.documentElement.lang}});
}

function send(event, body = {}) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({event, streamSid, ...body}));
}

// The call is over (hung up, or left the line): the page is ready for the next one.
function over(text) {
  $("status").textContent = text;
  $("hangup").disabled = true;
  $("call").disabled = $("caller-id").disabled = false;
}

function say(text, mine = false) {
  const item = Object.assign(document.createElement("li"), {textContent: text});
  if (mine) item.className = "you";
  $("transcript").append(item);
}

async function call() {
  audio = new AudioContext({sampleRate: MULAW_RATE});
  player = framePlayer(audio);
  const response = await post("/softphone/calls", {from: $("caller-id").value.trim()});
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).message || `HTTP ${response.status}`);
  const placed = await response.json();
  callSid = placed.call_sid;
  streamSid = "MZ" + crypto.randomUUID().replaceAll("-", "");
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${placed.stream}`);
  socket.onopen = async () => {
    socket.send(JSON.stringify({event: "connected", protocol: "Call", version: "1.0.0"}));
    send("start", {start: {streamSid, callSid, accountSid: "softphone", tracks: ["inbound"],
      mediaFormat: {encoding: "audio/x-mulaw", sampleRate: MULAW_RATE, channels: 1},
      customParameters: {token: placed.token}}});
    $("status").textContent = S.on_the_line;
    document.querySelectorAll("[data-key]").forEach((b) => { b.disabled = false; });
    $("hangup").disabled = false;
    await captureFrames(audio, (payload) => send("media", {media: {track: "inbound", payload}}))
      .catch((error) => say(`(${W.microphone_errors[error.name] || W.microphone_unavailable})`));
  };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.event === "media") player.play(data.media.payload);
    else if (data.event === "clear") player.stop();
    else if (data.event === "mark") {
      const name = data.mark.name;
      if (name.startsWith("say:")) say(name.split(":").slice(2).join(":"));
      setTimeout(() => send("mark", {mark: {name}}), Math.max(0, (player.playAt - audio.currentTime) * 1000));
    }
  };
  socket.onclose = async () => {
    const next = await (await post(`/softphone/calls/${callSid}/ended`)).json();
    document.querySelectorAll("[data-key]").forEach((b) => { b.disabled = true; });
    if (next.next === "transfer") {
      await waitForAgent();
    } else {
      over(S.ended);
    }
  };
}

// Waiting for an agent: the place in line, polled (each poll also tells the hotline the caller is still there).
async function waitForAgent() {
  inLine = true;
  const poll = async () => {
    const place = await (await post(`/softphone/calls/${callSid}/queue`)).json();
    if (!inLine) return;  // a poll still in flight when the caller left the line (or hung up) is not acted on
    if (!place.waiting) {
      stopWaiting();
      if (place.connected) talkToAgent();
      else over(S.left_queue);
      return;
    }
    $("status").textContent = place.ahead ? S.waiting.replace("{ahead}", place.ahead) : S.next;
  };
  await poll();
  if (!inLine) return;
  waitTimer = setInterval(poll, 2000);  // often enough that the agent is heard as soon as they answer
  holdMusic().then((stop) => { if (inLine) stopMusic = stop; else stop(); })
    .catch(() => say(`(${S.no_hold_music})`));
}

// While in line: the hotline's hold music, looped, as a carrier plays its queue's; the meter shows it.
async function holdMusic() {
  const buffer = await audio.decodeAudioData(await (await fetch("/voice/hold-music.wav")).arrayBuffer());
  const source = Object.assign(audio.createBufferSource(), {buffer, loop: true});
  const analyser = audio.createAnalyser();
  source.connect(analyser);
  analyser.connect(audio.destination);
  source.start();
  const samples = new Float32Array(analyser.fftSize);
  const meter = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    $("level").value = Math.sqrt(samples.reduce((sum, value) => sum + value * value, 0) / samples.length);
  }, 250);
  return () => { clearInterval(meter); source.stop(); $("level").value = 0; };
}

// An agent answered: the app's audio bridge to their console (the microphone goes on to it).
function talkToAgent() {
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/softphone/calls/${callSid}/bridge`);
  socket.onopen = () => { $("status").textContent = S.talking; $("hangup").disabled = false; };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.event === "media") player.play(data.media.payload);
    else if (data.event === "hold") {
      $("status").textContent = data.why === "transfer" ? S.transferring : S.on_hold;
    } else if (data.event === "unhold") $("status").textContent = S.talking;
  };
  const meter = setInterval(() => { $("level").value = player.level(); }, 250);  // is the agent heard?
  socket.onclose = () => {  // the bridge ends the call for both sides
    clearInterval(meter);
    $("level").value = 0;
    over(S.ended);
  };
}

function stopWaiting() {
  inLine = false;
  clearInterval(waitTimer);
  waitTimer = null;
  stopMusic();
  stopMusic = () => {};
  $("hangup").disabled = true;
}

document.querySelectorAll("[data-key]").forEach((button) => button.addEventListener("click", () => {
  send("dtmf", {dtmf: {track: "inbound_track", digit: button.dataset.key}});
  say(`${S.pressed} ${button.dataset.key}`, true);
}));
$("call").addEventListener("click", () => {
  $("call").disabled = $("caller-id").disabled = true;  // one call at a time, from one number
  call().catch((error) => {
    $("error").textContent = error.message; $("error").hidden = false;
    over(S.idle);
  });
});
$("hangup").addEventListener("click", async () => {
  if (inLine) {
    stopWaiting();
    await post(`/softphone/calls/${callSid}/hangup`);
    over(S.ended);
    return;
  }
  send("stop", {stop: {callSid}});
  socket.close();
});
$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await post("/console/api/login", {username: form.get("username"), password: form.get("password")});
  if (response.ok) { $("login").hidden = true; $("phone").hidden = false; }
  else { $("error").textContent = (await response.json()).message; $("error").hidden = false; }
});
fetch("/console/api/me").then((response) => {
  if (response.ok) $("phone").hidden = false; else $("login").hidden = false;
});
