"""The build: a machine without a C compiler gets a clear message, not a traceback."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_build_without_c_compiler_says_what_to_install(tmp_path):
    env = {**os.environ, "CC": "no-such-compiler-anysupport"}
    r = subprocess.run([sys.executable, "setup.py", "build_ext", "--build-temp", str(tmp_path), "--build-lib", str(tmp_path)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "C compiler, and none was found" in r.stderr and "build-essential" in r.stderr
    assert "Traceback" not in r.stderr


def test_package_metadata_has_the_extras_and_console_script():
    from importlib.metadata import distribution

    dist = distribution("anysupport")
    extras = set(dist.metadata.get_all("Provides-Extra") or [])
    assert {"server", "client", "test", "bench"} <= extras
    scripts = {ep.name for ep in dist.entry_points if ep.group == "console_scripts"}
    assert "anysupport" in scripts
