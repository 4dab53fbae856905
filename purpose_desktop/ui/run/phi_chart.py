"""Φ over a run's steps as a small chart: a point per step on an axis from 0 to 10, with the
steps where a person overrode the critic marked.

Painted with QPainter: PySide6-Essentials has no QtCharts, and a chart this small needs none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from purpose_desktop.engine.dispatch import EventDispatcher
from purpose_desktop.engine.events import Event, Scored, ScoreOverridden
from purpose_desktop.engine.text import shorten
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets

PHI_MAX = 10.0
_MARGINS = (30, 10, 12, 22)  # left, top, right, bottom: room for the axis labels
_RADIUS = 4
#: How often new points are drawn at most: scores come a few a second at the very fastest.
REPAINT_MS = 250
_OVERRIDE_COLOUR = "#d9822b"


@dataclass(frozen=True)
class PhiPoint:
    """Φ after one step. ``critic_phi`` is the critic's score; ``phi`` differs from it when a
    person overrode it."""

    step: int
    agent: str
    phi: float
    critic_phi: float
    evidence: str = ""
    overridden: bool = False
    reason: str = ""

    def describe(self) -> str:
        """One line for a tooltip."""
        text = f"Step {self.step} ({self.agent}): Φ {self.phi:g}"
        if self.overridden:
            text += f", set by a person (the critic said {self.critic_phi:g})"
            if self.reason:
                text += f": {shorten(self.reason, 120)}"
        elif self.evidence:
            text += f" — {shorten(self.evidence, 120)}"
        return text


class PhiSeries:
    """The points of a run, built from its events in order. A step scored again (a resumed run
    takes the interrupted step once more) keeps its latest score."""

    def __init__(self) -> None:
        self._by_step: dict[int, PhiPoint] = {}
        self._events = EventDispatcher()
        self._events.on(Scored, self._scored)
        self._events.on(ScoreOverridden, self._overridden)

    def add(self, event: Event) -> bool:
        """Take in ``event``; whether it changed the series."""
        return self._events.dispatch(event)

    def _scored(self, event: Scored) -> None:
        self._by_step[event.step] = PhiPoint(
            event.step, event.agent, event.phi, event.phi, event.evidence
        )

    def _overridden(self, event: ScoreOverridden) -> None:
        known = self._by_step.get(event.step)
        base = known or PhiPoint(event.step, event.agent, event.phi, event.critic_phi)
        self._by_step[event.step] = replace(
            base, phi=event.phi, overridden=True, reason=event.reason
        )

    def points(self) -> list[PhiPoint]:
        """The points in step order."""
        return [self._by_step[step] for step in sorted(self._by_step)]

    def clear(self) -> None:
        self._by_step.clear()


class PhiChart(QtWidgets.QWidget):
    """Draws a :class:`PhiSeries`; hovering a point tells its step, score and evidence."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = PhiSeries()
        self.setMinimumHeight(110)
        self.setMouseTracking(True)
        # Painted whole and opaque, so a new point repaints the chart alone, not the panes
        # behind it; and at most a few times a second, however fast scores come.
        self.setAutoFillBackground(True)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._repaint = QtCore.QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self.update)

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(360, 140)

    def add_event(self, event: Event) -> None:
        if self.series.add(event) and not self._repaint.isActive():
            self._repaint.start()

    def clear(self) -> None:
        self.series.clear()
        self.update()

    # --- geometry -------------------------------------------------------------------------

    def _plot_area(self) -> QtCore.QRectF:
        left, top, right, bottom = _MARGINS
        return QtCore.QRectF(self.rect()).adjusted(left, top, -right, -bottom)

    def positions(self) -> list[tuple[PhiPoint, QtCore.QPointF]]:
        """Where each point is drawn: evenly spaced by step, Φ upwards."""
        area, points = self._plot_area(), self.series.points()
        gap = area.width() / max(len(points), 1)
        return [
            (point, QtCore.QPointF(area.left() + gap * (index + 0.5), self._y(area, point.phi)))
            for index, point in enumerate(points)
        ]

    @staticmethod
    def _y(area: QtCore.QRectF, phi: float) -> float:
        return area.bottom() - area.height() * min(max(phi, 0.0), PHI_MAX) / PHI_MAX

    def point_at(self, where: QtCore.QPointF) -> PhiPoint | None:
        """The point drawn within a few pixels of ``where``, if any."""
        for point, at in self.positions():
            if abs(at.x() - where.x()) <= _RADIUS * 2 and abs(at.y() - where.y()) <= _RADIUS * 2:
                return point
        return None

    # --- painting -------------------------------------------------------------------------

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            # Opaque (see __init__): the background is this widget's to paint.
            painter.fillRect(self.rect(), self.palette().color(QtGui.QPalette.ColorRole.Window))
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            area = self._plot_area()
            self._paint_axis(painter, area)
            placed = self.positions()
            if not placed:
                painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.PlaceholderText))
                # In the upper half, clear of the grid line at 5.
                upper = area.adjusted(0, 0, 0, -area.height() / 2)
                painter.drawText(
                    upper, QtCore.Qt.AlignmentFlag.AlignCenter, "Φ is drawn here after each step."
                )
                return
            self._paint_line(painter, placed)
            for point, at in placed:
                self._paint_point(painter, area, point, at)
            self._paint_steps(painter, area, placed)
        finally:
            painter.end()

    def _paint_axis(self, painter: QtGui.QPainter, area: QtCore.QRectF) -> None:
        palette = self.palette()
        grid = palette.color(QtGui.QPalette.ColorRole.Mid)
        text = palette.color(QtGui.QPalette.ColorRole.Text)
        for value in (0.0, 5.0, PHI_MAX):
            y = self._y(area, value)
            painter.setPen(
                QtGui.QPen(
                    grid, 1, QtCore.Qt.PenStyle.DotLine if value else QtCore.Qt.PenStyle.SolidLine
                )
            )
            painter.drawLine(QtCore.QPointF(area.left(), y), QtCore.QPointF(area.right(), y))
            painter.setPen(text)
            label = QtCore.QRectF(0, y - 8, _MARGINS[0] - 6, 16)
            painter.drawText(
                label,
                QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                f"{value:g}",
            )

    def _paint_line(
        self, painter: QtGui.QPainter, placed: list[tuple[PhiPoint, QtCore.QPointF]]
    ) -> None:
        painter.setPen(QtGui.QPen(self.palette().color(QtGui.QPalette.ColorRole.Highlight), 2))
        painter.drawPolyline(QtGui.QPolygonF([at for _, at in placed]))

    def _paint_point(
        self, painter: QtGui.QPainter, area: QtCore.QRectF, point: PhiPoint, at: QtCore.QPointF
    ) -> None:
        highlight = self.palette().color(QtGui.QPalette.ColorRole.Highlight)
        if not point.overridden:
            painter.setPen(QtGui.QPen(highlight, 1))
            painter.setBrush(highlight)
            painter.drawEllipse(at, _RADIUS, _RADIUS)
            return
        # An override: the critic's score as a hollow point, joined to the person's diamond.
        override = QtGui.QColor(_OVERRIDE_COLOUR)
        critic = QtCore.QPointF(at.x(), self._y(area, point.critic_phi))
        painter.setPen(QtGui.QPen(override, 1, QtCore.Qt.PenStyle.DashLine))
        painter.drawLine(critic, at)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawEllipse(critic, _RADIUS - 1, _RADIUS - 1)
        painter.setPen(QtGui.QPen(override, 1))
        painter.setBrush(override)
        size = _RADIUS + 1
        painter.drawPolygon(
            QtGui.QPolygonF(
                [
                    QtCore.QPointF(at.x(), at.y() - size),
                    QtCore.QPointF(at.x() + size, at.y()),
                    QtCore.QPointF(at.x(), at.y() + size),
                    QtCore.QPointF(at.x() - size, at.y()),
                ]
            )
        )

    def _paint_steps(
        self,
        painter: QtGui.QPainter,
        area: QtCore.QRectF,
        placed: list[tuple[PhiPoint, QtCore.QPointF]],
    ) -> None:
        """Step numbers under the points, thinned out so they never overlap."""
        painter.setPen(self.palette().color(QtGui.QPalette.ColorRole.Text))
        width = painter.fontMetrics().horizontalAdvance(f"{placed[-1][0].step}") + 8
        every = max(1, int(width // max(area.width() / len(placed), 1.0)) + 1)
        for index, (point, at) in enumerate(placed):
            if index % every == 0:
                label = QtCore.QRectF(at.x() - width / 2, area.bottom() + 4, width, 14)
                painter.drawText(label, QtCore.Qt.AlignmentFlag.AlignCenter, str(point.step))

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.ToolTip and isinstance(event, QtGui.QHelpEvent):
            point = self.point_at(QtCore.QPointF(event.pos()))
            if point is None:
                QtWidgets.QToolTip.hideText()
            else:
                QtWidgets.QToolTip.showText(event.globalPos(), point.describe(), self)
            return True
        return super().event(event)
