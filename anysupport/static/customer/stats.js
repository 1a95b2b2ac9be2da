/* What the page counts: the call's counters (window.anysupportCall.stats, read by the tests and
 * the browser's console) and the agent's video as it arrives, for media_report (the receiving half
 * of media/receiver.py: _Loss and _Lateness). */

export const LATE_BASE_WINDOW_US = 10e6;  // how long the link's best transit is remembered

/* One object for the whole call; each module counts its own part into it. */
export function callStats() {
  return {
    // call.js (the socket's reconnections, moved, the server's error messages)
    reconnects: 0, moves: 0, server_errors: [],
    // keys.js
    key_requests: 0,
    // sender.js
    video_sent: 0, video_bytes: 0, keyframes_sent: 0, video_dropped: 0, video_held: 0, video_stale: 0, encode_errors: 0,
    video_direct: 0,
    // call.js (pongs)
    rtt_ms: null,
    // microphone.js
    audio_sent: 0,
    // call.js (every binary message) and receiver.js
    frames_in: 0, refused: {}, agent_frames: 0, agent_size: null,
    audio_frames: 0, audio_rms: 0, audio_played: 0, audio_context: null,
  };
}

/* Frames lost (sequence gaps) and lateness against the link's best. The clocks of the two ends
 * need not agree: each frame's transit minus the smallest transit seen recently is how late it is. */
export class ReceiveStats {
  constructor() {
    this.expected = null; this.received = 0; this.lost = 0; this.base = []; this.samples = [];
    this.bytes = 0; this.lastUs = null;
  }

  see(sequence, captureUs, arrivalUs, size) {
    this.bytes += size || 0;
    if (this.lastUs === null || captureUs > this.lastUs) this.lastUs = captureUs;
    if (this.expected !== null && sequence > this.expected) this.lost += sequence - this.expected;
    if (this.expected === null || sequence >= this.expected) this.expected = sequence + 1;
    this.received += 1;
    const transit = arrivalUs - captureUs;
    while (this.base.length && this.base[this.base.length - 1][1] >= transit) this.base.pop();
    this.base.push([arrivalUs, transit]);
    while (this.base[0][0] < arrivalUs - LATE_BASE_WINDOW_US) this.base.shift();
    this.samples.push(Math.max(0, (transit - this.base[0][1]) / 1000));
  }

  /* {received, lost, late_ms, bytes, last_us} since the last take (last_us: the newest capture time
   * received so far), then start counting again. */
  take() {
    const sorted = this.samples.slice().sort((a, b) => a - b);
    let late = 0;
    if (sorted.length) {  // numpy's default (linear) 80th percentile
      const rank = 0.8 * (sorted.length - 1);
      const low = Math.floor(rank);
      const high = Math.min(sorted.length - 1, low + 1);
      late = sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
    const report = {received: this.received, lost: this.lost, late_ms: Math.round(Math.min(600000, late) * 10) / 10,
                    bytes: this.bytes};
    if (this.lastUs !== null) report.last_us = this.lastUs;
    this.received = 0;
    this.bytes = 0;
    this.lost = 0;
    this.samples = [];
    return report;
  }
}
