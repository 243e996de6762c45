// 8 kHz G.711 mu-law audio in the browser, for the softphone and the agent's phone: the
// microphone as 20 ms frames (the AudioContext runs at 8 kHz, so the browser resamples), and
// frames played back gapless in arrival order.
const MULAW_RATE = 8000, MULAW_FRAME = 160;

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

// 20 ms of silence, as a frame: what a muted microphone sends (the line stays open).
const MULAW_SILENCE = btoa(String.fromCharCode(...new Array(MULAW_FRAME).fill(0xff)));

// Calls onFrame(base64 payload) for every 20 ms of microphone audio.
async function captureFrames(audio, onFrame) {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const input = audio.createMediaStreamSource(stream);
  const processor = audio.createScriptProcessor(1024, 1, 1);
  let pending = [];
  processor.onaudioprocess = (event) => {
    for (const value of event.inputBuffer.getChannelData(0)) {
      pending.push(muLawEncode(Math.max(-32768, Math.min(32767, Math.round(value * 32767)))));
      if (pending.length === MULAW_FRAME) {
        onFrame(btoa(String.fromCharCode(...pending)));
        pending = [];
      }
    }
  };
  input.connect(processor);
  processor.connect(audio.destination);
  return stream;
}

// A player queues frames one after another; stop() drops what is still to be heard; level() is
// the loudness (RMS, 0 to 1) of what arrived since it was last asked (0: nothing, or silence).
function framePlayer(audio) {
  let playAt = 0, sources = [], energy = 0, count = 0;
  return {
    play(payload) {
      const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
      const buffer = audio.createBuffer(1, bytes.length, MULAW_RATE);
      const samples = buffer.getChannelData(0);
      bytes.forEach((b, i) => { samples[i] = muLawDecode(b) / 32768; energy += samples[i] ** 2; });
      count += bytes.length;
      const source = audio.createBufferSource();
      source.buffer = buffer;
      source.connect(audio.destination);
      playAt = Math.max(playAt, audio.currentTime);
      source.start(playAt);
      playAt += buffer.duration;
      sources.push(source);
      source.onended = () => { sources = sources.filter((s) => s !== source); };
    },
    stop() { sources.forEach((s) => s.stop()); sources = []; playAt = 0; },
    level() {
      const rms = count ? Math.sqrt(energy / count) : 0;
      energy = count = 0;
      return rms;
    },
    get playAt() { return playAt; },
  };
}
