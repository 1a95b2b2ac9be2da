"""``benchmarks/browsers.py`` runs end to end (briefly, one run per engine in a child process): a smoke
test, no speed asserted. The figures are in docs/pages.md ("In WebKitGTK beside Chromium")."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.browser
def test_browsers_benchmark_measures_both_engines():
    done = subprocess.run([sys.executable, "-m", "benchmarks.browsers", "--runs", "1", "--seconds", "1.5",
                           "--warmup", "0.5"], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    figures = {r["engine"]: r for r in map(json.loads, (line for line in done.stdout.splitlines() if line.startswith("{")))}
    assert figures["chromium"]["encoder_output"] == "annexb" and figures["webkit"]["encoder_output"] == "avc"
    for r in figures.values():
        assert r["code_to_first_frame_ms"] > 0 and r["fps"] > 0 and r["cpu_page_pct"] > 0
