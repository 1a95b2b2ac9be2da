"""The microphones the settings offer: PulseAudio's sources (``pactl``), none elsewhere.

The names are what ``mic:DEVICE`` (the client library's microphone source, FFmpeg's pulse input)
takes; an empty choice means the system's default. Speakers come from the client library's
``speakers()`` (SoundCard), which is what plays them. No Qt in here.
"""

from __future__ import annotations

import shutil
import subprocess


def microphones() -> list[str]:
    """Names of the audio inputs (monitors of outputs left out); empty when PulseAudio is not there."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return []
    try:
        out = subprocess.run([pactl, "list", "short", "sources"], capture_output=True, text=True, timeout=3,
                             check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) > 1 and not parts[1].endswith(".monitor"):
            names.append(parts[1])
    return names
