/* The phone's camera and microphone, as the Python clients' VideoSource (media/sources.py): open
 * them (rear camera first), show the picture in the preview element, flash, focus, switch, and say
 * what the camera can do. Each new video track goes to onTrack(track) (the sender). */

const IDEAL_SIZE = {width: {ideal: 1280}, height: {ideal: 720}};

export class Camera {
  /* preview: the <video> showing the camera; microphone: whether to ask for it (voice possible). */
  constructor(preview, microphone, onTrack) {
    this.preview = preview;
    this.microphone = microphone;
    this.onTrack = onTrack;
    this.stream = null;
    this.track = null;
    this.micTrack = null;
    this.mic = null;  // false: the microphone was refused while the camera was not (video yes, voice no)
    this.facing = "back";
    this.flash = false;
    this.cameras = ["back"];
    this.videoDevices = [];
  }

  /* Ask for the camera and the microphone. Resolves to null, or the refusal's name (NotAllowedError,
   * NotFoundError, …) for the page to explain. */
  async open() {
    let stream;
    const video = {facingMode: {ideal: "environment"}, ...IDEAL_SIZE};
    try {
      stream = await navigator.mediaDevices.getUserMedia({video: video, audio: this.microphone});
    } catch (e) {
      if (!this.microphone) return e.name || "Error";
      try {
        stream = await navigator.mediaDevices.getUserMedia({video: video});
        this.mic = false;
      } catch (e2) {
        return e2.name || "Error";
      }
    }
    this.use(stream, "back");
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      this.videoDevices = devices.filter((d) => d.kind === "videoinput");
      this.cameras = this.videoDevices.length >= 2 ? ["back", "front"] : ["back"];
    } catch (e) {
      this.cameras = ["back"];
    }
    return null;
  }

  use(stream, facing) {
    const old = this.stream;
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    if (old) old.getVideoTracks().forEach((t) => t.stop());
    if (audioTrack) this.micTrack = audioTrack;
    this.stream = new MediaStream([videoTrack]);
    this.track = videoTrack;
    this.facing = facing;
    this.flash = false;
    this.preview.srcObject = this.stream;
    this.preview.play().catch(() => {});
    this.onTrack(videoTrack);
  }

  /* The size the sender asked of the track (the level's: sender.js askSize), else 1280 × 720. */
  size() {
    const c = this.track && this.track.getConstraints ? this.track.getConstraints() : {};
    return c.width && c.height ? {width: c.width, height: c.height} : IDEAL_SIZE;
  }

  /* A torch or focus request keeps the track's other constraints (applyConstraints replaces them all). */
  applyAdvanced(advanced) {
    const current = this.track.getConstraints ? this.track.getConstraints() : {};
    return this.track.applyConstraints({...current, advanced: [advanced]});
  }

  trackCapabilities() {
    return this.track && this.track.getCapabilities ? this.track.getCapabilities() : {};
  }

  /* {flash, focus, cameras} for the capabilities message. */
  capabilities() {
    const caps = this.trackCapabilities();
    return {
      flash: caps.torch === true,
      focus: this.canFocus(caps),
      cameras: this.cameras.slice(),
    };
  }

  /* The camera itself can focus on request (its track's capabilities, not what the browser could
   * express: a laptop's fixed-focus camera is not offered to the agent). */
  canFocus(caps = this.trackCapabilities()) {
    const modes = caps.focusMode || [];
    return modes.indexOf("single-shot") >= 0 || modes.indexOf("manual") >= 0 || caps.pointsOfInterest !== undefined;
  }

  async setFlash(on) {
    if (this.trackCapabilities().torch !== true) { this.flash = false; return false; }
    try {
      await this.applyAdvanced({torch: !!on});
      this.flash = !!on;
      return true;
    } catch (e) {
      return false;
    }
  }

  async setFocus(x, y) {
    if (!this.track || !this.canFocus()) return false;
    const caps = this.trackCapabilities();
    const advanced = {};
    if (navigator.mediaDevices.getSupportedConstraints().pointsOfInterest) advanced.pointsOfInterest = [{x: x, y: y}];
    if ((caps.focusMode || []).indexOf("single-shot") >= 0) advanced.focusMode = "single-shot";
    if (!Object.keys(advanced).length) return false;
    try { await this.applyAdvanced(advanced); return true; } catch (e) { return false; }
  }

  /* The other camera: by facingMode where the browser knows it (phones), else by the other device
   * (cameras that report no facing, like a laptop's or the tests' fake ones). */
  async switch(facing) {
    const want = facing || (this.facing === "back" ? "front" : "back");
    if (want === this.facing || this.cameras.length < 2) return false;
    const size = this.size();  // the level's: the new camera's frames need no scaling either
    const attempts = [{facingMode: {exact: want === "back" ? "environment" : "user"}, ...size}];
    const current = this.track && this.track.getSettings ? this.track.getSettings().deviceId : null;
    const other = this.videoDevices.find((d) => d.deviceId && d.deviceId !== current);
    if (other) attempts.push({deviceId: {exact: other.deviceId}, ...size});
    for (const video of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({video: video});
        this.use(stream, want);
        return true;
      } catch (e) {
        // not this way: try the next
      }
    }
    return false;
  }

  stop() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.micTrack) this.micTrack.stop();
    this.track = null;
  }
}
