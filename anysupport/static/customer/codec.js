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

/* What the codecs of this browser can do (false where the check throws). */
export async function codecSupport() {
  const found = {video_encode: false, video_decode: false, audio_encode: false, audio_decode: false};
  try {
    if (typeof VideoEncoder === "function") {
      found.video_encode = (await VideoEncoder.isConfigSupported({codec: CODEC, width: 640, height: 480,
        bitrate: 800000, framerate: 30, latencyMode: "realtime", avc: {format: "annexb"}})).supported === true;
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
  }

  /* Ready for quality q; true when (re)configured, after which the next frame must be a keyframe. */
  configure(q) {
    const size = q.width + "x" + q.height + "@" + q.fps + "/" + q.bitrate;
    if (this.encoder && this.encoder.state !== "closed" && this.configured === size) return false;
    if (!this.encoder || this.encoder.state === "closed") {
      this.encoder = new VideoEncoder({
        output: (chunk) => this.output(bytesOf(chunk), chunk.type === "key", chunk.timestamp),
        error: () => { this.encoder = null; this.onError(); },
      });
    }
    this.encoder.configure(h264Config(q));
    this.configured = size;
    return true;
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
