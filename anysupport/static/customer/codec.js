/* Every use of WebCodecs in the page, as clients/anysupport_client/media/codec.py is for the Python
 * clients: H.264 out and in, Opus out and in, and what this browser's codecs can do. The rest of
 * the page hands frames in and gets payloads (Uint8Array) or decoded frames out, so an encoder
 * whose output must be rewritten, or a codec that WebCodecs lacks, changes this module only. */

export const CODEC = "avc1.42E01F";  // H.264 constrained baseline, level 3.1 (720p30)
export const OPUS = {codec: "opus", sampleRate: 48000, numberOfChannels: 1};
export const OPUS_BITRATE = 32000;
export const OPUS_FRAME_US = 20000;

function h264Config(q) {
  return {codec: CODEC, width: q.width, height: q.height, bitrate: q.bitrate, framerate: q.fps,
          latencyMode: "realtime", bitrateMode: "variable", avc: {format: "annexb"}};
}

function bytesOf(chunk) {
  const payload = new Uint8Array(chunk.byteLength);
  chunk.copyTo(payload);
  return payload;
}

/* The page sends H.264 as Annex B (docs/protocol.md, payloads). An encoder asked for
 * `avc: {format: "annexb"}` may still emit length-prefixed AVC (WebKitGTK 2.50 does, and its
 * isConfigSupported says yes): each NAL unit behind a 1-, 2- or 4-byte big-endian length, the length
 * size and the parameter sets (SPS, PPS) in the avcC record of `decoderConfig.description`
 * (ISO/IEC 14496-15 5.3.3.1). These functions turn that into Annex B. */
const START_CODE = Uint8Array.of(0, 0, 0, 1);
const NAL_SPS = 7;

function bytesView(buffer) {
  if (buffer instanceof Uint8Array) return buffer;
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return new Uint8Array(buffer);
}

/* avcC → {lengthSize, sps: [Uint8Array], pps: [Uint8Array]}; throws on a record that is not one. */
export function parseAvcC(description) {
  const d = bytesView(description);
  if (d.length < 7 || d[0] !== 1) throw new Error("not an avcC record");
  const lengthSize = (d[4] & 3) + 1;
  if (lengthSize === 3) throw new Error("avcC length size 3 is not allowed");
  let at = 6;  // after the SPS count
  const sets = (count) => {
    const out = [];
    for (let i = 0; i < count; i++) {
      if (at + 2 > d.length) throw new Error("avcC parameter set past its end");
      const size = (d[at] << 8) | d[at + 1];
      at += 2;
      if (at + size > d.length) throw new Error("avcC parameter set past its end");
      out.push(d.slice(at, at + size));
      at += size;
    }
    return out;
  };
  const sps = sets(d[5] & 0x1f);
  if (at >= d.length) throw new Error("avcC without its PPS count");
  const pps = sets(d[at++]);
  return {lengthSize, sps, pps};
}

/* The NAL units of a length-prefixed access unit; throws unless the lengths cover it exactly. */
export function splitLengthPrefixed(data, lengthSize) {
  const d = bytesView(data);
  const units = [];
  let at = 0;
  while (at < d.length) {
    if (at + lengthSize > d.length) throw new Error("NAL length past the end");
    let size = 0;
    for (let i = 0; i < lengthSize; i++) size = size * 256 + d[at + i];
    at += lengthSize;
    if (size === 0 || at + size > d.length) throw new Error("NAL unit past the end");
    units.push(d.subarray(at, at + size));
    at += size;
  }
  if (units.length === 0) throw new Error("empty access unit");
  return units;
}

/* One length-prefixed access unit as Annex B; a keyframe without its own SPS gets the avcC's SPS
 * and PPS in front, so the agent's decoder can start at any keyframe. */
export function lengthPrefixedToAnnexB(data, avcc, keyframe) {
  const units = splitLengthPrefixed(data, avcc.lengthSize);
  const hasSps = units.some((u) => (u[0] & 0x1f) === NAL_SPS);
  const all = keyframe && !hasSps ? [...avcc.sps, ...avcc.pps, ...units] : units;
  const out = new Uint8Array(all.reduce((n, u) => n + START_CODE.length + u.length, 0));
  let at = 0;
  for (const u of all) {
    out.set(START_CODE, at);
    out.set(u, at + START_CODE.length);
    at += START_CODE.length + u.length;
  }
  return out;
}

