"""The console's settings, declared once: name, default, what a value may be.

Every setting is an ``Option`` in ``OPTIONS``; ``Settings`` reads and writes them (JSON in the user's
config directory) and calls its listeners with ``(name, value)`` after each change, so widgets
follow the settings dialog without knowing about each other. No Qt in here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anysupport_client.language import default_language

from anysupport.protocol.vocabulary import LANGUAGES

from .paths import config_dir, documents_dir, read_json, write_json_atomic

#: The three viewer background colours (배경색 설정), by name.
BACKGROUNDS: dict[str, str] = {"dark": "#202124", "grey": "#6b6f75", "light": "#eceff1"}


@dataclass(frozen=True)
class Option:
    name: str
    default: Callable[[], Any]
    kind: type
    choices: tuple[Any, ...] | None = None

    def check(self, value: Any) -> Any:
        if self.kind is bool and not isinstance(value, bool):
            raise ValueError(f"{self.name} must be true or false, not {value!r}")
        if self.kind is str and not isinstance(value, str):
            raise ValueError(f"{self.name} must be text, not {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {list(self.choices)}, not {value!r}")
        return value


OPTIONS: tuple[Option, ...] = (
    Option("server_url", lambda: "http://127.0.0.1:8888", str),
    Option("language", default_language, str, LANGUAGES),
    Option("remember_id", lambda: False, bool),
    Option("remember_password", lambda: False, bool),
    Option("record_folder", lambda: str(documents_dir() / "AnySupport" / "Record"), str),
    Option("capture_folder", lambda: str(documents_dir() / "AnySupport" / "Capture"), str),
    Option("background", lambda: "dark", str, tuple(BACKGROUNDS)),
    Option("guidance_panel", lambda: True, bool),
    Option("audio_input", lambda: "", str),
    Option("audio_output", lambda: "", str),
    # a customer waiting while auto-connect is off (waiting_alert.py): each way of saying so, on or off
    Option("alert_sound", lambda: True, bool),
    Option("alert_taskbar", lambda: True, bool),
    Option("alert_notification", lambda: True, bool),
)
OPTION_BY_NAME = {option.name: option for option in OPTIONS}

Listener = Callable[[str, Any], None]


class Settings:
    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / "settings.json"
        self.listeners: list[Listener] = []
        self._values: dict[str, Any] = {}
        stored = read_json(self.path, {})
        for option in OPTIONS:
            value = stored.get(option.name) if isinstance(stored, dict) else None
            try:
                self._values[option.name] = option.check(value) if value is not None else option.default()
            except ValueError:  # a hand-edited or older file: keep the default, do not fail the start
                self._values[option.name] = option.default()

    def __getitem__(self, name: str) -> Any:
        return self._values[OPTION_BY_NAME[name].name]

    def get(self, name: str) -> Any:
        return self[name]

    def set(self, name: str, value: Any) -> bool:
        """Change one setting; saves and tells the listeners when the value really changed."""
        return self.update({name: value})

    def update(self, values: dict[str, Any]) -> bool:
        changed = {}
        for name, value in values.items():
            option = OPTION_BY_NAME.get(name)
            if option is None:
                raise KeyError(f"no setting {name!r}")
            option.check(value)
            if self._values[name] != value:
                changed[name] = value
        if not changed:
            return False
        self._values.update(changed)
        write_json_atomic(self.path, self._values)
        for name, value in changed.items():
            for listener in list(self.listeners):
                listener(name, value)
        return True

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def background_color(self) -> str:
        return BACKGROUNDS[self["background"]]
