/* What this browser can do, found before anything is asked of the user: the page runs the call
 * only with a secure origin, a camera, an H.264 encoder and WebCrypto (X25519 from WebCrypto where it
 * has it, else in JavaScript: `x25519`), and offers voice only with Opus both ways (from WebCodecs
 * where it has Opus, else in WebAssembly: `audio_encoder`, `audio_decoder`). The codecs and the keys
 * answer for themselves (codec.js, opus-wasm.js, e2e.js). */

import {codecSupport} from "./codec.js";
import {webCryptoSupported, webCryptoX25519} from "./e2e.js";
import {wasmOpusSupported} from "./opus-wasm.js";

export async function detect() {
  const found = {
    secure: window.isSecureContext === true,
    camera: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
    ...await codecSupport(),
    webcrypto: await webCryptoSupported(),
    x25519: (await webCryptoX25519()) ? "webcrypto" : "javascript",
    track_processor: typeof window.MediaStreamTrackProcessor === "function",
    frame_callback: "requestVideoFrameCallback" in HTMLVideoElement.prototype,
  };
  // Opus from WebCodecs where it can (iOS 26+), else in WebAssembly (iOS 17–25): each way on its own
  const wasm = (found.audio_encode && found.audio_decode) ? false : await wasmOpusSupported();
  found.audio_encoder = found.audio_encode ? "webcodecs" : (wasm ? "wasm" : null);
  found.audio_decoder = found.audio_decode ? "webcodecs" : (wasm ? "wasm" : null);
  found.audio_encode = found.audio_encoder !== null;
  found.audio_decode = found.audio_decoder !== null;
  found.video = found.secure && found.camera && found.video_encode && found.webcrypto;
  found.voice = found.video && found.audio_encode && found.audio_decode;
  return found;
}