/* What an encoder's first keyframe is: "avc" when the description is avcC and its length size covers
 * the chunk exactly, "annexb" when it begins with a start code, else null (nothing we can send). */
export function h264Format(data, description) {
  const d = bytesView(data);
  if (description) {
    try {
      splitLengthPrefixed(d, parseAvcC(description).lengthSize);
      return "avc";
    } catch (e) {
      // not length-prefixed after all: perhaps Annex B with a description beside it
    }
  }
  const start = d.length > 4 && d[0] === 0 && d[1] === 0 && (d[2] === 1 || (d[2] === 0 && d[3] === 1));
  return start ? "annexb" : null;
}

/* The first WebCodecs call of a page WebKitGTK 2.50 opened without a tap (a restored tab whose call
 * starts at load) crashed its web process (a GStreamer start-up race, fixed after 2.50); touching
 * the media stack first avoids it. Cheap elsewhere. */
export function warmUpMediaStack() {
  try {
    document.createElement("video").canPlayType('video/mp4; codecs="avc1.42E01E"');
  } catch (e) {
    // no media elements: WebCodecs will answer for itself
  }
}

const PROBE_WIDTH = 160, PROBE_HEIGHT = 120, PROBE_MS = 4000;
let h264Output = "annexb";  // what probeH264Output found; H264Encoder converts when "avc"

/* Encode one grey test frame with the page's settings and look at the bytes: "annexb", "avc" or
 * null (an error, no output within PROBE_MS, or bytes of neither kind). isConfigSupported is not
 * trusted: WebKitGTK 2.50 says yes to Annex B and sends length-prefixed AVC. */
export async function probeH264Output() {
  let encoder = null, timer = null;
  try {
    const first = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), PROBE_MS);
      encoder = new VideoEncoder({
        output: (chunk, metadata) => {
          const config = metadata && metadata.decoderConfig;
          resolve(h264Format(bytesOf(chunk), config && config.description));
        },
        error: () => resolve(null),
      });
    });
    encoder.configure(h264Config({width: PROBE_WIDTH, height: PROBE_HEIGHT, fps: 15, bitrate: 200000}));
    const pixels = new Uint8Array(PROBE_WIDTH * PROBE_HEIGHT * 3 / 2).fill(128);
    const frame = new VideoFrame(pixels, {format: "I420", codedWidth: PROBE_WIDTH, codedHeight: PROBE_HEIGHT,
                                          timestamp: 0});
    encoder.encode(frame, {keyFrame: true});
    frame.close();
    encoder.flush().catch(() => {});
    return await first;
  } catch (e) {
    return null;
  } finally {
    clearTimeout(timer);
    closeCodec(encoder);
  }
}

/* What the codecs of this browser can do (false where the check throws). video_encode is true only
 * when the encoder really gave H.264 we can send; video_encode_output says what it gave ("annexb",
 * "avc"; "none" when isConfigSupported said yes and the test frame gave nothing usable). */
export async function codecSupport() {
  warmUpMediaStack();
  const found = {video_encode: false, video_encode_output: null, video_decode: false, audio_encode: false,
                 audio_decode: false};
  try {
    if (typeof VideoEncoder === "function") {
      const claimed = (await VideoEncoder.isConfigSupported({codec: CODEC, width: 640, height: 480,
        bitrate: 800000, framerate: 30, latencyMode: "realtime", avc: {format: "annexb"}})).supported === true;
      if (claimed) {
        const output = await probeH264Output();
        found.video_encode_output = output || "none";
        found.video_encode = output !== null;
        if (output) h264Output = output;
      }
    }
    if (typeof VideoDecoder === "function") {
      found.video_decode = (await VideoDecoder.isConfigSupported({codec: CODEC})).supported === true;
    }
    if (typeof AudioEncoder === "function") {
      found.audio_encode = (await AudioEncoder.isConfigSupported({...OPUS, bitrate: OPUS_BITRATE})).supported === true;
    }
    if (typeof AudioDecoder === "function") {
      found.audio_decode = (await AudioDecoder.isConfigSupported(OPUS)).supported === true;
    }
  } catch (e) {
    // a browser that throws on the check cannot do it
  }
  return found;
}

