/* Opus in WebAssembly, for browsers whose WebCodecs has no Opus (Safari on iOS 17–25: no AudioEncoder
 * nor AudioDecoder): libopus compiled by @evan/opus (static/vendor/evan-opus/opus.wasm, see
 * static/vendor/README.md), whose module exports libopus's own functions; this file is its glue (the
 * package's JavaScript is for Node). The same packets as WebCodecs gives: 48 kHz, mono, 20 ms, 32 kb/s,
 * application voip (docs/protocol.md, "Payloads: H.264 video and Opus audio"). Compiling it needs
 * 'wasm-unsafe-eval' in the customer page's CSP, and nothing more: no JavaScript is evaluated
 * (docs/security.md). It runs on the page's thread: a 20 ms frame takes under 1 ms to encode and about
 * 0.2 ms to decode in V8 here (node benchmarks/opus_wasm.mjs), and a Worker would have the static files'
 * CSP, which refuses WebAssembly.
 *
 * The same shapes as codec.js's OpusEncoder / OpusDecoder, except that the decoder hands out
 * (Float32Array samples, sampleRate) instead of an AudioData (which these browsers lack too). */

const WASM = new URL("../vendor/evan-opus/opus.wasm", import.meta.url).href;
const SAMPLE_RATE = 48000;
const CHANNELS = 1;
const FRAME = 960;  // 20 ms at 48 kHz
const APPLICATION_VOIP = 2048;
const SET_BITRATE = 4002;  // OPUS_SET_BITRATE_REQUEST
const MAX_PACKET = 4000;  // libopus's recommended output buffer
const MAX_FRAME = 5760;  // 120 ms at 48 kHz, the longest Opus packet
export const WASM_OPUS_BITRATE = 32000;

let runtime = null;

/* libopus's exports (opus_encoder_init, opus_encode, …, malloc, free, memory), compiled once. */
export function loadOpus() {
  if (!runtime) {
    runtime = (async () => {
      const response = await fetch(WASM);
      if (!response.ok) throw new Error("opus.wasm did not load");
      const ignore = () => 0;  // libopus writes no files; a WASI stub for each call it may link
      const {instance} = await WebAssembly.instantiate(await response.arrayBuffer(), {
        wasi_snapshot_preview1: {fd_seek: ignore, fd_write: ignore, fd_close: ignore, proc_exit: ignore},
        env: {emscripten_notify_memory_growth: () => {}},  // views are made afresh at each call
      });
      return instance.exports;
    })();
    runtime.catch(() => { runtime = null; });
  }
  return runtime;
}

/* Whether Opus in WebAssembly works here: the module compiles (the CSP allows it) and a silent frame
 * goes through the encoder and back. */
export async function wasmOpusSupported() {
  if (typeof WebAssembly !== "object") return false;
  try {
    const codec = new WasmOpus(await loadOpus());
    try {
      const packet = codec.encode(new Float32Array(FRAME));
      return packet.length > 0 && codec.decode(packet).length === FRAME;
    } finally {
      codec.close();
    }
  } catch (e) {
    return false;
  }
}

/* One libopus encoder and decoder and their buffers in the WebAssembly memory. */
class WasmOpus {
  constructor(opus) {
    this.opus = opus;
    this.pointers = [];
    const alloc = (bytes) => {
      const pointer = opus.malloc(bytes);
      if (!pointer) throw new Error("opus: out of memory");
      this.pointers.push(pointer);
      return pointer;
    };
    this.encoder = alloc(opus.opus_encoder_get_size(CHANNELS));
    this.check(opus.opus_encoder_init(this.encoder, SAMPLE_RATE, CHANNELS, APPLICATION_VOIP));
    this.check(opus.opus_encoder_ctl_set(this.encoder, SET_BITRATE, WASM_OPUS_BITRATE));
    this.decoder = alloc(opus.opus_decoder_get_size(CHANNELS));
    this.check(opus.opus_decoder_init(this.decoder, SAMPLE_RATE, CHANNELS));
    this.pcm = alloc(MAX_FRAME * CHANNELS * 2);
    this.packet = alloc(MAX_PACKET);
  }

  check(code) {
    if (code < 0) throw new Error("opus: error " + code);
    return code;
  }

  /* 960 Float32 samples (-1…1) → one Opus packet. */
  encode(samples) {
    if (samples.length !== FRAME) throw new Error("opus: a frame is " + FRAME + " samples");
    const pcm = new Int16Array(this.opus.memory.buffer, this.pcm, FRAME);
    for (let i = 0; i < FRAME; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      pcm[i] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
    }
    const length = this.check(this.opus.opus_encode(this.encoder, this.pcm, FRAME, this.packet, MAX_PACKET));
    return new Uint8Array(this.opus.memory.buffer, this.packet, length).slice();
  }

  /* One Opus packet → its Float32 samples (48 kHz mono). */
  decode(packet) {
    if (packet.length > MAX_PACKET) throw new Error("opus: packet too large");
    new Uint8Array(this.opus.memory.buffer, this.packet, packet.length).set(packet);
    const count = this.check(this.opus.opus_decode(this.decoder, this.packet, packet.length, this.pcm, MAX_FRAME, 0));
    const pcm = new Int16Array(this.opus.memory.buffer, this.pcm, count);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = pcm[i] / 32768;
    return out;
  }

  close() {
    for (const pointer of this.pointers) this.opus.free(pointer);
    this.pointers = [];
  }
}

/* What the encoder and the decoder share: the runtime loads once they exist (codec stays null until
 * then), a step that throws fails the codec once (onError), close() frees it. */
class WasmOpusCodec {
  constructor(output, onError) {
    this.output = output;
    this.onError = onError;
    this.codec = null;
    this.closed = false;
    loadOpus().then((module) => {
      if (!this.closed) this.codec = new WasmOpus(module);
    }, () => this.fail());
  }

  get usable() { return !this.closed; }

  /* step(codec)'s result, or undefined when it threw (the codec has then failed). */
  use(step) {
    try {
      return step(this.codec);
    } catch (e) {
      this.fail();
      return undefined;
    }
  }

  fail() {
    if (this.closed) return;
    this.close();
    this.onError();
  }

  close() {
    this.closed = true;
    if (this.codec) this.codec.close();
    this.codec = null;
  }
}

/* 20 ms mono Float32 blocks at 48 kHz in, Opus packets out: output(payload, timestampUs), as
 * codec.js's OpusEncoder. Starts at once; blocks given before the runtime is ready are dropped. */
export class WasmOpusEncoder extends WasmOpusCodec {
  encode(samples, sampleRate, timestampUs) {
    if (!this.codec) return;
    if (sampleRate !== SAMPLE_RATE) { this.fail(); return; }
    const payload = this.use((codec) => codec.encode(samples));
    if (payload !== undefined) this.output(payload, timestampUs);
  }
}

/* Opus packets in; output(samples, sampleRate) with Float32 samples, as codec.js's OpusDecoder but
 * without AudioData. Packets that come before the runtime is ready are dropped. */
export class WasmOpusDecoder extends WasmOpusCodec {
  decode(payload) {
    if (!this.codec) return;
    const samples = this.use((codec) => codec.decode(payload));
    if (samples !== undefined) this.output(samples, SAMPLE_RATE);
  }
}
