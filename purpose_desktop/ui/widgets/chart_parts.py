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
#: How opaque a band of a series' colour is: light enough that the lines and the bands of
#: other series show through it on either theme; its edges are stronger, so that where bands
#: overlap each can still be followed.
_BAND_ALPHA, _BAND_EDGE_ALPHA = 48, 150


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


RANGE_DASH = "\u2013"  # an en dash, as a range of numbers is printed


def span_text(low: str, high: str) -> str:
    """The range from ``low`` to ``high`` (each as a value is written), joined by
    :data:`RANGE_DASH`: ``30-50%`` with an en dash, a percent sign both share written once."""
    if low.endswith("%") and high.endswith("%"):
        low = low.removesuffix("%")
    return f"{low}{RANGE_DASH}{high}"


def series_colour(index: int, colors: QtGui.QPalette) -> QtGui.QColor:
    """The colour of the ``index``-th series on a window of ``colors``."""
    return meaning_colour(_SERIES_MEANINGS[index % len(_SERIES_MEANINGS)], colors)


def series_line(index: int, *, dashed: bool = False) -> QtCore.Qt.PenStyle:
    """The line of the ``index``-th series: solid while the colours last, then dashed, then
    dotted. With the markers, the first 36 series are each drawn unlike any other.

    A ``dashed`` series is a second kind of the ``index``-th (the tasks held out of a
    benchmark, beside those learned on): dashed where the series is solid, and with dots
    added to the dashes or dots otherwise, so the two are never drawn alike."""
    pen = QtCore.Qt.PenStyle
    styles = (
        (pen.DashLine, pen.DashDotLine, pen.DashDotDotLine)
        if dashed
        else (pen.SolidLine, pen.DashLine, pen.DotLine)
    )
    return styles[index // len(_SERIES_MEANINGS) % len(styles)]


def band_colour(colour: QtGui.QColor, alpha: int = _BAND_ALPHA) -> QtGui.QColor:
    """``colour`` made translucent, to fill the range a series' values span."""
    band = QtGui.QColor(colour)
    band.setAlpha(alpha)
    return band


def paint_band(
    painter: QtGui.QPainter,
    upper: Sequence[QtCore.QPointF],
    lower: Sequence[QtCore.QPointF],
    colour: QtGui.QColor,
    line: QtCore.Qt.PenStyle,
) -> None:
    """The range a series spans, from its ``lower`` edge to its ``upper`` (each left to
    right): filled with translucent ``colour``, its edges thin lines drawn as the series'
    ``line`` is."""
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.setBrush(band_colour(colour))
    painter.drawPolygon(QtGui.QPolygonF([*upper, *reversed(lower)]))
    painter.setPen(QtGui.QPen(band_colour(colour, _BAND_EDGE_ALPHA), 1, line))
    painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    for edge in (upper, lower):
        painter.drawPolyline(QtGui.QPolygonF(list(edge)))


def paint_marker(
    painter: QtGui.QPainter,
    shape: str,
    at: QtCore.QPointF,
    colour: QtGui.QColor,
    size: float = _MARKER_SIZE,
) -> None:
    """A filled marker of ``shape`` (one of :data:`MARKERS`) centred on ``at``."""
    painter.setPen(QtGui.QPen(colour, 1))
    painter.setBrush(colour)
    x, y = at.x(), at.y()
    if shape == "circle":
        painter.drawEllipse(at, size, size)
    elif shape == "square":
        painter.drawRect(QtCore.QRectF(x - size, y - size, 2 * size, 2 * size))
    else:
        corners = (
            [(x, y - size - 1), (x + size + 1, y + size), (x - size - 1, y + size)]
            if shape == "triangle"
            else [(x, y - size - 1), (x + size + 1, y), (x, y + size + 1), (x - size - 1, y)]
        )
        painter.drawPolygon(QtGui.QPolygonF([QtCore.QPointF(cx, cy) for cx, cy in corners]))


@dataclass(frozen=True)
class LegendEntry:
    name: str
    colour: QtGui.QColor
    marker: str = "square"
    line: QtCore.Qt.PenStyle | None = None
    """How the series' line is drawn, if it is drawn as one (the entry shows a stroke)."""
    band: bool = False
    """Whether the series has a band of its colour (the entry's swatch is shaded as it is)."""


_SWATCH, _ENTRY_GAP = 18.0, 12.0
# A line's swatch is longer: its marker sits in the middle, and a dashed line must still show
# a gap on either side of it.
_LINE_SWATCH = 30.0


def _swatch(entry: LegendEntry) -> float:
    return _SWATCH if entry.line is None else _LINE_SWATCH


def legend_rows(
    entries: Sequence[LegendEntry], width: float, metrics: QtGui.QFontMetrics
) -> list[list[tuple[LegendEntry, float]]]:
    """``entries`` in the order given, as many to a row of ``width`` as fit, each with the
    width it takes; a name too long for a whole row is shortened to fit one."""
    rows: list[list[tuple[LegendEntry, float]]] = []
    used = 0.0
    for entry in entries:
        swatch = _swatch(entry)
        wide = min(swatch + 4 + metrics.horizontalAdvance(entry.name), max(width, swatch))
        if not rows or used + _ENTRY_GAP + wide > width:
            rows.append([])
            used = 0.0
        used += (_ENTRY_GAP if rows[-1] else 0.0) + wide
        rows[-1].append((entry, wide))
    return rows


def paint_legend(
    painter: QtGui.QPainter, entries: Sequence[LegendEntry], area: QtCore.QRectF, text: QtGui.QColor
) -> None:
    """The entries in rows from the top of ``area``, each row right-aligned, each entry a
    swatch and its name; rows that do not fit the height are left out."""
    metrics = painter.fontMetrics()
    top = area.top()
    for row in legend_rows(entries, area.width(), metrics):
        if top + metrics.height() > area.bottom() + 0.5 and top > area.top():
            break
        used = sum(wide for _, wide in row) + _ENTRY_GAP * (len(row) - 1)
        x = max(area.left(), area.right() - used)
        middle = top + metrics.height() / 2
        for entry, wide in row:
            swatch = _swatch(entry)
            if entry.band:
                band_top, band_bottom = top + 2, top + metrics.height() - 2
                paint_band(
                    painter,
                    [QtCore.QPointF(x, band_top), QtCore.QPointF(x + swatch, band_top)],
                    [QtCore.QPointF(x, band_bottom), QtCore.QPointF(x + swatch, band_bottom)],
                    entry.colour,
                    QtCore.Qt.PenStyle.SolidLine if entry.line is None else entry.line,
                )
            if entry.line is not None:
                painter.setPen(QtGui.QPen(entry.colour, 2, entry.line))
                painter.drawLine(QtCore.QPointF(x, middle), QtCore.QPointF(x + swatch, middle))
            paint_marker(
                painter, entry.marker, QtCore.QPointF(x + swatch / 2, middle), entry.colour
            )
            painter.setPen(text)
            name_width = wide - swatch - 4
            name = entry.name
            if metrics.horizontalAdvance(name) > name_width:  # elidedText cuts short ones too
                name = metrics.elidedText(name, QtCore.Qt.TextElideMode.ElideRight, int(name_width))
            painter.drawText(
                QtCore.QRectF(x + swatch + 4, top, name_width, metrics.height()),
                QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            x += wide + _ENTRY_GAP
        top += metrics.height() + 2


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
                painter.drawText(
                    QtCore.QRectF(self.rect()).adjusted(12, 12, -12, -12),
                    QtCore.Qt.AlignmentFlag.AlignCenter | QtCore.Qt.TextFlag.TextWordWrap,
                    self.empty_text,
                )
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
