/* The quality levels and the adaptation ladder, as clients/anysupport_client/media/quality.py and
 * adaptation.py (docs/clients.md, adaptation): within the level the agent chose, step down the
 * bitrate, then the frame rate, then the size when the link struggles, and climb back when clean.
 * The rules are adaptation.py's, line for line (a test runs both on one script): lateness against
 * the round trip or growing, the first trouble jumping to within the reported goodput, which is
 * then a ceiling for climbs; a slow round trip before the first report starts the call low. */

export const LEVELS = {
  high: {width: 1280, height: 720, fps: 30, bitrate: 2000000},
  medium: {width: 640, height: 480, fps: 30, bitrate: 800000},
  low: {width: 320, height: 240, fps: 15, bitrate: 250000},
};
export const DEFAULT_LEVEL = "medium";
export const MIN_BITRATE = 60000;
export const MIN_FPS = 5;
export const GOODPUT_SHARE = 0.8;
export const GOODPUT_WINDOW = 2.0;  // reports kept: the better of the last 1 and 2 s counts
export const OFFER_WINDOW = 1.0;
export const PACED_STARVED = 1.5;
export const PACED_NO_CLIMB = 1.0;
export const GOODPUT_MIN_SPAN = 0.5;
export const START_LOW_RUNG = 2;
export const START_LOWER_BITRATE = LEVELS.low.bitrate;  // the low level's: where a call over a very slow round trip starts
export const GROWING_REPORTS = 3;
export const GROWTH_MS = 100.0;


/* Python's round() rounds halves to even; the ladder's fps steps need the same answer. */
function pyRound(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (Math.abs(diff - 0.5) < 1e-9) return floor % 2 === 0 ? floor : floor + 1;
  return Math.round(value);
}

function even(value) { return Math.max(2, pyRound(value / 2) * 2); }

export function ladder(top) {
  const rungs = [top];
  for (const factor of [0.7, 0.5]) {
    rungs.push({width: top.width, height: top.height, fps: top.fps,
                bitrate: Math.max(MIN_BITRATE, Math.trunc(top.bitrate * factor))});
  }
  const lowBitrate = rungs[rungs.length - 1].bitrate;
  for (const factor of [2 / 3, 1 / 2]) {
    rungs.push({width: top.width, height: top.height, fps: Math.max(MIN_FPS, pyRound(top.fps * factor)),
                bitrate: lowBitrate});
  }
  const lowFps = rungs[rungs.length - 1].fps;
  for (const factor of [0.75, 0.5]) {
    const area = factor * factor;
    rungs.push({width: even(top.width * factor), height: even(top.height * factor), fps: lowFps,
                bitrate: Math.max(MIN_BITRATE, Math.trunc(lowBitrate * area))});
  }
  return rungs;
}

/* Bits per second in [time, bytes] samples from `since` on (the first one opens the span), or null. */
function rate(samples, since) {
  const kept = samples.filter((s) => since === null || s[0] >= since);
  if (kept.length < 2 || kept[kept.length - 1][0] - kept[0][0] < GOODPUT_MIN_SPAN) return null;
  let bytes = 0;
  for (let k = 1; k < kept.length; k++) bytes += kept[k][1];
  return bytes * 8 / (kept[kept.length - 1][0] - kept[0][0]);
}

