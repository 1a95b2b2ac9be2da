"""The ``event_loop`` setting: uvloop where it is installed, asyncio's own loop when turned off, a
clear refusal when uvloop is demanded but missing; the server logs which loop it runs."""

from __future__ import annotations

import asyncio
import builtins

import pytest

from anysupport.config import ConfigError
from anysupport.server import loop_factory, run_with_loop


async def _loop_class() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_takes_uvloop_where_it_is_installed():
    factory, name = loop_factory("auto")
    assert name.startswith("uvloop ")
    assert run_with_loop(_loop_class, "auto").startswith("uvloop")


def test_asyncio_turns_it_off():
    factory, name = loop_factory("asyncio")
    assert name == "asyncio"
    assert run_with_loop(_loop_class, "asyncio").startswith("asyncio")


def test_missing_uvloop(monkeypatch):
    real_import = builtins.__import__

    def no_uvloop(name, *args, **kwargs):
        if name == "uvloop":
            raise ImportError("No module named 'uvloop'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvloop)
    assert loop_factory("auto")[1] == "asyncio"  # auto falls back quietly
    with pytest.raises(ConfigError, match="event_loop"):
        loop_factory("uvloop")


@pytest.mark.parametrize("choice, logged", [("auto", "uvloop"), ("asyncio", "asyncio")])
def test_the_server_logs_its_loop(make_server, choice, logged):
    srv = make_server({"event_loop": choice})
    line = srv.wait_for_log(r"event loop: ")
    assert f"event loop: {logged}" in line and f"(event_loop = {choice})" in line