/* H.264 Annex B at a quality (size, frame rate, bitrate); output(payload, keyframe, timestampUs). */
export class H264Encoder {
  constructor(output, onError) {
    this.output = output;
    this.onError = onError;
    this.encoder = null;
    this.configured = null;
    this.avcc = null;
  }

  /* Ready for quality q; true when (re)configured, after which the next frame must be a keyframe. */
  configure(q) {
    const size = q.width + "x" + q.height + "@" + q.fps + "/" + q.bitrate;
    if (this.encoder && this.encoder.state !== "closed" && this.configured === size) return false;
    if (!this.encoder || this.encoder.state === "closed") {
      this.avcc = null;
      this.encoder = new VideoEncoder({
        output: (chunk, metadata) => this.encoded(chunk, metadata),
        error: () => { this.encoder = null; this.onError(); },
      });
    }
    this.encoder.configure(h264Config(q));
    this.configured = size;
    return true;
  }

  /* Annex B out whatever the encoder gives (probeH264Output found which); a chunk that cannot be
   * converted is dropped and the encoder reset, so the next frame is a keyframe. */
  encoded(chunk, metadata) {
    let payload = bytesOf(chunk);
    const keyframe = chunk.type === "key";
    if (h264Output === "avc") {
      const config = metadata && metadata.decoderConfig;
      try {
        if (config && config.description) this.avcc = parseAvcC(config.description);
        if (!this.avcc) throw new Error("length-prefixed H.264 before its avcC");
        payload = lengthPrefixedToAnnexB(payload, this.avcc, keyframe);
      } catch (e) {
        closeCodec(this.encoder);
        this.encoder = null;
        this.onError();
        return;
      }
    }
    this.output(payload, keyframe, chunk.timestamp);
  }

  get queueSize() { return this.encoder ? this.encoder.encodeQueueSize : 0; }

  encode(frame, keyframe) { this.encoder.encode(frame, {keyFrame: keyframe}); }

  close() {
    closeCodec(this.encoder);
    this.encoder = null;
  }
}

/* H.264 Annex B in; output(VideoFrame), which the receiver must close. */
export class H264Decoder {
  constructor(output, onError) {
    this.decoder = new VideoDecoder({output: output, error: onError});
    this.decoder.configure({codec: CODEC, optimizeForLatency: true});
  }

  get usable() { return this.decoder.state !== "closed"; }

  decode(payload, keyframe, timestampUs) {
    this.decoder.decode(new EncodedVideoChunk({type: keyframe ? "key" : "delta", timestamp: timestampUs, data: payload}));
  }

  close() { closeCodec(this.decoder); }
}

/* 20 ms mono Float32 blocks at 48 kHz in, Opus packets out: output(payload, timestampUs). */
export class OpusEncoder {
  constructor(output, onError) {
    this.encoder = new AudioEncoder({output: (chunk) => output(bytesOf(chunk), chunk.timestamp), error: onError});
    this.encoder.configure({...OPUS, bitrate: OPUS_BITRATE, opus: {frameDuration: OPUS_FRAME_US}});
  }

  encode(samples, sampleRate, timestampUs) {
    const data = new AudioData({format: "f32", sampleRate: sampleRate, numberOfFrames: samples.length,
                                numberOfChannels: 1, timestamp: timestampUs, data: samples});
    this.encoder.encode(data);
    data.close();
  }

  close() { closeCodec(this.encoder); }
}

/* Opus packets in; output(AudioData), which the receiver must close. */
export class OpusDecoder {
  constructor(output, onError) {
    this.decoder = new AudioDecoder({output: output, error: onError});
    this.decoder.configure(OPUS);
  }

  get usable() { return this.decoder.state !== "closed"; }

  decode(payload, timestampUs) {
    this.decoder.decode(new EncodedAudioChunk({type: "key", timestamp: timestampUs, data: payload}));
  }

  close() { closeCodec(this.decoder); }
}

function closeCodec(codec) {
  if (codec && codec.state !== "closed") {
    try { codec.close(); } catch (e) { /* closed meanwhile */ }
  }
}
