/* AudioWorklet: the microphone as 20 ms blocks of 960 mono samples (48 kHz), posted to the page,
 * which encodes them as Opus (microphone.js). A static file, as the page's CSP wants. */
"use strict";

const BLOCK = 960;

class MicrophoneTap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = new Float32Array(BLOCK);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    let at = 0;
    while (at < channel.length) {
      const n = Math.min(channel.length - at, BLOCK - this.filled);
      this.buffer.set(channel.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === BLOCK) {
        this.port.postMessage(this.buffer, [this.buffer.buffer]);
        this.buffer = new Float32Array(BLOCK);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("anysupport-microphone", MicrophoneTap);