export class Adapter {
  constructor(level, options) {
    const o = options || {};
    this.downHold = o.downHold !== undefined ? o.downHold : 1.0;
    this.baseUpAfter = o.upAfter !== undefined ? o.upAfter : 4.0;
    this.maxUpAfter = o.maxUpAfter !== undefined ? o.maxUpAfter : 32.0;
    this.lateMs = o.lateMs !== undefined ? o.lateMs : 150.0;
    this.lossRatio = o.lossRatio !== undefined ? o.lossRatio : 0.02;
    this.startLowRttMs = o.startLowRttMs !== undefined ? o.startLowRttMs : 100.0;
    this.startLowerRttMs = o.startLowerRttMs !== undefined ? o.startLowerRttMs : 450.0;  // see adaptation.py
    this.clock = o.clock || (() => performance.now() / 1000);
    this.history = [];
    this.rttMs = null;
    this.startRttMs = null;  // the least round trip measured before the first report
    this.reports = 0;
    this.delivered = [];  // [report time, bytes received since the one before]
    this.ceiling = null;  // [bits/s the link carried when it struggled, until when]
    this.sentLog = [];  // [time, bytes the sender sent]
    this.lastPaced = -1e9;  // when the sender last held a frame for the link
    this.starvedSince = null;
    this.setLevel(level || DEFAULT_LEVEL);
  }
  setLevel(name) {
    this.level = name;
    this.rungs = ladder(LEVELS[name]);
    this.rung = 0;
    const now = this.clock();
    this.lastTrouble = now;
    this.lastChange = now;
    this.lastClimb = -1e9;
    this.lastDown = -1e9;
    this.lateSince = null;
    this.lateReports = 0;
    this.lateness = [];
    this.upAfter = this.baseUpAfter;
    this.history.push([now, 0, "level " + name]);
    if (this.reports === 0) this.startLow();
  }
  get quality() { return this.rungs[this.rung]; }
  get lowest() { return this.rungs.length - 1; }
  get lateThreshold() { return this.rttMs ? Math.max(this.lateMs, 1.5 * this.rttMs) : this.lateMs; }
  get lateHold() { return this.rttMs ? Math.max(0.5, 2 * this.rttMs / 1000) : 0.5; }
  get goodput() {
    const rates = [rate(this.delivered, this.clock() - OFFER_WINDOW), rate(this.delivered, null)].filter((r) => r !== null);
    return rates.length ? Math.max(...rates) : null;
  }
  /* The sender sent `size` bytes of video (what the goodput is compared with). */
  sent(size) {
    const now = this.clock();
    this.sentLog.push([now, size]);
    while (this.sentLog.length && this.sentLog[0][0] < now - OFFER_WINDOW) this.sentLog.shift();
  }
  get sendRate() {
    const r = rate(this.sentLog, null);
    return r === null ? this.quality.bitrate : r;
  }
  /* The goodput when the link carries clearly less than we send (else null). */
  starved() {
    // not while reports have stopped (an outage): a ceiling near zero would hold the call at the bottom
    if (!this.delivered.length || this.clock() - this.delivered[this.delivered.length - 1][0] > OFFER_WINDOW) return null;
    const goodput = this.goodput;
    return goodput !== null && goodput < 0.9 * this.sendRate ? goodput : null;
  }
  roundTrip(rttMs) {
    this.rttMs = rttMs;
    if (this.reports) return false;
    this.startRttMs = this.startRttMs === null ? rttMs : Math.min(this.startRttMs, rttMs);
    return this.startLow();
  }
  /* Where a call starts when the least round trip before its first report is rttMs. */
  startRung(rttMs) {
    if (rttMs > this.startLowerRttMs) {
      const i = this.rungs.findIndex((q) => q.bitrate <= START_LOWER_BITRATE);
      return i < 0 ? this.lowest : i;
    }
    return rttMs > this.startLowRttMs ? Math.min(START_LOW_RUNG, this.lowest) : 0;
  }
  startLow() {
    const rtt = this.startRttMs;
    if (rtt === null) return false;
    const target = this.startRung(rtt);
    if (target > this.rung || (target < this.rung && this.history[this.history.length - 1][2].startsWith("start"))) {
      return this.move(target, "start " + (target === 0 ? "at the top" : "low") + " (round trip " + Math.round(rtt) + " ms)");
    }
    return false;
  }
  move(target, reason) {
    const rung = Math.min(this.lowest, Math.max(0, target));
    if (rung === this.rung) return false;
    const now = this.clock();
    const down = rung > this.rung;
    this.rung = rung;
    this.lastChange = now;
    if (down) {
      if (now - this.lastClimb < this.upAfter * 2) this.upAfter = Math.min(this.maxUpAfter, this.upAfter * 2);
    } else {
      this.lastClimb = now;
    }
    this.history.push([now, rung, reason]);
    return true;
  }
  step(delta, reason) { return this.move(this.rung + delta, reason); }
  rungForGoodput() {
    const goodput = this.starved();
    if (goodput === null) return this.rung + 1;
    for (let k = this.rung + 1; k < this.rungs.length; k++) {
      if (this.rungs[k].bitrate <= GOODPUT_SHARE * goodput) return k;
    }
    return this.lowest;
  }
  trouble(reason) {
    const now = this.clock();
    this.lastTrouble = now;
    if (now - this.lastDown < this.downHold) return false;
    const target = this.rungForGoodput();
    const goodput = this.starved();
    if (goodput !== null) {  // the link carries less than we send
      this.ceiling = [goodput, now + this.maxUpAfter];
      reason = reason + ", goodput " + Math.round(goodput / 1000) + " kb/s";
    }
    if (this.move(target, reason)) {
      this.lastDown = now;
      this.lateSince = null;  // the next move needs fresh evidence, not the queue this one drains
      this.starvedSince = null;
      this.lateness = [];
      return true;
    }
    return false;
  }
  /* The sender held a frame back for the link: no climb meanwhile; the link carrying clearly less
   * than offered for PACED_STARVED s of it is trouble. True when the quality changed. */
  paced() {
    const now = this.clock();
    this.lastPaced = now;
    if (this.starved() === null) { this.starvedSince = null; return false; }
    if (this.starvedSince === null) this.starvedSince = now;
    return now - this.starvedSince >= PACED_STARVED && this.trouble("paced");
  }
  /* A media_report (receivedBytes: its `bytes`, when it says); true when the quality changed. */
  report(received, lost, lateMs, receivedBytes) {
    const now = this.clock();
    this.reports += 1;
    if (receivedBytes !== undefined && receivedBytes !== null) {
      this.delivered.push([now, receivedBytes]);
      while (this.delivered.length && this.delivered[0][0] < now - GOODPUT_WINDOW) this.delivered.shift();
    }
    const total = received + lost;
    if (total && lost / total > this.lossRatio) return this.trouble("loss " + lost + "/" + total);
    this.lateness.push(lateMs);
    if (this.lateness.length > GROWING_REPORTS + 1) this.lateness.shift();
    if (lateMs > this.lateThreshold) {
      if (this.lateSince === null) { this.lateSince = now; this.lateReports = 0; }
      this.lateReports += 1;
      if (this.lateReports >= 2 && now - this.lateSince >= this.lateHold) {
        return this.trouble("late " + Math.round(lateMs) + " ms");
      }
    } else {
      this.lateSince = null;
    }
    if (this.growing()) return this.trouble("late " + Math.round(lateMs) + " ms and growing");
    return false;
  }
  growing() {
    const seen = this.lateness;
    if (seen.length <= GROWING_REPORTS) return false;
    for (let k = 1; k < seen.length; k++) if (!(seen[k] > seen[k - 1])) return false;
    return seen[seen.length - 1] - seen[0] >= GROWTH_MS;
  }
  tick() {
    const now = this.clock();
    if (this.rung === 0 || now - this.lastTrouble < this.upAfter || now - this.lastChange < this.upAfter
        || now - this.lastPaced < PACED_NO_CLIMB) {
      if (this.rung === 0 && now - this.lastTrouble > this.maxUpAfter) this.upAfter = this.baseUpAfter;
      return false;
    }
    if (this.ceiling !== null && now < this.ceiling[1] && this.rungs[this.rung - 1].bitrate > this.ceiling[0]) {
      return false;  // what the link carried when it last struggled: no climb over it for now
    }
    return this.step(-1, "recovered");
  }
}
