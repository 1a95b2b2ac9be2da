/* Sending voice, as media/sender.py's AudioSender: the microphone through the page's AudioContext
 * into an AudioWorklet (mic-worklet.js, a static file as the CSP wants) that hands over 20 ms blocks,
 * then Opus (codec.js, or opus-wasm.js where WebCodecs has none) → send(stream, payload, keyframe,
 * timestampUs, counted). The voice call is on while the agent's video is: the call starts and stops it. */

import {unlockAudio} from "./audio.js";
import {OpusEncoder} from "./codec.js";
import {STREAM, nowUs} from "./e2e.js";
import {WasmOpusEncoder} from "./opus-wasm.js";

const MIC_WORKLET = new URL("./mic-worklet.js", import.meta.url).href;
const BLOCK_US = 20000;
const RESYNC_US = 100000;

/* The voice's capture timestamps from its sample count, as RTP's: each 20 ms block is stamped 20 ms
 * after the one before it, whenever the worklet's message happens to reach the page (a busy page hands
 * them over in bursts, and the arrival time would make the gaps anything from 3 to 50 ms). It is set to
 * the wall clock at the first block, and again when the two part by more than RESYNC_US (blocks lost
 * while the page was stalled, or clock drift); the stamps only go forward. clock: microseconds. */
export class VoiceClock {
  constructor(clock = nowUs) {
    this.clock = clock;
    this.next = null;
    this.last = -Infinity;
  }

  /* The timestamp of a block handed over now (its first sample was captured about a block ago). */
  stamp() {
    const captured = this.clock() - BLOCK_US;
    if (this.next === null || Math.abs(captured - this.next) > RESYNC_US) this.next = Math.max(captured, this.last + 1);
    const stamp = this.next;
    this.last = stamp;
    this.next += BLOCK_US;
    return stamp;
  }
}

export class AudioSender {
  /* options: possible (voice works in this browser: support.js), wasm (Opus in WebAssembly, not
   * WebCodecs), send (as above), ready() (keys and state allow sending), stats (callStats) */
  constructor(options) {
    this.possible = options.possible;
    this.Encoder = options.wasm ? WasmOpusEncoder : OpusEncoder;
    this.send = options.send;
    this.ready = options.ready;
    this.stats = options.stats;
    this.encoder = null;
    this.token = 0;
    this.graph = null;
  }

  async start(micTrack) {
    if (!this.possible || !micTrack || this.encoder) return;
    const context = unlockAudio();
    if (!context) return;
    const token = ++this.token;
    if (!context.anysupportWorklet) context.anysupportWorklet = context.audioWorklet.addModule(MIC_WORKLET);
    try {
      await context.anysupportWorklet;
    } catch (e) {
      return;
    }
    if (token !== this.token) return;  // the call ended (or the voice stopped) meanwhile
    this.encoder = new this.Encoder(
      (payload, timestampUs) => this.send(STREAM.customer_audio, payload, false, timestampUs,
                                          () => { this.stats.audio_sent += 1; }),
      () => { this.encoder = null; });
    const source = context.createMediaStreamSource(new MediaStream([micTrack]));
    const tap = new AudioWorkletNode(context, "anysupport-microphone", {numberOfInputs: 1, numberOfOutputs: 1,
                                                                        channelCount: 1, channelCountMode: "explicit"});
    const silent = context.createGain();  // pulled by the destination, so the tap runs; nothing is heard
    silent.gain.value = 0;
    tap.connect(silent).connect(context.destination);
    const clock = new VoiceClock();
    tap.port.onmessage = (event) => {
      const encoder = this.encoder;
      const stamp = clock.stamp();  // every block counts, sent or not
      if (!encoder || !this.ready()) return;
      encoder.encode(event.data, context.sampleRate, stamp);
    };
    source.connect(tap);
    this.graph = {source: source, tap: tap, silent: silent};
  }

  stop() {
    this.token += 1;
    if (this.encoder) this.encoder.close();
    this.encoder = null;
    if (this.graph) {
      this.graph.source.disconnect();
      this.graph.silent.disconnect();
      this.graph.tap.port.onmessage = null;
      this.graph = null;
    }
  }
}
