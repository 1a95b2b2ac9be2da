/* The quality levels and the adaptation ladder, as clients/anysupport_client/media/quality.py and
 * adaptation.py (docs/clients.md, adaptation): within the level the agent chose, step down the
 * bitrate, then the frame rate, then the size when the link struggles, and climb back when clean. */

export const LEVELS = {
  high: {width: 1280, height: 720, fps: 30, bitrate: 2000000},
  medium: {width: 640, height: 480, fps: 30, bitrate: 800000},
  low: {width: 320, height: 240, fps: 15, bitrate: 250000},
};
export const DEFAULT_LEVEL = "medium";
export const MIN_BITRATE = 60000;
export const MIN_FPS = 5;


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

export class Adapter {
  constructor(level, options) {
    const o = options || {};
    this.downHold = o.downHold !== undefined ? o.downHold : 1.0;
    this.baseUpAfter = o.upAfter !== undefined ? o.upAfter : 4.0;
    this.maxUpAfter = o.maxUpAfter !== undefined ? o.maxUpAfter : 32.0;
    this.lateThreshold = o.lateMs !== undefined ? o.lateMs : 150.0;
    this.lossRatio = o.lossRatio !== undefined ? o.lossRatio : 0.02;
    this.clock = o.clock || (() => performance.now() / 1000);
    this.history = [];
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
    this.lateBefore = false;
    this.upAfter = this.baseUpAfter;
    this.history.push([now, 0, "level " + name]);
  }
  get quality() { return this.rungs[this.rung]; }
  get lowest() { return this.rungs.length - 1; }
  step(delta, reason) {
    const rung = Math.min(this.lowest, Math.max(0, this.rung + delta));
    if (rung === this.rung) return false;
    const now = this.clock();
    this.rung = rung;
    this.lastChange = now;
    if (delta > 0) {
      if (now - this.lastClimb < this.upAfter * 2) this.upAfter = Math.min(this.maxUpAfter, this.upAfter * 2);
    } else {
      this.lastClimb = now;
    }
    this.history.push([now, rung, reason]);
    return true;
  }
  trouble(reason) {
    const now = this.clock();
    this.lastTrouble = now;
    if (now - this.lastDown < this.downHold) return false;
    if (this.step(1, reason)) { this.lastDown = now; return true; }
    return false;
  }
  report(received, lost, lateMs) {
    const total = received + lost;
    if (total && lost / total > this.lossRatio) return this.trouble("loss " + lost + "/" + total);
    const late = lateMs > this.lateThreshold;
    const wasLate = this.lateBefore;
    this.lateBefore = late;
    if (late && wasLate) return this.trouble("late " + Math.round(lateMs) + " ms");
    return false;
  }
  tick() {
    const now = this.clock();
    if (this.rung === 0 || now - this.lastTrouble < this.upAfter || now - this.lastChange < this.upAfter) {
      if (this.rung === 0 && now - this.lastTrouble > this.maxUpAfter) this.upAfter = this.baseUpAfter;
      return false;
    }
    return this.step(-1, "recovered");
  }
}
