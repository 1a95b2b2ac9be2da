"""The vendored third-party files (anysupport/static/vendor/): each is listed in the folder's README with
its version and SHA-256, the file is exactly that, its licence is beside it, and nothing unlisted is there."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "anysupport" / "static" / "vendor"
ROW = re.compile(r"^\| `(?P<folder>[^`]+)/` \|[^|]+\| (?P<version>[0-9][^ |]*) \| (?P<files>[^|]+) \| (?P<hashes>[^|]+) \|")


def listed() -> dict[Path, str]:
    """Each listed file (under vendor/) and its SHA-256, from the README's table."""
    out = {}
    for line in (VENDOR / "README.md").read_text().splitlines():
        m = ROW.match(line)
        if not m:
            continue
        files = re.findall(r"`([^`]+)`", m["files"])
        hashes = re.findall(r"`([0-9a-f]{64})`", m["hashes"])
        assert len(files) == len(hashes), line
        out.update({VENDOR / m["folder"] / name: digest for name, digest in zip(files, hashes, strict=True)})
    return out


def test_every_vendored_file_is_the_listed_version_with_its_licence():
    files = listed()
    assert files, "the README lists no vendored file"
    for path, digest in files.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
        assert (path.parent / "LICENSE").is_file(), f"no licence beside {path}"
    licences = ("README.md", "LICENSE", "COPYING.libopus")
    present = {p for p in VENDOR.rglob("*") if p.is_file() and p.name not in licences}
    assert present == set(files), present ^ set(files)
