"""The microphones the settings offer, as the client library's microphone source opens them (SoundCard:
PulseAudio, WASAPI, Core Audio), on every OS; an empty choice means the system's default. Speakers come
from the client library's ``speakers()`` (SoundCard too). No Qt in here.
"""

from __future__ import annotations

from anysupport_client.media.speaker import audio_devices


def microphones() -> list[str]:
    """Names of the audio inputs (monitors of outputs left out); empty when there is no audio system."""
    return [m["name"] for m in audio_devices()["microphones"]]
