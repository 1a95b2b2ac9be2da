"""Qt's own texts (the OK / Cancel of a message box, the file dialog) in the console's language.

Qt ships its translations with the wheel (``qtbase_ko.qm`` under ``QLibraryInfo.TranslationsPath``);
``QtLanguage.apply(language)`` installs the one for the chosen language on the application, replacing
the one before, and removes it for English (Qt's own language). The console applies it at start and
whenever the language setting changes.
"""

from __future__ import annotations

import logging

from anysupport_qt import QCoreApplication, QLibraryInfo, QTranslator

log = logging.getLogger("anysupport.agent")

CATALOGUES = ("qtbase",)  # the file dialog, message boxes, standard buttons, context menus of text fields


class QtLanguage:
    def __init__(self, app: QCoreApplication | None = None):
        self.app = app or QCoreApplication.instance()
        self.language: str | None = None
        self._installed: list[QTranslator] = []

    @staticmethod
    def folder() -> str:
        return QLibraryInfo.location(QLibraryInfo.TranslationsPath)

    def apply(self, language: str) -> bool:
        """Qt's texts in ``language``; False when Qt has no translation for it (Qt's English then)."""
        self.remove()
        self.language = language
        if language == "en":
            return True
        for name in CATALOGUES:
            translator = QTranslator()
            if translator.load(f"{name}_{language}", self.folder()):
                self.app.installTranslator(translator)
                self._installed.append(translator)
            else:
                log.warning("Qt has no %s translation for %s in %s", name, language, self.folder())
        return bool(self._installed)

    def remove(self) -> None:
        for translator in self._installed:
            self.app.removeTranslator(translator)
        self._installed.clear()

    def setting_changed(self, name: str, value) -> None:
        """A ``Settings`` listener: follow the language setting."""
        if name == "language":
            self.apply(value)
