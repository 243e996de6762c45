// The agent's browser phone on the app's own audio bridge (no carrier account): once the agent
// accepts a call, the caller's 8 kHz mu-law frames are played and the microphone is sent back
// over /console/phone/<call>. Mute, hang-up and a call timer sit in its own panel.
const agentPhone = (() => {
  const WORDS = {talking: "通话中", muted: "已静音", ended: "通话已结束", mute: "静音", unmute: "取消静音",
    hangup: "挂断", microphone: "麦克风不可用"};
  let socket = null, audio = null, player = null, microphone = null, muted = false, timer = null;
  const panel = Object.assign(document.createElement("section"), {id: "agent-phone", hidden: true});
  panel.setAttribute("aria-live", "polite");
  const status = document.createElement("span"), clock = document.createElement("time");
  const muteButton = Object.assign(document.createElement("button"), {type: "button", textContent: WORDS.mute});
  const hangupButton = Object.assign(document.createElement("button"), {type: "button", textContent: WORDS.hangup});
  panel.append(status, " ", clock, " ", muteButton, " ", hangupButton);
  document.body.append(panel);

  function showTime(started) {
    const seconds = Math.floor((Date.now() - started) / 1000);
    clock.textContent = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function ended() {
    clearInterval(timer);
    if (microphone) microphone.getTracks().forEach((track) => track.stop());
    if (player) player.stop();
    audio?.close();
    socket = audio = player = microphone = null;
    status.textContent = WORDS.ended;
    muteButton.disabled = hangupButton.disabled = true;
  }

  async function connect(callSid) {
    if (socket) return;
    audio = new AudioContext({sampleRate: MULAW_RATE});
    player = framePlayer(audio);
    muted = false;
    muteButton.textContent = WORDS.mute;
    muteButton.disabled = hangupButton.disabled = false;
    panel.hidden = false;
    status.textContent = WORDS.talking;
    const started = Date.now();
    showTime(started);
    timer = setInterval(() => showTime(started), 1000);
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/console/phone/${callSid}`);
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.event === "media") player.play(data.media.payload);
    };
    socket.onclose = ended;
    try {
      microphone = await captureFrames(audio, (payload) => {
        if (!muted && socket?.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({event: "media", media: {payload}}));
        }
      });
    } catch (error) { status.textContent = `${WORDS.microphone}: ${error.message}`; }
  }

  muteButton.addEventListener("click", () => {
    muted = !muted;
    muteButton.textContent = muted ? WORDS.unmute : WORDS.mute;
    status.textContent = muted ? WORDS.muted : WORDS.talking;
  });
  hangupButton.addEventListener("click", () => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({event: "stop"}));
    socket?.close();
  });
  return {connect, get connected() { return socket !== null; }};
})();
