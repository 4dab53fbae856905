"""The Benchmarks pane driven through its widgets, offscreen, over real result files and a real
database: the empty state, the curves of each measure for every series, a held-out and
repeated result (training and test curves, the spread of the repeats), files that cannot be
read, Open…, the database's results listed with the files it does not hold, and Delete…
(tests/ui/test_benchmark_runs.py runs benchmarks from the pane)."""

from __future__ import annotations

import gc
import itertools
import json
import os
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    result_file,
    save_improvement,
)
from purpose_desktop.services.benchmarks import BenchmarkService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.improvement_store import ImprovementStore, keep_result
from purpose_desktop.store.opening import Store, StoreError, open_store
from purpose_desktop.ui.benchmarks.controller import BenchmarkController
from purpose_desktop.ui.benchmarks.pane import BenchmarkPane
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.theme import Scheme, meaning_colour
from purpose_desktop.ui.widgets.chart_parts import RANGE_DASH, band_colour, legend_rows
from purpose_desktop.ui.widgets.curve_chart import Curve, CurveChart
from pytestqt.qtbot import QtBot
from tests.support.benchmarks import learning_result
from tests.support.improvement import heldout_result
from tests.support.theme import theme_applied
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Qt objects a qasync loop leaves in cycles are collected here, on the main thread."""
    yield
    gc.collect()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "benchmarks"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real database, as the app opens it."""
    opened = open_store(tmp_path / "purpose-desktop.sqlite3")
    yield opened
    opened.engine.dispose()


