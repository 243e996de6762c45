// The agent's browser phone: one panel (status, call timer, the caller's level, mute, hold,
// transfer, hang-up) over one of two lines. With a Twilio browser phone (the page loads the Voice
// JS SDK) the hotline dials the agent's client identity and the call rings here; hold and resume
// move the caller's leg to the hold music and back (the hotline dials the agent again); without,
// once the agent accepts, the app's own bridge (/console/phone/<call>) carries 8 kHz mu-law frames
// (mulaw.js). `words` are the page's; `api(path, body)` calls the console API; `onEnded(byAgent)`
// runs when a call ends (byAgent: the agent hung up or transferred it, not the caller);
// `onTransferred(view)` with the agent's view once a transfer went through.
function agentPhone({words, twilio, api, onEnded, onTransferred}) {
  const $ = (id) => document.getElementById(id);
  const panel = $("agent-phone"), status = $("phone-status"), clock = $("phone-timer"), meter = $("phone-level");
  const muteButton = $("phone-mute"), holdButton = $("phone-hold"), hangUpButton = $("phone-hangup");
  const transferButton = $("phone-transfer"), picker = $("transfer"), pickerError = $("transfer-error");
  const buttons = muteButton.parentElement;
  let line = null, callSid = null, muted = false, held = false, ticking = null, hangingUp = false, transferring = false;

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
    muteButton.disabled = holdButton.disabled = hangUpButton.disabled = transferButton.disabled = false;
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
    status.textContent = transferring ? words.transferred : words.call_ended;
    muteButton.disabled = holdButton.disabled = hangUpButton.disabled = transferButton.disabled = true;
    buttons.hidden = picker.hidden = true;  // nothing left to mute, transfer or hang up
    onEnded(hangingUp || transferring);
    hangingUp = transferring = false;
  }

  // 转接: the colleagues available now and the lines agents serve, picked in one list.
  async function pickTransfer() {
    const targets = await api("transfer-targets");
    const group = (label, options) => {
      const element = Object.assign(document.createElement("optgroup"), {label});
      element.append(...options);
      return element;
    };
    const option = (value, text) => Object.assign(document.createElement("option"), {value, textContent: text});
    const agents = targets.agents.map((a) => option(`agent:${a.username}`, a.name));
    picker.elements.target.replaceChildren(
      group(words.transfer_agents, agents.length ? agents
        : [Object.assign(option("", words.no_agent_available), {disabled: true})]),
      group(words.lines, targets.lines.map((l) => option(`line:${l.line}`, l.name))));
    picker.elements.target.value = agents.length ? agents[0].value : `line:${targets.lines[0]?.line}`;
    pickerError.hidden = true;
    picker.hidden = false;
  }

  async function transfer(target) {
    const [kind, ...rest] = target.split(":");
    transferring = true;  // the line closes as the transfer goes through
    try {
      onTransferred(await api("transfer", {call_sid: callSid, [kind]: rest.join(":")}));
      picker.hidden = true;
    } catch (error) {
      transferring = false;
      Object.assign(pickerError, {textContent: error.message, hidden: false});
    }
  }

  function hangUp() {
    if (line === null) return;
    hangingUp = true;
    line.hangUp();
  }

  function hold(on) {
    held = on;
    show();
    return line.hold(on);
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
  // Hold takes the caller's leg off this call (it ends here) onto the hold music; resume has the
  // hotline dial the agent again, and that call carries on the same line. Hanging up on hold
  // resumes and refuses the call back, which ends the caller's leg too.
  async function register() {
    const token = () => api("phone/token").then((answer) => answer.token);
    const device = new Twilio.Device(await token(), {closeProtection: true});
    let current = null, level = 0;
    device.on("tokenWillExpire", async () => device.updateToken(await token()));
    device.on("error", (error) => { status.textContent = `${words.phone_unavailable} (${error.code})`; });
    device.on("incoming", (call) => {
      if (hangingUp) { call.reject(); ended(); return; }
      current = call;
      call.on("volume", (_input, output) => { level = output; });
      ["disconnect", "cancel", "reject"].forEach((event) => call.on(event, () => { if (current === call && !held) ended(); }));
      call.accept();
      call.mute(muted);
      if (line !== null) return;  // back from hold
      started({
        level: () => (held ? 0 : level),
        mute: (on) => current.mute(on),
        hold: (on) => api("phone/hold", {call_sid: callSid, on}),
        hangUp: () => (held ? api("phone/hold", {call_sid: callSid, on: false}) : current.disconnect()),
      });
    });
    await device.register();
    panel.hidden = false;
    status.textContent = words.phone_ready;
  }

  muteButton.addEventListener("click", () => { muted = !muted; line?.mute(muted); show(); });
  holdButton.addEventListener("click", async () => {
    if (line === null) return;
    holdButton.disabled = true;  // one change at a time: the caller's leg is on its way
    try { await hold(!held); } catch (error) { held = !held; show(); status.textContent = error.message; }
    holdButton.disabled = line === null;
  });
  hangUpButton.addEventListener("click", hangUp);
  transferButton.addEventListener("click", () => pickTransfer().catch((error) => {
    Object.assign(pickerError, {textContent: error.message, hidden: false});
    picker.hidden = false;
  }));
  picker.addEventListener("submit", (event) => { event.preventDefault(); transfer(picker.elements.target.value); });
  $("transfer-cancel").addEventListener("click", () => { picker.hidden = true; });
  return {
    start: () => (twilio ? register() : Promise.resolve()),
    connect(sid) {  // a Twilio call rings by itself
      callSid = sid;
      if (!twilio && line === null) bridge(sid);
    },
    callerGone() { if (line !== null && held) ended(); },  // hung up while on hold: no call here to end
    hangUp,
  };
}
