"""Fixtures for the agent console tests: a private config dir and documents folder per test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def console_home(tmp_path, monkeypatch):
    """Every test gets its own config directory and documents folder (never the user's)."""
    config = tmp_path / "config"
    documents = tmp_path / "Documents"
    monkeypatch.setenv("ANYSUPPORT_AGENT_CONFIG_DIR", str(config))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(documents))
    return tmp_path
