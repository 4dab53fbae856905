"""A horizontal bar chart: one bar per row of a table (an agent, a model, a run, a day), split
into stacked segments where a value has parts (tokens in and out)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.widgets.chart_parts import (
    Chart,
    LegendEntry,
    compact,
    nice_ticks,
    paint_legend,
    series_colour,
)

_BAR, _GAP = 16.0, 7.0
_TOP, _BOTTOM, _SIDE = 26.0, 24.0, 10.0
_LABEL_SHARE = 0.35  # of the width, at most, for the bars' names


@dataclass(frozen=True)
class Bar:
    """One bar: its name, a value per segment (stacked left to right), the total as shown
    after the bar, and what hovering it tells."""

    label: str
    values: tuple[float, ...]
    text: str
    tooltip: str = ""

    @property
    def total(self) -> float:
        return sum(self.values)


class BarChart(Chart):
    """Bars of one measure, longest scale first as given; the axis under them starts at 0."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Nothing to chart yet.", parent)
        self.bars: tuple[Bar, ...] = ()
        self.title = ""
        self.segments: tuple[str, ...] = ()
        self._tick_text: Callable[[float], str] = compact

    def show_bars(
        self,
        bars: Sequence[Bar],
        *,
        title: str,
        segments: Sequence[str] = (),
        tick_text: Callable[[float], str] = compact,
    ) -> None:
        """Draw ``bars`` under ``title``; ``segments`` names the parts of a stacked bar
        (shown in a legend), ``tick_text`` writes the axis values."""
        self.bars, self.title, self.segments = tuple(bars), title, tuple(segments)
        self._tick_text = tick_text
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QtCore.QSize:
        rows = max(len(self.bars), 3)
        return QtCore.QSize(420, int(_TOP + _BOTTOM + rows * (_BAR + _GAP)))

    def minimumSizeHint(self) -> QtCore.QSize:
        # Every bar at its height: in a scroll area, many bars scroll rather than overlap.
        return QtCore.QSize(240, self.sizeHint().height())

    def has_data(self) -> bool:
        return bool(self.bars)

    # --- geometry -------------------------------------------------------------------------

    def _ticks(self) -> list[float]:
        return nice_ticks(0.0, max((bar.total for bar in self.bars), default=0.0))

    def _columns(self) -> tuple[float, QtCore.QRectF]:
        """The width of the names' column, and the area the bars may fill."""
        metrics = self.fontMetrics()
        # With room to spare: a name elided to exactly its own width loses letters.
        names = float(max(metrics.horizontalAdvance(bar.label) for bar in self.bars) + 16)
        names = min(names, self.width() * _LABEL_SHARE)
        values = max(metrics.horizontalAdvance(bar.text) for bar in self.bars) + 8
        area = QtCore.QRectF(
            _SIDE + names,
            _TOP,
            self.width() - 2 * _SIDE - names - values,
            len(self.bars) * (_BAR + _GAP),
        )
        return names, area

    def bar_rects(self) -> list[tuple[Bar, list[QtCore.QRectF]]]:
        """Each bar with the rectangle of each of its segments."""
        _, area = self._columns()
        scale = area.width() / self._ticks()[-1]
        placed = []
        for row, bar in enumerate(self.bars):
            top = area.top() + row * (_BAR + _GAP) + _GAP / 2
            left, rects = area.left(), []
            for value in bar.values:
                width = max(value, 0.0) * scale
                rects.append(QtCore.QRectF(left, top, width, _BAR))
                left += width
            placed.append((bar, rects))
        return placed

    def tooltip_at(self, where: QtCore.QPointF) -> str:
        for bar, rects in self.bar_rects():
            row = rects[0].united(rects[-1]).adjusted(-_SIDE, -_GAP / 2, self.width(), _GAP / 2)
            row.setLeft(0)
            if row.contains(where):
                return bar.tooltip or f"{bar.label}: {bar.text}"
        return ""

    # --- painting -------------------------------------------------------------------------

    def paint_chart(self, painter: QtGui.QPainter) -> None:
        names, area = self._columns()
        text = self.colour("Text")
        painter.setPen(text)
        header = QtCore.QRectF(_SIDE, 4, self.width() - 2 * _SIDE, _TOP - 8)
        painter.drawText(
            header,
            QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
            self.title,
        )
        colours = [series_colour(index, self.palette()) for index in range(len(self.segments))]
        if len(self.segments) > 1:
            header.setLeft(header.left() + self.fontMetrics().horizontalAdvance(self.title) + 16)
            paint_legend(
                painter,
                [
                    LegendEntry(name, colour)
                    for name, colour in zip(self.segments, colours, strict=True)
                ],
                header,
                text,
            )
        self._paint_axis(painter, area)
        single = self.colour("Highlight")
        for bar, rects in self.bar_rects():
            for index, rect in enumerate(rects):
                painter.fillRect(rect, colours[index] if len(rects) > 1 else single)
            painter.setPen(text)
            label = QtCore.QRectF(_SIDE, rects[0].top() - 2, names - 8, _BAR + 4)
            painter.drawText(
                label,
                QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                self.fontMetrics().elidedText(
                    bar.label, QtCore.Qt.TextElideMode.ElideMiddle, int(names - 8)
                ),
            )
            end = rects[-1].right() + 6
            painter.drawText(
                QtCore.QRectF(end, rects[0].top() - 2, self.width() - end, _BAR + 4),
                QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                bar.text,
            )

    def _paint_axis(self, painter: QtGui.QPainter, area: QtCore.QRectF) -> None:
        ticks = self._ticks()
        grid, text = self.colour("Mid"), self.colour("Text")
        for tick in ticks:
            x = area.left() + area.width() * tick / ticks[-1]
            painter.setPen(
                QtGui.QPen(
                    grid,
                    1,
                    QtCore.Qt.PenStyle.SolidLine if tick == 0 else QtCore.Qt.PenStyle.DotLine,
                )
            )
            painter.drawLine(QtCore.QPointF(x, area.top()), QtCore.QPointF(x, area.bottom()))
            painter.setPen(text)
            painter.drawText(
                QtCore.QRectF(x - 40, area.bottom() + 3, 80, _BOTTOM - 6),
                QtCore.Qt.AlignmentFlag.AlignCenter,
                self._tick_text(tick),
            )
