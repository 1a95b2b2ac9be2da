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

/* The sound outputs the page can choose between: the browser's audio outputs, when the context can be
 * moved to one (AudioContext.setSinkId) and there is more than one; none where it cannot (Safari, most
 * phones' browsers: there the phone decides, and the menu hides the button). */
export async function audioOutputs() {
  if (!shared || typeof shared.setSinkId !== "function" || !navigator.mediaDevices?.enumerateDevices) return [];
  const all = await navigator.mediaDevices.enumerateDevices();
  const outputs = all.filter((d) => d.kind === "audiooutput" && d.deviceId);
  return outputs.length > 1 ? outputs : [];
}

/* Play the agent's voice on this output ("default": the system's). */
export async function useAudioOutput(deviceId) {
  await shared.setSinkId(deviceId === "default" ? "" : deviceId);
}

/* The output in use: its deviceId, "default" for the system's. */
export function audioOutput() {
  return (shared && shared.sinkId) || "default";
}
