"""The network lab needs root, /dev/net/tun and iproute2. CI runs as root: a missing one is a
failure that says which, never a skip (a skipped lab would hide that nothing was measured)."""

from __future__ import annotations

import pytest

from benchmarks.netlab.netns import requirements_problem


@pytest.fixture
def lab_host() -> None:
    problem = requirements_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
