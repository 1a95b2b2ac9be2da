"""The console's measurements run end to end (briefly): a smoke test, no speed asserted.

The figures come from running the scripts themselves (see each one's docstring); here each runs for a
second or two in a child process, and its figures must be there and make sense.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _figures(module: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=240,
                          cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_console_glass_to_glass_runs_and_reads_stamps_back():
    figures = _figures("benchmarks.console_glass_to_glass", "--quality", "low", "--seconds", "1.5")
    assert figures["frames"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["gui_p50_ms"] > 0 and figures["console_cpu_pct"] >= 0 and figures["readback_cpu_pct"] > 0


@pytest.mark.slow
def test_recording_cpu_runs_all_phases_and_both_files_open():
    figures = _figures("benchmarks.recording_cpu", "--quality", "low", "--seconds", "1.5")
    for phase in ("idle", "customer", "idle_again", "view"):
        assert figures[f"{phase}_cpu_pct"] > 0
    for name in ("customer", "view"):
        probe = figures[f"{name}_file"]
        assert probe is not None and probe["video_streams"] == 1 and probe["audio_streams"] == 1
        assert probe["video_packets"] > 0
