"""Fonts with Hangul: Korean text must never show as tofu boxes."""

from __future__ import annotations

from .qt import QApplication, QFont, QFontDatabase

__all__ = ["KOREAN_FAMILIES", "apply_korean_font", "pick_font_family"]

# fonts-nanum on Debian/Ubuntu first, then what Windows and macOS ship
KOREAN_FAMILIES = ("NanumGothic", "NanumBarunGothic", "NanumSquareRound", "Noto Sans CJK KR", "Malgun Gothic",
                   "Apple SD Gothic Neo")


def pick_font_family() -> str | None:
    """A family with Hangul glyphs, when one is installed (fonts-nanum on Debian)."""
    families = set(QFontDatabase().families())
    for family in KOREAN_FAMILIES:
        if family in families:
            return family
    return None


def apply_korean_font(app: QApplication, pixels: int = 14) -> str | None:
    """Make a Hangul font the application's default; returns its family (None: none installed)."""
    family = pick_font_family()
    if family:
        font = QFont(family)
        font.setPixelSize(pixels)
        app.setFont(font)
    return family
