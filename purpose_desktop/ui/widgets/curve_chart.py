"""Curves of a measure over iterations, one per series, with a legend and labelled axes: how
a team improves from one pass of a benchmark suite to the next."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.widgets.chart_parts import (
    MARKERS,
    Chart,
    LegendEntry,
    compact,
    legend_rows,
    nice_ticks,
    paint_legend,
    paint_marker,
    series_colour,
    series_line,
)

_LEFT, _RIGHT, _BOTTOM = 64.0, 16.0, 42.0  # room for ticks and titles
_LEGEND_TOP, _BELOW_LEGEND = 6.0, 8.0
_HIT = 7.0  # how near a point the pointer must be for its tooltip


@dataclass(frozen=True)
class Curve:
    """A series: its name and (iteration, value) points in order."""

    name: str
    points: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class PlacedPoint:
    curve: str
    iteration: int
    value: float
    at: QtCore.QPointF


class CurveChart(Chart):
    """Draws :class:`Curve` s: iterations along the bottom, the measure upwards."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("No results to draw.", parent)
        self.curves: tuple[Curve, ...] = ()
        self.y_title = ""
        self._bounds: tuple[float, float] | None = None
        self._value_text: Callable[[float], str] = compact
        self.setMinimumSize(320, 200)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(560, 320)

    def show_curves(
        self,
        curves: Sequence[Curve],
        *,
        y_title: str,
        bounds: tuple[float, float] | None = None,
        value_text: Callable[[float], str] = compact,
    ) -> None:
        """Draw ``curves`` against ``y_title``; the axis spans ``bounds`` when given (a
        measure with a fixed range), else the values (from 0 when none is negative).
        ``value_text`` writes a value for the axis and the tooltips."""
        self.curves, self.y_title, self._bounds = tuple(curves), y_title, bounds
        self._value_text = value_text
        self.update()

    def has_data(self) -> bool:
        return any(curve.points for curve in self.curves)

    # --- geometry -------------------------------------------------------------------------

    def plot_area(self) -> QtCore.QRectF:
        return QtCore.QRectF(self.rect()).adjusted(
            _LEFT, self._legend_area().bottom() + _BELOW_LEGEND, -_RIGHT, -_BOTTOM
        )

    def legend_entries(self) -> list[LegendEntry]:
        """One per curve, drawn as its curve is: colour, marker and line."""
        return [
            LegendEntry(
                curve.name,
                series_colour(index, self.palette()),
                MARKERS[index % len(MARKERS)],
                series_line(index),
            )
            for index, curve in enumerate(self.curves)
        ]

    def _legend_area(self) -> QtCore.QRectF:
        # As many rows as the names need, up to a third of the chart's height: past that the
        # plot would be too flat to read, and the rows left out are named in the tooltips.
        width = self.width() - _LEFT - _RIGHT
        metrics = self.fontMetrics()
        row = metrics.height() + 2
        rows = min(
            len(legend_rows(self.legend_entries(), width, metrics)),
            max(1, int(self.height() / 3 // row)),
        )
        return QtCore.QRectF(_LEFT, _LEGEND_TOP, width, rows * row)

    def _iterations(self) -> tuple[int, int]:
        numbers = [iteration for curve in self.curves for iteration, _ in curve.points]
        return min(numbers), max(numbers)

    def y_ticks(self) -> list[float]:
        if self._bounds is not None:
            return nice_ticks(*self._bounds)
        values = [value for curve in self.curves for _, value in curve.points]
        return nice_ticks(min(0.0, *values), max(values))

    def positions(self) -> list[PlacedPoint]:
        """Where every point of every curve is drawn."""
        area, ticks = self.plot_area(), self.y_ticks()
        return [
            PlacedPoint(
                curve.name,
                iteration,
                value,
                QtCore.QPointF(self._x(area, iteration), _y(area, ticks, value)),
            )
            for curve in self.curves
            for iteration, value in curve.points
        ]

    def _x(self, area: QtCore.QRectF, iteration: int) -> float:
        first, last = self._iterations()
        if first == last:
            return area.center().x()
        return area.left() + area.width() * (iteration - first) / (last - first)

    def tooltip_at(self, where: QtCore.QPointF) -> str:
        near = [
            point
            for point in self.positions()
            if abs(point.at.x() - where.x()) <= _HIT and abs(point.at.y() - where.y()) <= _HIT
        ]
        return "\n".join(
            f"{point.curve}, iteration {point.iteration}: {self._value_text(point.value)}"
            for point in near
        )

    # --- painting -------------------------------------------------------------------------

    def paint_chart(self, painter: QtGui.QPainter) -> None:
        area, text = self.plot_area(), self.colour("Text")
        placed = self.positions()
        self._paint_y_axis(painter, area)
        self._paint_x_axis(painter, area)
        entries = self.legend_entries()
        for index, (curve, entry) in enumerate(zip(self.curves, entries, strict=True)):
            points = [point.at for point in placed if point.curve == curve.name]
            painter.setPen(QtGui.QPen(entry.colour, 2, series_line(index)))
            painter.drawPolyline(QtGui.QPolygonF(points))
            for at in points:
                paint_marker(painter, entry.marker, at, entry.colour)
        paint_legend(painter, entries, self._legend_area(), text)

    def _paint_y_axis(self, painter: QtGui.QPainter, area: QtCore.QRectF) -> None:
        ticks, grid, text = self.y_ticks(), self.colour("Mid"), self.colour("Text")
        for tick in ticks:
            y = _y(area, ticks, tick)
            painter.setPen(
                QtGui.QPen(
                    grid,
                    1,
                    QtCore.Qt.PenStyle.SolidLine
                    if tick == ticks[0]
                    else QtCore.Qt.PenStyle.DotLine,
                )
            )
            painter.drawLine(QtCore.QPointF(area.left(), y), QtCore.QPointF(area.right(), y))
            painter.setPen(text)
            painter.drawText(
                QtCore.QRectF(0, y - 8, _LEFT - 6, 16),
                QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                self._value_text(tick),
            )
        # The axis title, turned to read upwards along the axis.
        painter.save()
        painter.translate(12, area.center().y())
        painter.rotate(-90)
        painter.drawText(
            QtCore.QRectF(-area.height() / 2, -10, area.height(), 20),
            QtCore.Qt.AlignmentFlag.AlignCenter,
            self.y_title,
        )
        painter.restore()

    def _paint_x_axis(self, painter: QtGui.QPainter, area: QtCore.QRectF) -> None:
        first, last = self._iterations()
        painter.setPen(self.colour("Text"))
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(str(last)) + 10
        span = max(last - first, 1)
        # Every iteration if the labels fit, otherwise every second, fifth, tenth...
        every = next(
            step
            for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, span)
            if area.width() * step / span >= width
        )
        for iteration in range(first, last + 1):
            if (iteration - first) % every:
                continue
            x = self._x(area, iteration)
            painter.drawText(
                QtCore.QRectF(x - width / 2, area.bottom() + 4, width, 16),
                QtCore.Qt.AlignmentFlag.AlignCenter,
                str(iteration),
            )
        painter.drawText(
            QtCore.QRectF(area.left(), area.bottom() + 22, area.width(), 16),
            QtCore.Qt.AlignmentFlag.AlignCenter,
            "Iteration",
        )


def _y(area: QtCore.QRectF, ticks: list[float], value: float) -> float:
    """Where ``value`` is drawn on an axis from the first of ``ticks`` to the last."""
    return area.bottom() - area.height() * (value - ticks[0]) / (ticks[-1] - ticks[0])
