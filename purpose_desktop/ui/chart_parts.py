"""What the app's small charts share: round tick values, compact numbers, series colours that
read on both themes, markers that tell series apart without colour, and a legend.

The charts are painted with QPainter: PySide6-Essentials has no QtCharts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.theme import meaning_colour

#: Series colours, in order: theme colours, so each reads on the light and the dark window.
_SERIES_MEANINGS = ("info", "warning", "success", "special", "error", "hint")
MARKERS = ("circle", "square", "triangle", "diamond")
_MARKER_SIZE = 4.0


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` + 1 round values (steps of 1, 2, 2.5 or 5 times a power of ten) from at
    most ``low`` to at least ``high``: the axis then spans the first to the last."""
    if not high > low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    # Rounded to the step's precision, so 0.1 * 3 shows as 0.3, not 0.30000000000000004.
    digits = max(0, -math.floor(math.log10(step)) + 2)
    return [round(index * step, digits) for index in range(first, last + 1)]


def compact(value: float) -> str:
    """A number short enough for an axis: 1.5k, 12M, 0.25."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def series_colour(index: int, colors: QtGui.QPalette) -> QtGui.QColor:
    """The colour of the ``index``-th series on a window of ``colors``."""
    return meaning_colour(_SERIES_MEANINGS[index % len(_SERIES_MEANINGS)], colors)


def paint_marker(painter: QtGui.QPainter, shape: str, at: QtCore.QPointF,
                 colour: QtGui.QColor, size: float = _MARKER_SIZE) -> None:
    """A filled marker of ``shape`` (one of :data:`MARKERS`) centred on ``at``."""
    painter.setPen(QtGui.QPen(colour, 1))
    painter.setBrush(colour)
    x, y = at.x(), at.y()
    if shape == "circle":
        painter.drawEllipse(at, size, size)
    elif shape == "square":
        painter.drawRect(QtCore.QRectF(x - size, y - size, 2 * size, 2 * size))
    else:
        corners = ([(x, y - size - 1), (x + size + 1, y + size), (x - size - 1, y + size)]
                   if shape == "triangle" else
                   [(x, y - size - 1), (x + size + 1, y), (x, y + size + 1), (x - size - 1, y)])
        painter.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(cx, cy) for cx, cy in corners]))


@dataclass(frozen=True)
class LegendEntry:
    name: str
    colour: QtGui.QColor
    marker: str = "square"
    line: bool = False
    """Whether the series is drawn as a line (its entry shows a stroke through the marker)."""


def paint_legend(painter: QtGui.QPainter, entries: Sequence[LegendEntry],
                 area: QtCore.QRectF, text: QtGui.QColor) -> None:
    """The entries in a row along the top of ``area``, right-aligned, each a swatch and its
    name; entries that do not fit are left out rather than drawn over each other."""
    metrics = painter.fontMetrics()
    swatch, gap = 18.0, 12.0
    widths = [swatch + 4 + metrics.horizontalAdvance(entry.name) for entry in entries]
    while widths and sum(widths) + gap * (len(widths) - 1) > area.width():
        widths.pop()
    x = area.right() - (sum(widths) + gap * max(len(widths) - 1, 0))
    middle = area.top() + metrics.height() / 2
    for entry, width in zip(entries, widths, strict=False):
        centre = QtCore.QPointF(x + swatch / 2, middle)
        if entry.line:
            painter.setPen(QtGui.QPen(entry.colour, 2))
            painter.drawLine(QtCore.QPointF(x, middle), QtCore.QPointF(x + swatch, middle))
        paint_marker(painter, entry.marker, centre, entry.colour)
        painter.setPen(text)
        painter.drawText(QtCore.QRectF(x + swatch + 4, area.top(), width, metrics.height()),
                         QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                         entry.name)
        x += width + gap


class Chart(QtWidgets.QWidget):
    """A chart's frame: the window's colour under it, a message where there is nothing to
    draw, and tooltips from :meth:`tooltip_at`."""

    def __init__(self, empty_text: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = empty_text

    def has_data(self) -> bool:
        raise NotImplementedError

    def paint_chart(self, painter: QtGui.QPainter) -> None:
        raise NotImplementedError

    def tooltip_at(self, where: QtCore.QPointF) -> str:
        """What hovering ``where`` tells, there being data; empty for nothing."""
        return ""

    def colour(self, role: str) -> QtGui.QColor:
        return self.palette().color(QtGui.QPalette.ColorRole[role])

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            painter.fillRect(self.rect(), self.colour("Window"))
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            if self.has_data():
                self.paint_chart(painter)
            else:
                painter.setPen(self.colour("PlaceholderText"))
                painter.drawText(QtCore.QRectF(self.rect()).adjusted(12, 12, -12, -12),
                                 QtCore.Qt.AlignmentFlag.AlignCenter
                                 | QtCore.Qt.TextFlag.TextWordWrap, self.empty_text)
        finally:
            painter.end()

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.ToolTip and isinstance(event, QtGui.QHelpEvent):
            text = self.tooltip_at(QtCore.QPointF(event.pos())) if self.has_data() else ""
            if text:
                QtWidgets.QToolTip.showText(event.globalPos(), text, self)
            else:
                QtWidgets.QToolTip.hideText()
            return True
        return super().event(event)
