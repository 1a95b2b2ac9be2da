"""A fault in one slot does not end the call: the programs' ``sys.excepthook``.

PyQt5 ends the program with ``qFatal`` (SIGABRT, exit -6) when a Python exception escapes a slot,
a timer or an event handler such as ``paintEvent``, unless ``sys.excepthook`` has been replaced.
For the agent's console that would drop a live call and the record being typed; for the customer's
app, the call. ``keep_running(log)`` replaces the hook: the traceback is logged at ERROR (each
distinct place once in full, then counted, so a fault in a paint handler does not flood the log) and
the event loop goes on. Ctrl+C in the terminal still quits. Tests under pytest-qt install their own
hook, so a fault there still fails the test; the programs' tests read their stderr for "Traceback".
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections import Counter
from types import TracebackType


class FaultLog:
    """Logs each fault; a fault at a place already logged is only counted (and said every 100th time)."""

    def __init__(self, log: logging.Logger):
        self.log = log
        self.seen: Counter[tuple[str, str, int]] = Counter()

    @staticmethod
    def place(kind: type[BaseException], tb: TracebackType | None) -> tuple[str, str, int]:
        frames = traceback.extract_tb(tb)
        last = frames[-1] if frames else None
        return kind.__name__, last.filename if last else "?", last.lineno or 0 if last else 0

    def __call__(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            from .qt import QApplication

            app = QApplication.instance()
            if app is not None:
                app.quit()
            else:
                sys.__excepthook__(kind, value, tb)
            return
        where = self.place(kind, tb)
        self.seen[where] += 1
        times = self.seen[where]
        if times == 1:
            self.log.error("a fault in the program, which goes on: %s", value, exc_info=(kind, value, tb))
        elif times % 100 == 0:
            self.log.error("the same fault again (%d times): %s: %s at %s:%d", times, kind.__name__, value,
                           where[1], where[2])


def keep_running(log: logging.Logger) -> FaultLog:
    """Install the hook (see the module's docstring) and return it."""
    hook = FaultLog(log)
    sys.excepthook = hook
    return hook


__all__ = ["FaultLog", "keep_running"]
