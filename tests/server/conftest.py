"""Fixtures of the managers' direct tests (the real database, ``db_store``, is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
