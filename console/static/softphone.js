// The browser softphone: microphone -> 8 kHz mu-law 20 ms frames -> Media Streams protocol;
// the hotline's mu-law audio is played back; keypad presses go as DTMF.
const $ = (id) => document.getElementById(id);
const RATE = 8000, FRAME = 160;
let socket = null, audio = null, callSid = null, streamSid = null, playAt = 0, sources = [], waitTimer = null;

function muLawEncode(sample) {           // 16-bit linear -> G.711 mu-law byte
  const BIAS = 0x84, CLIP = 32635;
  let sign = (sample >> 8) & 0x80;
  if (sign) sample = -sample;
  sample = Math.min(sample, CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (sample & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (sample >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function muLawDecode(byte) {             // G.711 mu-law byte -> 16-bit linear
  byte = ~byte & 0xff;
  const sign = byte & 0x80, exponent = (byte >> 4) & 0x07, mantissa = byte & 0x0f;
  const magnitude = ((mantissa << 3) + 0x84) << exponent;
  return sign ? 0x84 - magnitude : magnitude - 0x84;
}

// The hotline takes changes only as JSON or from its own pages (the browser adds the Origin).
function post(path) {
  return fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
}

function send(event, body = {}) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({event, streamSid, ...body}));
}

function say(text, mine = false) {
  const item = Object.assign(document.createElement("li"), {textContent: text});
  if (mine) item.className = "you";
  $("transcript").append(item);
}

function play(payload) {
  const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
  const buffer = audio.createBuffer(1, bytes.length, RATE);
  const samples = buffer.getChannelData(0);
  bytes.forEach((b, i) => { samples[i] = muLawDecode(b) / 32768; });
  const source = audio.createBufferSource();
  source.buffer = buffer;
  source.connect(audio.destination);
  playAt = Math.max(playAt, audio.currentTime);
  source.start(playAt);
  playAt += buffer.duration;
  sources.push(source);
}

async function microphone() {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const input = audio.createMediaStreamSource(stream);
  const processor = audio.createScriptProcessor(1024, 1, 1);
  let pending = [];
  processor.onaudioprocess = (event) => {
    for (const value of event.inputBuffer.getChannelData(0)) {
      pending.push(muLawEncode(Math.max(-32768, Math.min(32767, Math.round(value * 32767)))));
      if (pending.length === FRAME) {
        send("media", {media: {track: "inbound", payload: btoa(String.fromCharCode(...pending))}});
        pending = [];
      }
    }
  };
  input.connect(processor);
  processor.connect(audio.destination);
}

async function call() {
  audio = new AudioContext({sampleRate: RATE});
  const response = await post("/softphone/calls");
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const placed = await response.json();
  callSid = placed.call_sid;
  streamSid = "MZ" + crypto.randomUUID().replaceAll("-", "");
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${placed.stream}`);
  socket.onopen = async () => {
    socket.send(JSON.stringify({event: "connected", protocol: "Call", version: "1.0.0"}));
    send("start", {start: {streamSid, callSid, accountSid: "softphone", tracks: ["inbound"],
      mediaFormat: {encoding: "audio/x-mulaw", sampleRate: RATE, channels: 1},
      customParameters: {token: placed.token}}});
    $("status").textContent = "通话中 on the line";
    document.querySelectorAll("[data-key]").forEach((b) => { b.disabled = false; });
    $("hangup").disabled = false;
    await microphone().catch((error) => say(`(microphone: ${error.message})`));
  };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.event === "media") play(data.media.payload);
    else if (data.event === "clear") { sources.forEach((s) => s.stop()); sources = []; playAt = 0; }
    else if (data.event === "mark") {
      const name = data.mark.name;
      if (name.startsWith("say:")) say(name.split(":").slice(2).join(":"));
      setTimeout(() => send("mark", {mark: {name}}), Math.max(0, (playAt - audio.currentTime) * 1000));
    }
  };
  socket.onclose = async () => {
    const next = await (await post(`/softphone/calls/${callSid}/ended`)).json();
    document.querySelectorAll("[data-key]").forEach((b) => { b.disabled = true; });
    if (next.next === "transfer") {
      await waitForAgent();
    } else {
      $("status").textContent = "已挂断 ended";
      $("hangup").disabled = true;
    }
  };
}

// Waiting for an agent: the place in line, polled (each poll also tells the hotline the caller is still there).
async function waitForAgent() {
  const poll = async () => {
    const place = await (await post(`/softphone/calls/${callSid}/queue`)).json();
    if (!place.waiting) {
      stopWaiting();
      $("status").textContent = "已离开排队 left the queue";
      return;
    }
    $("status").textContent = place.ahead ? `排队等待坐席，前面还有${place.ahead}位 waiting for an agent`
      : "排队等待坐席，下一位就是您 you are next";
  };
  await poll();
  waitTimer = setInterval(poll, 10000);
}

function stopWaiting() {
  clearInterval(waitTimer);
  waitTimer = null;
  $("hangup").disabled = true;
}

document.querySelectorAll("[data-key]").forEach((button) => button.addEventListener("click", () => {
  send("dtmf", {dtmf: {track: "inbound_track", digit: button.dataset.key}});
  say(`按键 ${button.dataset.key}`, true);
}));
$("call").addEventListener("click", () => call().catch((error) => {
  $("error").textContent = error.message; $("error").hidden = false;
}));
$("hangup").addEventListener("click", async () => {
  if (waitTimer !== null) {
    stopWaiting();
    await post(`/softphone/calls/${callSid}/hangup`);
    $("status").textContent = "已挂断 ended";
    return;
  }
  send("stop", {stop: {callSid}});
  socket.close();
});
$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/console/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: form.get("username"), password: form.get("password")})});
  if (response.ok) { $("login").hidden = true; $("phone").hidden = false; }
  else { $("error").textContent = (await response.json()).error; $("error").hidden = false; }
});
fetch("/console/api/me").then((response) => {
  if (response.ok) $("phone").hidden = false; else $("login").hidden = false;
});
