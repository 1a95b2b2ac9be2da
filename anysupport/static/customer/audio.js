/* The one AudioContext of the page (48 kHz), shared by the microphone (microphone.js) and the
 * agent's voice (receiver.js). It is made and resumed inside a user gesture (the join button),
 * because a browser plays sound only from a context a tap has unlocked. */

let shared = null;

export function unlockAudio() {
  try {
    if (!shared) shared = new AudioContext({sampleRate: 48000, latencyHint: "interactive"});
    if (shared.state === "suspended") shared.resume();
  } catch (e) {
    shared = null;
  }
  return shared;
}

/* The context unlockAudio made, or null. */
export function audioContext() { return shared; }
