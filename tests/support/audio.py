"""A private PulseAudio server with null sinks, and recording what is played into them.

Voice tests play through the real output path (SoundCard → libpulse → PulseAudio) into a
``module-null-sink`` and record its ``.monitor`` with ``parec``, so what is measured is what a
speaker would have been given. The server is private to the test run: its own socket, runtime and
state directories under a temporary folder, anonymous auth, no D-Bus, no autospawn, no default
script (``-n``), and it never exits by itself. Running as root is allowed: PulseAudio only warns
("not intended to be run as root") when not daemonised, so it is started in the foreground as a
child process. Needs the Debian packages ``pulseaudio`` and ``pulseaudio-utils`` (for ``parec``
and ``pactl``); ``libpulse0`` comes with them.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pytest

from tests.support.processes import end_process

RATE = 48000


class PulseServer:
    def __init__(self, sinks: tuple[str, ...] = ("anysupport_speaker",)):
        self.sinks = sinks
        self.dir = tempfile.mkdtemp(prefix="anysupport-pulse-")
        self.socket = os.path.join(self.dir, "native")
        self.process: subprocess.Popen | None = None
        self.log: list[str] = []

    @staticmethod
    def missing() -> str | None:
        """What is not installed, or None."""
        for tool in ("pulseaudio", "parec", "pactl"):
            if shutil.which(tool) is None:
                return f"{tool} is missing: apt-get install pulseaudio pulseaudio-utils"
        return None

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ, HOME=self.dir, XDG_RUNTIME_DIR=self.dir, XDG_CONFIG_HOME=os.path.join(self.dir, "config"),
                   PULSE_RUNTIME_PATH=os.path.join(self.dir, "run"), PULSE_STATE_PATH=os.path.join(self.dir, "state"),
                   PULSE_SERVER=self.server)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        return env

    def start(self, timeout: float = 15.0) -> PulseServer:
        args = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit=yes",
                "--use-pid-file=no", "--system=false", "--log-target=stderr", "--log-level=info",
                "-L", f"module-native-protocol-unix socket={self.socket} auth-anonymous=1"]
        for sink in self.sinks:
            args += ["-L", f"module-null-sink sink_name={sink} rate={RATE} channels=1 "
                           f"sink_properties=device.description={sink}"]
        self.process = subprocess.Popen(args, env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, errors="replace")
        ready = threading.Event()
        threading.Thread(target=self._drain, args=(ready,), daemon=True).start()  # also keeps the pipe empty
        if not ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError("pulseaudio did not start:\n" + "\n".join(self.log[-20:]))
        return self

    def _drain(self, ready: threading.Event) -> None:
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            if "Daemon startup complete" in line:
                ready.set()
        ready.set()  # it exited: start() sees that

    def stop(self) -> None:
        end_process(self.process, 5)
        shutil.rmtree(self.dir, ignore_errors=True)

    async def record(self, sink: str, seconds: float, *, timeout: float = 20.0, level: int = 300) -> np.ndarray:
        """``seconds`` of what plays into ``sink``, from the first sound on (int16 mono at 48 kHz)."""
        proc = await asyncio.create_subprocess_exec(
            "parec", "-d", f"{sink}.monitor", f"--rate={RATE}", "--channels=1", "--format=s16le", "--latency-msec=20",
            env=self.env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        wanted = int(seconds * RATE) * 2
        heard = bytearray()
        try:
            async def read() -> None:
                while len(heard) < wanted:
                    chunk = await proc.stdout.read(4096)
                    if not chunk:
                        raise RuntimeError("parec stopped")
                    if heard or np.abs(np.frombuffer(chunk[: len(chunk) // 2 * 2], np.int16)).max(initial=0) > level:
                        heard.extend(chunk)

            await asyncio.wait_for(read(), timeout)
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        return np.frombuffer(bytes(heard[:wanted]), np.int16)


def dominant_frequency(pcm: np.ndarray, rate: int = RATE) -> tuple[float, float]:
    """The strongest frequency of ``pcm`` (Hz) and the share of the signal's energy within ±10 Hz of it."""
    x = pcm.astype(np.float64)
    x -= x.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    peak = int(np.argmax(spectrum[1:]) + 1)
    near = np.abs(freqs - freqs[peak]) <= 10
    return float(freqs[peak]), float(spectrum[near].sum() / spectrum[1:].sum())


SINKS = ("agent_speaker", "customer_speaker")
_shared: PulseServer | None = None


def shared_pulse() -> PulseServer:
    """The one PulseAudio server of this test process (SoundCard connects to one server, once, when first
    imported): started on first use, with the agent's and the customer's speakers, ``PULSE_SERVER`` set
    for the process, stopped when the process ends."""
    global _shared
    if _shared is None:
        missing = PulseServer.missing()
        if missing:
            raise RuntimeError(missing)
        _shared = PulseServer(SINKS).start()
        os.environ["PULSE_SERVER"] = _shared.server
        if sys.argv == ["-c"]:  # a pytest-xdist worker: SoundCard names its client after sys.argv[1]
            sys.argv = ["pytest-xdist-worker"]
        atexit.register(_shared.stop)
    return _shared


@pytest.fixture(scope="session")
def pulse() -> PulseServer:
    """The private PulseAudio server with null sinks ``agent_speaker`` and ``customer_speaker``.

    Use it from a conftest with ``from tests.support.audio import pulse  # noqa: F401``.
    """
    try:
        return shared_pulse()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
