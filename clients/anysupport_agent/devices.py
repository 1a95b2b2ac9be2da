"""The audio devices the settings offer: PulseAudio's sources and sinks (``pactl``), none elsewhere.

The names are what ``mic:DEVICE`` (the client library's microphone source) and a PulseAudio sink
take; an empty choice means the system's default device. No Qt in here.
"""

from __future__ import annotations

import shutil
import subprocess


def audio_devices(kind: str) -> list[str]:
    """Names of the audio inputs (``kind="input"``) or outputs; empty when PulseAudio is not there."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return []
    what = "sources" if kind == "input" else "sinks"
    try:
        out = subprocess.run([pactl, "list", "short", what], capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) > 1 and not (kind == "input" and parts[1].endswith(".monitor")):
            names.append(parts[1])
    return names
