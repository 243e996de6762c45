// The agent's browser phone: one panel (status, call timer, the caller's level, mute, hold,
// hang-up) over one of two lines. With a Twilio browser phone (the page loads the Voice JS SDK)
// the hotline dials the agent's client identity and the call rings here; without, once the agent
// accepts, the app's own bridge (/console/phone/<call>) carries 8 kHz mu-law frames (mulaw.js).
// `words` are the page's; `token()` gives a fresh access token; `onEnded(byAgent)` runs when a
// call ends (byAgent: the agent hung up, not the caller).
function agentPhone({words, twilio, token, onEnded}) {
  const $ = (id) => document.getElementById(id);
  const panel = $("agent-phone"), status = $("phone-status"), clock = $("phone-timer"), meter = $("phone-level");
  const muteButton = $("phone-mute"), holdButton = $("phone-hold"), hangUpButton = $("phone-hangup");
  const buttons = muteButton.parentElement;
  let line = null, muted = false, held = false, ticking = null, hangingUp = false;

  function show() {
    status.textContent = held ? words.on_hold : muted ? words.muted : words.on_call;
    muteButton.textContent = muted ? words.unmute : words.mute;
    holdButton.textContent = held ? words.resume : words.hold;
  }

  // A line: {level() 0-1, mute(on), hangUp(), and hold(on) where the line can hold}.
  function started(newLine) {
    line = newLine;
    muted = held = false;
    panel.hidden = false;
    holdButton.hidden = !line.hold;
    muteButton.disabled = holdButton.disabled = hangUpButton.disabled = false;
    buttons.hidden = false;
    const since = Date.now();
    const tick = () => {
      const seconds = Math.floor((Date.now() - since) / 1000);
      clock.textContent = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
      meter.value = line.level();
    };
    tick();
    ticking = setInterval(tick, 250);
    show();
  }

  function ended() {
    if (line === null) return;
    clearInterval(ticking);
    line = null;
    meter.value = 0;
    status.textContent = words.call_ended;
    muteButton.disabled = holdButton.disabled = hangUpButton.disabled = true;
    buttons.hidden = true;  // nothing left to mute or hang up
    onEnded(hangingUp);
    hangingUp = false;
  }

  function hangUp() {
    if (line === null) return;
    hangingUp = true;
    line.hangUp();
  }

  // The app's own bridge: the microphone goes out as frames (silence while muted, so the line
  // stays open), the caller's frames are played.
  async function bridge(callSid) {
    const audio = new AudioContext({sampleRate: MULAW_RATE});
    const player = framePlayer(audio);
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/console/phone/${callSid}`);
    const send = (message) => { if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message)); };
    let microphone = null, closed = false;
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.event === "media") player.play(data.media.payload);
    };
    socket.onclose = () => {
      closed = true;
      microphone?.getTracks().forEach((track) => track.stop());
      player.stop();
      audio.close();
      ended();
    };
    started({
      level: () => player.level(),
      mute() {},  // the frames sent follow `muted`
      hold: (on) => send({event: on ? "hold" : "unhold"}),
      hangUp() { send({event: "stop"}); socket.close(); },
    });
    try {
      microphone = await captureFrames(audio, (payload) => send({event: "media", media: {payload: muted ? MULAW_SILENCE : payload}}));
      if (closed) microphone.getTracks().forEach((track) => track.stop());
    } catch (error) { status.textContent = words.microphone_errors[error.name] || words.microphone_unavailable; }
  }

  // The Twilio Voice JS SDK: the call the hotline dials once the agent accepted is answered at once.
  async function register() {
    const device = new Twilio.Device(await token(), {closeProtection: true});
    device.on("tokenWillExpire", async () => device.updateToken(await token()));
    device.on("error", (error) => { status.textContent = `${words.phone_unavailable} (${error.code})`; });
    device.on("incoming", (call) => {
      let level = 0;
      call.on("volume", (_input, output) => { level = output; });
      ["disconnect", "cancel", "reject"].forEach((event) => call.on(event, ended));
      call.accept();
      started({level: () => level, mute: (on) => call.mute(on), hangUp: () => call.disconnect()});
    });
    await device.register();
    panel.hidden = false;
    status.textContent = words.phone_ready;
  }

  muteButton.addEventListener("click", () => { muted = !muted; line?.mute(muted); show(); });
  holdButton.addEventListener("click", () => { held = !held; line?.hold(held); show(); });
  hangUpButton.addEventListener("click", hangUp);
  return {
    start: () => (twilio ? register() : Promise.resolve()),
    connect(callSid) { if (!twilio && line === null) bridge(callSid); },  // a Twilio call rings by itself
    hangUp,
  };
}
