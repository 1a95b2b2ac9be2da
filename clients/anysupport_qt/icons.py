"""Toolbar icons from a well-kept set with a permissive licence, drawn rather than shipped as files:
Material Design Icons (Pictogrammers, Apache License 2.0) through ``qtawesome`` (MIT), which renders
its icon fonts in any size and colour (issue 17 #24: the viewer's rows of text buttons looked dated)."""

from __future__ import annotations

from functools import cache

from .qt import QIcon

# what each of our actions shows (a name of Material Design Icons 6)
ICONS = {
    "zoom_in": "magnify-plus-outline", "zoom_out": "magnify-minus-outline", "zoom_reset": "fit-to-screen-outline",
    "rotate": "rotate-right", "freeze": "snowflake", "pause": "video-off-outline", "flash": "flashlight", "focus": "image-filter-center-focus",
    "camera_switch": "camera-flip-outline", "speakerphone": "volume-high", "agent_video": "webcam",
    "shape_stroke": "draw", "shape_line": "vector-line", "shape_arrow": "arrow-top-right",
    "shape_rect": "rectangle-outline", "shape_ellipse": "ellipse-outline", "shape_text": "format-text",
    "undo": "undo", "clear": "delete-sweep-outline", "record_customer": "record-rec",
    "record_screen": "monitor-screenshot", "record_pause": "pause", "record_stop": "stop", "capture": "camera-outline",
}


@cache
def icon(action: str, color: str = "#303134") -> QIcon:
    """The icon of ``action`` (a key of ``ICONS``); an empty icon for an unknown one."""
    import qtawesome

    name = ICONS.get(action)
    return qtawesome.icon(f"mdi6.{name}", color=color, color_disabled="#b0b3b8") if name else QIcon()


__all__ = ["ICONS", "icon"]
