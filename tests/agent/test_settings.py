import json
import os
import stat

import pytest
from anysupport_agent.credentials import LoginStore
from anysupport_agent.paths import config_dir
from anysupport_agent.settings import BACKGROUNDS, OPTIONS, Settings


def test_defaults_and_folders(console_home):
    s = Settings()
    assert s["record_folder"] == str(console_home / "Documents" / "AnySupport" / "Record")
    assert s["capture_folder"] == str(console_home / "Documents" / "AnySupport" / "Capture")
    assert s["background"] in BACKGROUNDS and len(BACKGROUNDS) == 3
    assert s["guidance_panel"] is True
    assert s["language"] in ("ko", "en")
    assert {o.name for o in OPTIONS} >= {"server_url", "language", "remember_id", "audio_input", "audio_output"}


def test_change_is_saved_and_listeners_hear_it(console_home):
    s = Settings()
    heard = []
    s.listeners.append(lambda name, value: heard.append((name, value)))
    assert s.set("background", "light")
    assert not s.set("background", "light")  # no change, nobody told
    other = "en" if s["language"] == "ko" else "ko"
    s.update({"guidance_panel": False, "language": other})
    assert heard == [("background", "light"), ("guidance_panel", False), ("language", other)]
    path = config_dir() / "settings.json"
    assert path.parent == console_home / "config"
    again = Settings()
    assert again["background"] == "light" and again["guidance_panel"] is False and again["language"] == other
    assert again.background_color == BACKGROUNDS["light"]


def test_bad_values_are_refused_and_bad_files_ignored(console_home):
    s = Settings()
    with pytest.raises(ValueError):
        s.set("background", "purple")
    with pytest.raises(ValueError):
        s.set("guidance_panel", "yes")
    with pytest.raises(KeyError):
        s.set("nonsense", 1)
    path = config_dir() / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"background": "purple", "language": "en"}))
    again = Settings()
    assert again["background"] == "dark" and again["language"] == "en"
    path.write_text("{not json")
    assert Settings()["background"] == "dark"


def test_remembered_login_keeps_a_token_never_the_password(console_home):
    store = LoginStore()
    assert store.load("http://a") is None
    store.save("http://a", "kim", "tok-123")
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600
    text = store.path.read_text()
    assert "tok-123" in text and "password" not in text
    assert store.load("http://a").token == "tok-123"
    assert store.load("http://b") is None  # another server's login is not offered
    assert store.forget_token() == "tok-123"
    kept = store.load("http://a")
    assert kept.login == "kim" and kept.token is None
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    store.clear()
    assert store.load("http://a") is None
