"""What the two desktop programs (the mobile client and the agent console) share on top of Qt.

- ``anysupport_qt.qt``: every Qt name they use, re-exported (Qt enters through this module only);
- ``anysupport_qt.bridge``: ``LoopBridge``, the asyncio thread behind a window, results as signals;
- ``anysupport_qt.images``: NumPy arrays ↔ ``QImage``;
- ``anysupport_qt.fonts``: a font with Hangul for the application;
- ``anysupport_qt.overlay``: the Qt text renderer for annotation text items;
- ``anysupport_qt.faults``: ``keep_running``, so a fault in one slot is logged instead of ending the program.
"""

from .bridge import LoopBridge, error_event
from .faults import keep_running
from .fonts import KOREAN_FAMILIES, apply_korean_font, pick_font_family
from .icons import icon
from .images import image_from_rgb, image_from_rgba, rgb_from_image, rgba_from_image
from .overlay import qt_text_renderer
from .qt import *  # noqa: F403 (the point of this package)
from .qt import __all__ as _qt_names

__all__ = [
    "KOREAN_FAMILIES", "LoopBridge", "apply_korean_font", "error_event", "icon", "image_from_rgb", "image_from_rgba",
    "keep_running",
    "pick_font_family", "qt_text_renderer", "rgb_from_image", "rgba_from_image", *_qt_names,
]
