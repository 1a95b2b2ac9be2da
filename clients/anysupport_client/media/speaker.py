"""Received voice out of the speakers: jitter buffer → the system's audio output.

``VoiceOutput`` is the one audio output path of both desktop programs (the mobile client plays the
agent's voice, the console the customer's). Packets go in with ``push(sequence, pcm)`` from the
asyncio loop; a playback thread pulls 20 ms blocks from the ``JitterBuffer`` and writes them to the
device, whose own pace (a blocking write) is the clock of the output.

The device is reached through SoundCard (``soundcard`` on PyPI): pure Python over the platform's
own audio API — PulseAudio's ``libpulse`` on Linux (Debian/Ubuntu package ``libpulse0``, with a
PulseAudio or PipeWire-Pulse server running), WASAPI on Windows, CoreAudio on macOS. Chosen over
``sounddevice``, which needs PortAudio (``libportaudio2``) and reaches PulseAudio only through
ALSA's pulse plugin, and over Qt Multimedia's ``QAudioOutput``, whose PulseAudio plugin needs
``libpulse-mainloop-glib0`` and would put Qt into the Qt-free client library.

A missing device or audio server never stops a session: ``start()`` reports the failure as
``error`` (and ``on_error``) and the voice is dropped, as before this output existed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .playout import PACKET_SAMPLES, RATE, JitterBuffer

log = logging.getLogger("anysupport.client.audio")

__all__ = ["VoiceOutput", "audio_devices", "open_voice_output", "speakers"]


def _soundcard():
    # imported late: SoundCard connects to the audio server when imported
    import soundcard

    return soundcard


def speakers() -> list[str]:
    """The names of the system's audio outputs (empty when there is no audio server)."""
    try:
        return [s.name for s in _soundcard().all_speakers()]
    except Exception as exc:  # no server, no library: nothing to choose from
        log.info("no audio outputs: %s", exc)
        return []


def audio_devices() -> dict[str, list[dict[str, str]]]:
    """The system's outputs and inputs for a settings page: ``{"speakers": [{"id", "name"}], "microphones": […]}``.

    A speaker's ``id`` (or ``name``) goes to ``VoiceOutput(device)``; a microphone's ``id`` to the audio
    source spec ``mic:ID`` (on Linux the PulseAudio source name, which FFmpeg's ``pulse`` input takes).
    Monitors of outputs are not microphones and are left out. Empty lists when there is no audio server.
    """
    try:
        card = _soundcard()
        return {"speakers": [{"id": s.id, "name": s.name} for s in card.all_speakers()],
                "microphones": [{"id": m.id, "name": m.name} for m in card.all_microphones(include_loopback=False)]}
    except Exception as exc:
        log.info("no audio devices: %s", exc)
        return {"speakers": [], "microphones": []}


class VoiceOutput:
    def __init__(self, device: str | None = None, *, buffer: JitterBuffer | None = None,
                 block: int = PACKET_SAMPLES, on_error: Callable[[str], None] | None = None):
        self.device = device  # a speaker's name (or part of it, or its id); None: the default output
        self.buffer = buffer or JitterBuffer()
        self.block = block
        self.on_error = on_error
        self.volume = 1.0
        self.muted = False
        self.error: str | None = None
        self.blocks_written = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._written = threading.Condition()

    # -- in (the asyncio loop) -----------------------------------------------------------------------
    def push(self, sequence: int, pcm: np.ndarray) -> None:
        with self._lock:
            self.buffer.push(sequence, pcm)

    def on_audio(self, pcm: np.ndarray, header) -> None:
        """An ``AudioReceiver``'s ``on_audio`` callback."""
        self.push(header.sequence, pcm)

    def reset(self) -> None:
        with self._lock:
            self.buffer.reset()

    # -- the device (its own thread) -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Open the device and start playing; False (and ``error`` set) when there is no output."""
        if self.running:
            return True
        try:
            card = _soundcard()
            speaker = card.get_speaker(self.device) if self.device else card.default_speaker()
        except Exception as exc:
            self._fail(f"no audio output ({self.device or 'default'}): {exc}")
            return False
        self._stop.clear()
        opened = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(speaker, opened), name="anysupport-voice",
                                        daemon=True)
        self._thread.start()
        if not opened.wait(10):
            self._fail(f"audio output ({self.device or 'default'}) did not start playing in 10 s")
            self._stop.set()
        return self.error is None

    def _run(self, speaker, opened: threading.Event) -> None:
        try:
            with speaker.player(samplerate=RATE, channels=1, blocksize=self.block) as player:
                # the first write returns once the device really plays (a sink waking up can take a
                # while: PulseAudio's null sink starts with a 2 s block); only then is the output open
                player.play(np.zeros((self.block, 1), np.float32))
                opened.set()
                while not self._stop.is_set():
                    with self._lock:
                        pcm = self.buffer.pull(self.block)
                    gain = 0.0 if self.muted else self.volume / 32768.0
                    player.play((pcm.astype(np.float32) * gain).reshape(-1, 1))  # blocks at the device's pace
                    with self._written:
                        self.blocks_written += 1
                        self._written.notify_all()
        except Exception as exc:
            self._fail(f"audio output failed: {exc}")
        finally:
            opened.set()

    def _fail(self, message: str) -> None:
        log.warning("%s", message)
        self.error = message
        if self.on_error is not None:
            self.on_error(message)

    def wait_blocks(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` blocks in all have been written to the device (tests; not for the GUI thread)."""
        with self._written:
            return self._written.wait_for(lambda: self.blocks_written >= count or not self.running, timeout) and \
                self.blocks_written >= count

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            stats = self.buffer.stats()
        stats.update(device=self.device or "default", running=self.running, error=self.error,
                     blocks=self.blocks_written)
        return stats


def open_voice_output(spec: str | None, *, on_error: Callable[[str], None] | None = None) -> VoiceOutput | None:
    """``default`` (the system's default output), ``none``, or a speaker's name (or part of it)."""
    if spec in (None, "", "none"):
        return None
    return VoiceOutput(None if spec == "default" else spec, on_error=on_error)