@pytest.fixture
def make_pane(
    folder: Path, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> Iterator[Callable[..., BenchmarkPane]]:
    errors: list[BaseException] = []
    tasks = TaskKeeper(errors.append)

    def make(**options: Any) -> BenchmarkPane:
        pane = BenchmarkPane(BenchmarkController(tasks, BenchmarkService(folder, **options)))
        qtbot.addWidget(pane)
        pane.resize(1100, 680)
        return pane

    yield make
    run_in_qt_loop(tasks.cancel_all())
    assert errors == []


async def shown(pane: BenchmarkPane) -> None:
    """Show the pane and wait for its first listing of the folder."""
    pane.show()
    await wait_until(lambda: pane.controller.listing is not None, 10)
    assert pane.controller.listing is not None
    await pane.controller.listing


def test_without_results_the_pane_says_how_to_make_them(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    pane = make_pane()
    run_in_qt_loop(shown(pane))
    assert pane.results.count() == 0 and pane.shown is None
    assert pane.pages.currentWidget() is pane.empty
    text = pane.empty.text()
    assert text.startswith("No benchmark results yet.")
    assert "purpose-desktop bench improve --suite NAME [--team TEAM_FILE]" in text
    assert str(folder) in text
    screenshot(pane, "benchmarks-empty")


def test_a_result_is_drawn_as_one_curve_per_series_for_the_chosen_measure(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    folder.mkdir()
    result = learning_result()
    save_improvement(result, folder / "arithmetic.json")
    older = learning_result(3)
    save_improvement(
        ImprovementResult(
            "spelling", "Writers", "bundled:gemma3-270m", older.created, older.series[:1]
        ),
        folder / "spelling.json",
    )
    os.utime(folder / "spelling.json", (1_700_000_000, 1_700_000_000))
    pane = make_pane()
    run_in_qt_loop(shown(pane))
    assert [pane.results.item(i).text() for i in range(pane.results.count())] == [
        f"arithmetic · Calculators · {local(result.created)}",
        f"spelling · Writers · {local(older.created)}",
    ]
    assert pane.shown == result  # the newest is shown at once
    assert "<b>arithmetic</b> · team Calculators · bundled:smollm2-135m" in pane.heading.text()
    # The whole suite, run once: nothing is held out and there is no spread to explain.
    assert "<br>" not in pane.heading.text()
    assert pane.part.isHidden() and pane.key.isHidden()
    chart = pane.chart
    assert [curve.name for curve in chart.curves] == [
        "learning on",
        "learning off",
        "with overrides",
    ]
    assert chart.curves[0].points == tuple(
        (m.iteration, m.success_rate) for m in result.series[0].iterations
    )
    # The whole range, however far the curves reach.
    assert chart.y_title == "Success rate" and chart.y_ticks() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert cells(pane.table, 0) == ["Iteration", "learning on", "learning off", "with overrides"]
    assert cells(pane.table, 6) == ["6", "80%", "30%", "100%"]
    higher_first(chart, "learning on")
    screenshot(pane, "benchmarks-success-rate")

    pane.measure.setCurrentText("Average reward")
    assert chart.curves[1].points == tuple((i, -0.5) for i in range(1, 7))
    assert chart.y_ticks()[0] < -0.5  # a negative reward is inside the axis
    assert cells(pane.table, 2)[1:] == ["+0.10", "-0.50", "+0.34"]
    pane.measure.setCurrentText("Tokens")
    assert chart.y_title == "Tokens" and chart.y_ticks()[0] == 0.0
    assert cells(pane.table, 6)[1:] == ["3,460", "4,000", "3,244"]
    assert chart.tooltip_at(chart.positions()[5].at) == "learning on, iteration 6: 3.46k"
    screenshot(pane, "benchmarks-tokens")

    pane.results.setCurrentRow(1)
    assert pane.shown is not None and pane.shown.suite == "spelling"
    assert [curve.name for curve in chart.curves] == ["learning on"]
    assert pane.table.rowCount() == 3


def test_a_held_out_repeated_result_shows_training_and_test_with_their_spread(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    folder.mkdir()
    result = heldout_result()
    save_improvement(result, folder / "heldout.json")
    pane = make_pane()
    run_in_qt_loop(shown(pane))
    assert pane.shown == result
    assert pane.heading.text().endswith("<br>30% held out, mean of 3 repeats")
    assert pane.part.isVisible() and pane.part.currentText() == "Training and test"
    chart = pane.chart
    names = [
        "learning on · training",
        "learning on · test",
        "learning off · training",
        "learning off · test",
    ]
    assert [curve.name for curve in chart.curves] == names
    # Each arm in a colour and marker of its own; its test tasks dashed, its training solid.
    entries = chart.legend_entries()
    assert [(e.colour.name(), e.marker) for e in entries[:2]] == [
        (entries[0].colour.name(), entries[0].marker)
    ] * 2
    assert entries[0].colour != entries[2].colour
    assert [e.line for e in entries] == [
        QtCore.Qt.PenStyle.SolidLine,
        QtCore.Qt.PenStyle.DashLine,
    ] * 2
    assert all(entry.band for entry in entries)
    assert pane.key.isVisible()
    assert pane.key.text() == (
        "Dashed: the held-out tasks, never learned from. Shaded: the lowest to the highest "
        "success rate of the 3 repeats; the lines are their mean."
    )
    # The table gives the mean and, in brackets, the range of the repeats.
    assert cells(pane.table, 0) == ["Iteration", *names]
    assert cells(pane.table, 1) == ranged(
        ["1", "40% (30-50%)", "30% (15-45%)", "40% (30-50%)", "30% (20-40%)"]
    )
    assert cells(pane.table, 5) == ranged(
        ["5", "80% (70-90%)", "50% (35-65%)", "40% (30-50%)", "30% (20-40%)"]
    )
    # The two arms' test tasks start alike: hovering there names both.
    first = next(point for point in chart.positions() if point.curve == names[1])
    assert chart.tooltip_at(first.at) == "\n".join(
        ranged(
            [
                "learning on · test, iteration 1: 30% (15-45%)",
                "learning off · test, iteration 1: 30% (20-40%)",
            ]
        )
    )

    # Half way from iteration 4 to 5, learning on's training curve is at 75% and its band
    # reaches 85%: at 80% the band's translucent colour lies over the window's, at 95% nothing.
    picture = chart.grab().toImage()
    area = chart.plot_area()
    fourth, fifth = (
        point.at.x()
        for point in chart.positions()
        if point.curve == names[0] and point.iteration > 3
    )
    x = round((fourth + fifth) / 2)

    def at(value: float) -> QtGui.QColor:
        return picture.pixelColor(x, round(area.bottom() - area.height() * value))

    window, colour = chart.colour("Window"), entries[0].colour
    shade = band_colour(colour).alpha() / 255
    blended = [
        round(behind * (1 - shade) + ahead * shade)
        for behind, ahead in zip(window.getRgb()[:3], colour.getRgb()[:3], strict=True)
    ]
    assert all(
        abs(got - want) <= 2 for got, want in zip(at(0.8).getRgb()[:3], blended, strict=True)
    )
    assert at(0.95).name() == window.name()
    screenshot(pane, "benchmarks-heldout")
    assert pane.grab().save("/tmp/bench_heldout.png")

    # Part shows either part alone.
    pane.part.setCurrentText("Test")
    assert [curve.name for curve in chart.curves] == [names[1], names[3]]
    assert cells(pane.table, 0) == ["Iteration", names[1], names[3]]
    assert "Dashed" not in pane.key.text()  # every line is: Part says why
    pane.part.setCurrentText("Training")
    assert [curve.name for curve in chart.curves] == [names[0], names[2]]
    # The repeats give the spread of the success rate alone: other measures have none.
    pane.measure.setCurrentText("Tokens")
    assert not any(curve.band for curve in chart.curves)
    assert cells(pane.table, 1) == ["1", "1,100", "1,100"]
    assert pane.key.isHidden()
    pane.part.setCurrentText("Training and test")
    assert pane.key.text() == "Dashed: the held-out tasks, never learned from."
    screenshot(pane, "benchmarks-heldout-tokens")


def test_a_file_that_cannot_be_read_says_why_and_where(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    folder.mkdir()
    data = json.loads(learning_result().to_json())
    data["series"][2]["iterations"][4]["success_rate"] = 1.4
    (folder / "broken.json").write_text(json.dumps(data), encoding="utf-8")
    pane = make_pane()
    run_in_qt_loop(shown(pane))
    item = pane.results.item(0)
    assert item.text() == "broken.json (cannot be read)"
    assert item.foreground().color() == meaning_colour("error", pane.palette())
    problem = (
        f"{folder / 'broken.json'}: series[2].iterations[4].success_rate: should be "
        "from 0 to 1, not 1.4"
    )
    assert pane.notice.text() == problem and pane.notice.isVisible()
    assert item.toolTip() == problem
    assert pane.shown is None and pane.pages.currentWidget() is pane.unreadable
    screenshot(pane, "benchmarks-unreadable")


def test_open_shows_a_result_kept_elsewhere_and_refuses_a_bad_one(
    make_pane: Callable[..., BenchmarkPane],
    tmp_path: Path,
    run_in_qt_loop: RunInLoop,
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    save_improvement(learning_result(4), elsewhere)
    not_a_result = tmp_path / "team.json"
    not_a_result.write_text('{"name": "a team"}', encoding="utf-8")
    pane = make_pane()

    async def scenario() -> None:
        await shown(pane)
        pane.open_button.click()
        dialog = pane.file_dialog
        assert dialog is not None and dialog.isVisible()  # open(), not a blocking exec()
        dialog.selectFile(str(elsewhere))
        dialog.accept()
        await wait_until(lambda: pane.shown is not None, 10)
        await pane.controller.open_file(not_a_result)
        assert pane.notice.text() == (
            f"{not_a_result} is not a benchmark result: it must "
            'have "format": "purpose-desktop-improvement"'
        )
        assert pane.shown is not None  # what was shown stays
        await (
            pane.controller.refresh()
        )  # the opened file stays listed after the folder is read again

    run_in_qt_loop(scenario())
    assert pane.shown is not None and pane.table.rowCount() == 4
    assert [entry.path for entry in pane.controller.entries] == [elsewhere]


def test_the_databases_results_are_listed_with_the_files_it_does_not_hold(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    store: Store,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    results = ImprovementStore(store.engine)
    base = learning_result(4)
    # Saved in the database and as a file in the folder, as bench improve saves it.
    both = replace(base, suite="files", created=base.created + timedelta(days=2))
    kept = keep_result(both, result_file(folder, both), lambda: store.engine)
    assert kept.saved is not None
    # In the database alone (its file was written elsewhere).
    only_saved = results.save(
        replace(base, suite="text", created=base.created + timedelta(days=1)),
        Path("/elsewhere/text.json"),
    )
    # A file alone, written an hour before the oldest; and one that cannot be read.
    save_improvement(base, folder / "copied.json")
    os.utime(folder / "copied.json", (base.created.timestamp() - 3600,) * 2)
    (folder / "broken.json").write_text("{", encoding="utf-8")
    os.utime(folder / "broken.json", (1_600_000_000, 1_600_000_000))
    pane = make_pane(store=StoreService(lambda: store))

    async def scenario() -> None:
        await shown(pane)
        assert [pane.results.item(i).text() for i in range(pane.results.count())] == [
            f"files · Calculators · {local(both.created)}",
            f"text · Calculators · {local(base.created + timedelta(days=1))}",
            f"arithmetic · Calculators · {local(base.created)}",
            "broken.json (cannot be read)",
        ]
        assert [entry.saved for entry in pane.controller.entries[:2]] == [kept.saved, only_saved]
        assert pane.controller.entries[2].path == folder / "copied.json"
        # A database's result is read when it is shown.
        assert pane.controller.reading is not None
        await pane.controller.reading
        assert pane.shown == both and pane.delete_button.isEnabled()
        pane.results.setCurrentRow(1)
        assert pane.controller.reading is not None
        await pane.controller.reading
        assert pane.shown is not None and pane.shown.suite == "text"
        pane.results.setCurrentRow(2)
        assert pane.shown == base and not pane.delete_button.isEnabled()  # only a file

    run_in_qt_loop(scenario())
    screenshot(pane, "bench_pane_database")


def test_a_result_deleted_from_the_database_goes_with_its_file(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    store: Store,
    run_in_qt_loop: RunInLoop,
) -> None:
    older, newer = learning_result(3), learning_result(5)
    newer = replace(newer, created=newer.created + timedelta(hours=1))
    for result in (older, newer):
        keep_result(result, result_file(folder, result), lambda: store.engine)
    pane = make_pane(store=StoreService(lambda: store))

    async def scenario() -> None:
        await shown(pane)
        assert len(pane.controller.entries) == 2
        doomed = pane.controller.entries[0].saved
        assert doomed is not None and doomed.file is not None
        pane.delete_button.click()
        box = pane.controller.confirmation
        assert box is not None and box.isVisible()  # open(), not a blocking exec()
        assert box.text() == (
            f"Delete the result of arithmetic by Calculators, {local(newer.created)}?"
        )
        (delete,) = [b for b in box.buttons() if b.text() == "Delete"]
        delete.click()
        await wait_until(lambda: pane.notice.text().startswith("Deleted"), 10)
        assert not doomed.file.exists()
        assert [entry.saved.id for entry in pane.controller.entries if entry.saved] == [
            saved.id for saved in ImprovementStore(store.engine).list_saved()
        ]
        assert len(pane.controller.entries) == 1 and pane.controller.entries[0].saved != doomed

    run_in_qt_loop(scenario())


def test_a_database_that_cannot_be_read_leaves_the_files_listed(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    run_in_qt_loop: RunInLoop,
) -> None:
    save_improvement(learning_result(), folder / "arithmetic.json")

    def no_store() -> Store:
        raise StoreError("The database x.sqlite3 is in use by another program.")

    pane = make_pane(store=StoreService(no_store))
    run_in_qt_loop(shown(pane))
    assert pane.listing_notice.text() == (
        "The results saved in the database cannot be read: The database x.sqlite3 is in use "
        "by another program."
    )
    assert pane.shown == learning_result()


@pytest.fixture(params=["light", "dark"])
def scheme(request: pytest.FixtureRequest, qapp: QtWidgets.QApplication) -> Iterator[Scheme]:
    with theme_applied(qapp, request.param) as applied:
        yield applied


def test_curves_in_each_theme(
    make_pane: Callable[..., BenchmarkPane],
    folder: Path,
    run_in_qt_loop: RunInLoop,
    scheme: str,
    screenshot: Screenshot,
) -> None:
    folder.mkdir()
    save_improvement(learning_result(12), folder / "arithmetic.json")
    pane = make_pane()
    run_in_qt_loop(shown(pane))
    pane.measure.setCurrentText("Average Φ")
    screenshot(pane, f"benchmarks-phi-{scheme}")
    picture = pane.chart.grab().toImage()
    colours = {
        picture.pixelColor(point.at.toPoint()).name()
        for point in pane.chart.positions()
        if point.iteration == 4
    }
    assert len(colours) == 3  # each series in a colour of its own


def local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def cells(table: QtWidgets.QTableWidget, row: int) -> list[str]:
    """Row ``row`` of ``table``, counting the header as row 0."""
    if row == 0:
        return [
            table.horizontalHeaderItem(c).text()  # type: ignore[union-attr]
            for c in range(table.columnCount())
        ]
    return [
        table.item(row - 1, c).text()  # type: ignore[union-attr]
        for c in range(table.columnCount())
    ]


def ranged(texts: list[str]) -> list[str]:
    """``texts`` with each hyphen made the en dash a range is written with: ``30-50%``."""
    return [text.replace("-", RANGE_DASH) for text in texts]


def higher_first(chart: CurveChart, name: str) -> None:
    """A larger value is drawn higher up, a later iteration further right."""
    placed = [point for point in chart.positions() if point.curve == name]
    for before, after in itertools.pairwise(placed):
        assert after.at.x() > before.at.x()
        assert (after.at.y() < before.at.y()) == (after.value > before.value)
    assert (
        chart.tooltip_at(placed[0].at) == f"{name}, iteration 1: 30%\n"
        "learning off, iteration 1: 30%\nwith overrides, iteration 1: 30%"
    )
    assert chart.rect().contains(QtCore.QRect(placed[-1].at.toPoint(), QtCore.QSize(1, 1)))


def test_seven_arms_are_all_named_and_told_apart(qtbot: QtBot) -> None:
    """The three arms and the four ablations: more names than one legend row holds and more
    series than there are colours."""
    names = [
        "learning on",
        "learning off",
        "with overrides",
        "without heuristics",
        "without dead ends",
        "without experiences",
        "overrides, no anchors",
    ]
    curves = [Curve(name, ((1, 0.0), (2, 0.1 * index))) for index, name in enumerate(names)]
    chart = CurveChart()
    qtbot.addWidget(chart)
    chart.resize(780, 400)
    chart.show_curves(curves[:3], y_title="Success rate")
    top_with_three = chart.plot_area().top()
    chart.show_curves(curves, y_title="Success rate")

    entries = chart.legend_entries()
    assert [entry.name for entry in entries] == names
    rows = legend_rows(entries, chart.width() - 80, chart.fontMetrics())
    assert len(rows) > 1 and sum(len(row) for row in rows) == len(names)
    # The plot starts below the legend's rows, and each row's names are painted there.
    assert chart.plot_area().top() > top_with_three
    picture = chart.grab().toImage()
    legend_band = [
        picture.pixelColor(x, y).name()
        for y in range(int(top_with_three), int(chart.plot_area().top()) - 8)
        for x in range(chart.width())
    ]
    assert len(set(legend_band)) > 2  # the second row is drawn, not blank
    # The seventh shares the first one's colour but not its line or its marker.
    first, seventh = entries[0], entries[6]
    assert first.colour == seventh.colour
    assert (first.line, first.marker) != (seventh.line, seventh.marker)
    assert seventh.line == QtCore.Qt.PenStyle.DashLine
    assert len({(e.colour.name(), e.marker, e.line) for e in entries}) == len(names)


def test_many_long_names_leave_the_plot_room_on_a_small_chart(qtbot: QtBot) -> None:
    curves = [
        Curve(f"an arm with a long name, number {index}", ((1, 0.0), (2, 0.5)))
        for index in range(12)
    ]
    chart = CurveChart()
    qtbot.addWidget(chart)
    chart.resize(chart.minimumSize())
    chart.show_curves(curves, y_title="Success rate")
    area = chart.plot_area()
    assert area.height() >= chart.height() / 3
    assert all(area.contains(point.at) for point in chart.positions())
    # A name wider than the legend is shortened to its width rather than drawn past it.
    rows = legend_rows(chart.legend_entries(), 100, chart.fontMetrics())
    assert all(len(row) == 1 and row[0][1] <= 100 for row in rows)
    assert legend_rows([], 100, chart.fontMetrics()) == []
