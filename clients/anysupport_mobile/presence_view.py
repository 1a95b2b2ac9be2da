"""Who is present, painted over the mobile window's picture (issue 21): the list at the top left (each
participant's name, role, the absent marked, and our pair's security code with it) and the join/leave
notices above the chat lines, as prominent as the customer page's. What to show is ``Presence``'s; the
language is the window's (``t``)."""

from __future__ import annotations

from collections.abc import Callable

from anysupport_qt import QColor, QFont, QPainter, QRect, Qt

from .presence import Presence

PEOPLE_MAX_WIDTH = 360  # the list never takes more than this (nor 45 % of the picture's width)
ROW_PX, TITLE_PX, NOTICE_PX = 14, 12, 15
NOTICE_FILL = QColor(255, 243, 224, 240)  # the page's people-changed notice: light orange, black bold text


def people_rows(presence: Presence, t: Callable[..., str]) -> list[tuple[str, str, str, bool]]:
    """Each participant as shown: (name, role, code or "", present)."""
    rows = []
    for person in presence.people():
        role = t(person.role_key) + ("" if person.present else " · " + t("people_away"))
        code = presence.code(person)
        rows.append((person.name, role, t("people_code", sas=code) if code else "", person.present))
    return rows


def notice_lines(presence: Presence, t: Callable[..., str]) -> list[str]:
    return [t(n.key, name=n.person.name, role=t(n.person.role_key)) for n in presence.notices_shown()]


def paint_people(p: QPainter, area: QRect, presence: Presence, t: Callable[..., str],
                 font: Callable[[int, bool], QFont]) -> int:
    """The list at the area's top left; returns the y below it (the area's top when nobody is listed)."""
    rows = people_rows(presence, t)
    top = area.top() + 12
    if not rows:
        return top
    width_max = min(PEOPLE_MAX_WIDTH, int(area.width() * 0.45))
    p.setFont(font(ROW_PX, True))
    row_h = p.fontMetrics().height() + 4
    p.setFont(font(TITLE_PX, True))
    title_h = p.fontMetrics().height() + 4
    rect = QRect(area.left() + 12, top, width_max, 10 + title_h + row_h * len(rows))
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(0, 0, 0, 190))
    p.drawRoundedRect(rect, 10, 10)
    inner = rect.adjusted(12, 5, -12, -5)
    p.setPen(QColor(225, 225, 225))
    p.drawText(QRect(inner.left(), inner.top(), inner.width(), title_h), Qt.AlignVCenter | Qt.AlignLeft,
               t("people_title"))
    y = inner.top() + title_h
    for name, role, code, present in rows:
        line = QRect(inner.left(), y, inner.width(), row_h)
        p.setFont(font(ROW_PX, False))
        role_w = p.fontMetrics().horizontalAdvance(role)
        p.setFont(font(ROW_PX, True))
        metrics = p.fontMetrics()
        if code:  # right-aligned, in the security code's yellow
            p.setPen(QColor(255, 235, 59) if present else QColor(160, 150, 60))
            p.drawText(line, Qt.AlignVCenter | Qt.AlignRight, code)
            line.setRight(line.right() - metrics.horizontalAdvance(code) - 10)
        if name:  # the name gives way first: the role and the code are always read whole
            shown = metrics.elidedText(name, Qt.ElideRight, max(48, line.width() - role_w - 8))
            p.setPen(QColor("white") if present else QColor(150, 150, 150))
            p.drawText(line, Qt.AlignVCenter | Qt.AlignLeft, shown)
            line.setLeft(line.left() + metrics.horizontalAdvance(shown) + 8)
        p.setFont(font(ROW_PX, False))
        p.setPen(QColor(215, 215, 215) if present else QColor(150, 150, 150))
        p.drawText(line, Qt.AlignVCenter | Qt.AlignLeft, p.fontMetrics().elidedText(role, Qt.ElideRight, line.width()))
        y += row_h
    return rect.bottom() + 10


def paint_notices(p: QPainter, area: QRect, presence: Presence, t: Callable[..., str],
                  font: Callable[[int, bool], QFont]) -> None:
    """Each join and leave said now, in one box centred above the chat lines (its bottom at 70 % down)."""
    lines = notice_lines(presence, t)
    if not lines:
        return
    p.setFont(font(NOTICE_PX, True))
    width = min(area.width() - 40, 560)
    bounds = QRect(0, 0, width - 28, 10_000)
    text = "\n".join(lines)
    needed = p.fontMetrics().boundingRect(bounds, Qt.TextWordWrap, text)
    height = needed.height() + 18
    bottom = area.top() + int(area.height() * 0.7)
    rect = QRect(area.center().x() - width // 2, bottom - height, width, height)
    p.setPen(Qt.NoPen)
    p.setBrush(NOTICE_FILL)
    p.drawRoundedRect(rect, 12, 12)
    p.setPen(QColor("black"))
    p.drawText(rect.adjusted(14, 9, -14, -9), Qt.AlignVCenter | Qt.AlignLeft | Qt.TextWordWrap, text)


__all__ = ["notice_lines", "paint_notices", "paint_people", "people_rows"]
