"""The manual's install and auto-upgrade (issue 17), on Linux with two versions built here.

Two wheels of this very tree are built (the second with its version raised), the first installed into a
fresh virtual environment of its own (the dependencies come from the test environment's site-packages, as
a path only, so its own ``anysupport`` is not seen there). A real server hands out the second from its
``console_packages`` folder; ``anysupport-agent --update`` there fetches it from that server, checks its
SHA-256, installs it into its own environment and restarts into the new version. The download page links
the package with its hash; a package whose hash is not the server's is refused and deleted.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from anysupport_agent.update import UpdateError, fetch_package, newer_package
from anysupport_client.api import RestClient

from anysupport import __version__

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "test-artifacts", "__pycache__",
                              "*.so", "tests", "benchmarks", "docs")


def bumped(version: str) -> str:
    major, minor, patch = (int(x) for x in version.split(".")[:3])
    return f"{major}.{minor}.{patch + 1}"


def build_wheel(tree: Path, out: Path, version: str) -> Path:
    """A wheel of this checkout's code as ``version`` (pip's isolated build compiles the kernels)."""
    shutil.copytree(REPO, tree, ignore=SKIP)
    init = tree / "anysupport" / "__init__.py"
    init.write_text(re.sub(r'__version__ = "[^"]+"', f'__version__ = "{version}"', init.read_text()))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(tree), "-w", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob(f"anysupport-{version}-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheels")
    old = build_wheel(root / "tree-old", root / "old", __version__)
    new = build_wheel(root / "tree-new", root / "new", bumped(__version__))
    return old, new


@pytest.fixture
def console_env(tmp_path, wheels):
    """A virtual environment with the older console installed, the test environment's packages on its path."""
    env_dir = tmp_path / "console-env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies (PyQt5, av, aiortc …), as plain path entries: their .pth files, the editable install of
    # this checkout among them, are not read from there
    Path(purelib, "zz-test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheels[0])],
                   check=True, timeout=300)
    return python


def run(python: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run([str(python), "-m", "anysupport_agent", *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd="/")


def test_an_older_console_updates_itself_from_its_server(make_server, tmp_path, wheels, console_env):
    old, new = wheels
    folder = tmp_path / "console-packages"
    folder.mkdir()
    shutil.copy(new, folder)
    srv = make_server({"console_packages": str(folder)})
    assert run(console_env, "--version").stdout.strip() == f"AnySupport console {__version__}"
    updated = run(console_env, "--server", srv.url, "--update")
    assert updated.returncode == 0, updated.stderr[-3000:]
    lines = updated.stdout.strip().splitlines()
    assert lines == [f"AnySupport console {__version__} -> {bumped(__version__)}: installed, restarting",
                     f"AnySupport console {bumped(__version__)}"], updated.stdout
    assert run(console_env, "--version").stdout.strip() == f"AnySupport console {bumped(__version__)}"
    again = run(console_env, "--server", srv.url, "--update")
    assert again.stdout.strip() == f"AnySupport console {bumped(__version__)}: up to date"


async def test_the_download_page_and_a_package_that_does_not_match_its_hash(make_server, tmp_path, wheels):
    _old, new = wheels
    folder = tmp_path / "console-packages"
    folder.mkdir()
    shutil.copy(new, folder)
    srv = make_server({"console_packages": str(folder)})
    rest = RestClient(srv.url)
    package = await newer_package(rest, __version__)
    assert package["version"] == bumped(__version__) and package["url"] == f"/download/{new.name}"
    assert await newer_package(rest, bumped(__version__)) is None  # not newer than itself
    page = await rest.http.fetch(srv.url + "/download?lang=ko", raise_error=False)
    html = page.body.decode()
    assert page.code == 200 and package["sha256"] in html and f"/download/{new.name}" in html
    assert "상담원 프로그램" in html
    got = await fetch_package(rest, package, tmp_path)
    assert got.read_bytes() == new.read_bytes()
    with pytest.raises(UpdateError) as refused:
        await fetch_package(rest, {**package, "sha256": "0" * 64}, tmp_path / "bad" if (tmp_path / "bad").mkdir() is None else tmp_path)
    assert refused.value.code == "bad_hash" and not (tmp_path / "bad" / new.name).exists()
    missing = await rest.http.fetch(srv.url + "/download/anysupport-9.9.9-py3-none-any.whl", raise_error=False)
    assert missing.code == 404
