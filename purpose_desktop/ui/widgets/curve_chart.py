"""Curves of a measure over iterations, one per series, with a legend and labelled axes: how
a team improves from one pass of a benchmark suite to the next. A curve may carry the range
its value spans at each iteration (over repeated runs), drawn as a translucent band of its
colour under the lines, and curves may be grouped: a group shares a colour and a marker, its
dashed curves told from its solid one by the line alone."""

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
    paint_band,
    paint_legend,
    paint_marker,
    series_colour,
    series_line,
    span_text,
)

_LEFT, _RIGHT, _BOTTOM = 64.0, 16.0, 42.0  # room for ticks and titles
_LEGEND_TOP, _BELOW_LEGEND = 6.0, 8.0
_HIT = 7.0  # how near a point the pointer must be for its tooltip
_LONE_BAND = 6.0  # half the width of the band of a single iteration, which has no length


@dataclass(frozen=True)
class Curve:
    """A series: its name and (iteration, value) points in order.

    ``band`` holds (iteration, low, high): the range the value spans there, shaded in the
    curve's colour and given in its tooltips. Curves of one ``group`` (by default each curve
    is a group of its own, named by its name) share a colour and a marker; a ``dashed`` one is
    drawn with a broken line, to tell a second kind of the group's series from the first."""

    name: str
    points: tuple[tuple[int, float], ...]
    band: tuple[tuple[int, float, float], ...] = ()
    dashed: bool = False
    group: str = ""


@dataclass(frozen=True)
class PlacedPoint:
    curve: str
    iteration: int
    value: float
    at: QtCore.QPointF
    spread: tuple[float, float] | None = None
    """The low and high of the curve's band at the point's iteration, if it has one there."""


@dataclass(frozen=True)
class Look:
    """How a curve is drawn: its colour, the marker on its points and its line."""

    colour: QtGui.QColor
    marker: str
    line: QtCore.Qt.PenStyle


@dataclass(frozen=True)
class PlacedBand:
    """Where a curve's band is drawn: its upper edge along the highs, its lower edge along
    the lows, each left to right."""

    curve: str
    upper: tuple[QtCore.QPointF, ...]
    lower: tuple[QtCore.QPointF, ...]


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

    def looks(self) -> list[Look]:
        """How each curve is drawn, in order."""
        groups: dict[str, int] = {}
        looks: list[Look] = []
        for curve in self.curves:
            # Groups are numbered in the order they first appear, so ungrouped curves are
            # styled by their place, as they always were.
            index = groups.setdefault(curve.group or curve.name, len(groups))
            looks.append(
                Look(
                    series_colour(index, self.palette()),
                    MARKERS[index % len(MARKERS)],
                    series_line(index, dashed=curve.dashed),
                )
            )
        return looks

    def legend_entries(self) -> list[LegendEntry]:
        """One per curve, drawn as its curve is: colour, marker, line and band."""
        return [
            LegendEntry(curve.name, look.colour, look.marker, look.line, band=bool(curve.band))
            for curve, look in zip(self.curves, self.looks(), strict=True)
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
        numbers = [
            iteration
            for curve in self.curves
            for iteration in (
                *(i for i, _ in curve.points),
                *(i for i, _, _ in curve.band),
            )
        ]
        return min(numbers), max(numbers)

    def y_ticks(self) -> list[float]:
        if self._bounds is not None:
            return nice_ticks(*self._bounds)
        values = [
            value
            for curve in self.curves
            for value in (
                *(v for _, v in curve.points),
                *(edge for _, low, high in curve.band for edge in (low, high)),
            )
        ]
        return nice_ticks(min(0.0, *values), max(values))

    def positions(self) -> list[PlacedPoint]:
        """Where every point of every curve is drawn."""
        area, ticks = self.plot_area(), self.y_ticks()
        placed: list[PlacedPoint] = []
        for curve in self.curves:
            spreads = {iteration: (low, high) for iteration, low, high in curve.band}
            placed.extend(
                PlacedPoint(
                    curve.name,
                    iteration,
                    value,
                    QtCore.QPointF(self._x(area, iteration), _y(area, ticks, value)),
                    spreads.get(iteration),
                )
                for iteration, value in curve.points
            )
        return placed

    def bands(self) -> list[PlacedBand]:
        """Where the band of every curve that has one is drawn; a single iteration's band is
        a narrow bar about its point."""
        area, ticks = self.plot_area(), self.y_ticks()
        placed: list[PlacedBand] = []
        for curve in self.curves:
            spans = sorted(curve.band)
            # (x, low, high) along the band.
            if len(spans) == 1:
                ((iteration, low, high),) = spans
                middle = self._x(area, iteration)
                spans_at = [(middle - _LONE_BAND, low, high), (middle + _LONE_BAND, low, high)]
            else:
                spans_at = [(self._x(area, iteration), low, high) for iteration, low, high in spans]
            if spans_at:
                placed.append(
                    PlacedBand(
                        curve.name,
                        tuple(QtCore.QPointF(x, _y(area, ticks, high)) for x, _, high in spans_at),
                        tuple(QtCore.QPointF(x, _y(area, ticks, low)) for x, low, _ in spans_at),
                    )
                )
        return placed

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
        return "\n".join(self._point_text(point) for point in near)

    def _point_text(self, point: PlacedPoint) -> str:
        """``learning on, iteration 2: 40%``, with the band's range after it (see
        :func:`span_text`)."""
        text = self._value_text
        value = f"{point.curve}, iteration {point.iteration}: {text(point.value)}"
        if point.spread is None:
            return value
        low, high = point.spread
        return f"{value} ({span_text(text(low), text(high))})"

    # --- painting -------------------------------------------------------------------------

    def paint_chart(self, painter: QtGui.QPainter) -> None:
        area, text = self.plot_area(), self.colour("Text")
        placed = self.positions()
        self._paint_y_axis(painter, area)
        self._paint_x_axis(painter, area)
        looks = dict(zip((curve.name for curve in self.curves), self.looks(), strict=True))
        # Every band before any line: a band shades the lines under it, never hides them.
        for band in self.bands():
            look = looks[band.curve]
            paint_band(painter, band.upper, band.lower, look.colour, look.line)
        for curve in self.curves:
            look = looks[curve.name]
            points = [point.at for point in placed if point.curve == curve.name]
            painter.setPen(QtGui.QPen(look.colour, 2, look.line))
            painter.drawPolyline(QtGui.QPolygonF(points))
            for at in points:
                paint_marker(painter, look.marker, at, look.colour)
        paint_legend(painter, self.legend_entries(), self._legend_area(), text)

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
