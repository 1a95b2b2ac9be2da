/* What this browser can do, found before anything is asked of the user: the page runs the call
 * only with a secure origin, a camera, an H.264 encoder and WebCrypto X25519, and offers voice only
 * with Opus both ways. The codecs and the keys answer for themselves (codec.js, e2e.js). */

import {codecSupport} from "./codec.js";
import {webCryptoSupported} from "./e2e.js";

export async function detect() {
  const found = {
    secure: window.isSecureContext === true,
    camera: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
    ...await codecSupport(),
    webcrypto: await webCryptoSupported(),
    track_processor: typeof window.MediaStreamTrackProcessor === "function",
    frame_callback: "requestVideoFrameCallback" in HTMLVideoElement.prototype,
  };
  found.video = found.secure && found.camera && found.video_encode && found.webcrypto;
  found.voice = found.video && found.audio_encode && found.audio_decode;
  return found;
}
