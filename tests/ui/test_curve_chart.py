"""The curve chart's bands and groups, offscreen, painted for real: a band of the range a value
spans is shaded translucent under the lines and widens the axis, curves of a group share a
colour and a marker and a dashed one is told apart by its line, and curves given neither are
drawn as they always were (tests/ui/test_benchmark_pane.py draws them from results)."""

from __future__ import annotations

import pytest
from purpose_desktop.ui.qt import QtCore, QtGui
from purpose_desktop.ui.widgets.chart_parts import (
    RANGE_DASH,
    band_colour,
    series_colour,
    series_line,
)
from purpose_desktop.ui.widgets.curve_chart import Curve, CurveChart
from pytestqt.qtbot import QtBot

Pen = QtCore.Qt.PenStyle


@pytest.fixture
def chart(qtbot: QtBot) -> CurveChart:
    made = CurveChart()
    qtbot.addWidget(made)
    made.resize(640, 360)
    return made


def blend(under: QtGui.QColor, over: QtGui.QColor) -> tuple[int, ...]:
    """``over`` painted on ``under`` with its alpha."""
    share = over.alphaF()
    return tuple(
        round(below * (1 - share) + above * share)
        for below, above in zip(under.getRgb()[:3], over.getRgb()[:3], strict=True)
    )


def near(colour: QtGui.QColor, expected: tuple[int, ...]) -> bool:
    return all(
        abs(got - want) <= 2 for got, want in zip(colour.getRgb()[:3], expected, strict=True)
    )


def test_curves_without_bands_or_groups_are_drawn_as_before(chart: CurveChart) -> None:
    chart.show_curves(
        [Curve("on", ((1, 0.2), (2, 0.4))), Curve("off", ((1, 0.2), (2, 0.2)))],
        y_title="Success rate",
        bounds=(0.0, 1.0),
    )
    looks = chart.looks()
    assert looks[0].colour != looks[1].colour and looks[0].marker != looks[1].marker
    assert [look.line for look in looks] == [Pen.SolidLine, Pen.SolidLine]
    assert chart.bands() == []
    assert not any(entry.band for entry in chart.legend_entries())
    assert chart.tooltip_at(chart.positions()[1].at) == "on, iteration 2: 0.4"


def test_a_band_is_shaded_under_its_line_and_widens_the_axis(chart: CurveChart) -> None:
    curve = Curve(
        "learning on",
        ((1, 2.0), (2, 3.0), (3, 4.0)),
        band=((1, 1.0, 3.0), (2, 1.5, 4.5), (3, 3.0, 7.0)),
    )
    chart.show_curves([curve], y_title="Average Φ")
    # No bounds: the axis reaches the band's highest value, not only the line's.
    assert chart.y_ticks()[0] == 0.0 and chart.y_ticks()[-1] >= 7.0
    (band,) = chart.bands()
    placed = chart.positions()
    assert band.curve == "learning on"
    assert [point.x() for point in band.upper] == [point.at.x() for point in placed]
    assert [point.x() for point in band.lower] == [point.at.x() for point in placed]
    # Above and below each point, by as far as its range reaches.
    assert all(
        high.y() < point.at.y() < low.y()
        for high, low, point in zip(band.upper, band.lower, placed, strict=True)
    )
    assert chart.tooltip_at(placed[2].at) == f"learning on, iteration 3: 4 (3{RANGE_DASH}7)"

    picture = chart.grab().toImage()
    look = chart.looks()[0]
    middle = placed[1].at
    # The line is drawn over the band in its own colour; between the line and the band's
    # edge, the band's translucent colour lies over the window's.
    assert picture.pixelColor(middle.toPoint()).name() == look.colour.name()
    inside = QtCore.QPoint(round(middle.x()), round((middle.y() + band.upper[1].y()) / 2))
    assert near(picture.pixelColor(inside), blend(chart.colour("Window"), band_colour(look.colour)))
    above = QtCore.QPoint(round(middle.x()), round(band.upper[1].y()) - 6)
    assert picture.pixelColor(above).name() == chart.colour("Window").name()
    # The legend's swatch is shaded too, so the band is named with its curve.
    assert chart.legend_entries()[0].band


def test_a_single_iterations_band_is_a_narrow_bar_about_its_point(chart: CurveChart) -> None:
    chart.show_curves(
        [Curve("learning on", ((1, 0.5),), band=((1, 0.25, 0.75),))],
        y_title="Success rate",
        bounds=(0.0, 1.0),
    )
    (band,) = chart.bands()
    (point,) = chart.positions()
    assert [edge.x() - point.at.x() for edge in band.upper] == [-6.0, 6.0]
    assert band.upper[0].y() < point.at.y() < band.lower[0].y()


def test_a_group_shares_a_colour_and_a_marker_and_its_dashed_curve_a_line_of_its_own(
    chart: CurveChart,
) -> None:
    arms = [f"arm {index}" for index in range(7)]
    curves = [
        Curve(f"{arm} · {part}", ((1, 0.1), (2, 0.2)), dashed=part == "test", group=arm)
        for arm in arms
        for part in ("training", "test")
    ]
    chart.show_curves(curves, y_title="Success rate", bounds=(0.0, 1.0))
    looks = chart.looks()
    for training, test in zip(looks[::2], looks[1::2], strict=True):
        assert (training.colour, training.marker) == (test.colour, test.marker)
        assert training.line != test.line
    # Groups take the colours in turn, as single curves do.
    assert [look.colour for look in looks[::2]] == [
        series_colour(index, chart.palette()) for index in range(len(arms))
    ]
    # The seventh group's colour is the first's again: its lines are the next style along,
    # and its dashed line is unlike any of the first group's.
    assert [looks[12].line, looks[13].line] == [Pen.DashLine, Pen.DashDotLine]
    assert len({(look.colour.name(), look.marker, look.line) for look in looks}) == len(curves)
    assert [entry.line for entry in chart.legend_entries()] == [look.line for look in looks]
    assert series_line(0, dashed=True) == Pen.DashLine
