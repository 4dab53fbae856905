"""The Benchmarks pane: how a team improved over the iterations of a benchmark suite, as
curves of one measure (success rate, Φ, steps, reward, tokens, time), one per series run side
by side ("learning on", "learning off", "with overrides"...).

A held-out benchmark has a series per arm for the tasks learned on and one for the tasks held
out: the two share the arm's colour, the held-out one dashed, and Part shows either alone. A
repeated benchmark shows the mean of its repeats, and, for the success rate, the range the
repeats span: shaded about each curve, and in brackets in the table.

It lists the results saved in the database and the result files in the benchmarks folder of
the home folder (``services/benchmark_listing.py`` says how the two are merged), and opens
others with Open…. Run benchmark… runs a suite with a team, showing its progress, and saves the
result in both places; Delete… forgets a result saved in the database, with its file. What it
does is its controller's (:class:`BenchmarkController`); the pane shows it, first when shown.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.cost_text import seconds_text
from purpose_desktop.engine.learning.improvement import (
    METRICS,
    ImprovementResult,
    ImprovementSeries,
)
from purpose_desktop.services.benchmark_listing import ListedResult
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.benchmarks.controller import BenchmarkController, when
from purpose_desktop.ui.benchmarks.progress import BenchmarkProgress
from purpose_desktop.ui.on_loop import call_on_loop
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets.builders import read_only_table
from purpose_desktop.ui.widgets.chart_parts import compact, span_text
from purpose_desktop.ui.widgets.curve_chart import Curve, CurveChart
from purpose_desktop.ui.widgets.notice import notice_label, say

if TYPE_CHECKING:
    from purpose_desktop.services.benchmarks import BenchmarkRequest
    from purpose_desktop.ui.benchmarks.form import BenchmarkForm

RESULT_FILTER = "Benchmark results (*.json);;All files (*)"
RUN_SHORTCUT = "Ctrl+B"
#: How each measure is written, on the axis and in the table.
VALUE_TEXT: dict[str, Callable[[float], str]] = {
    "success_rate": lambda v: f"{v:.0%}",
    "average_phi": lambda v: f"{v:.1f}",
    "average_steps": lambda v: f"{v:.1f}",
    "average_reward": lambda v: f"{v:+.2f}" if v else "0",
    "tokens": compact,
    "seconds": seconds_text,
}
#: The measure repeats give a range of (see :meth:`ImprovementSeries.spread`).
SPREAD_METRIC = "success_rate"
#: What Part offers for a held-out result: its text, and the part of the series it shows
#: (``None``: both).
PARTS: tuple[tuple[str, str | None], ...] = (
    ("Training and test", None),
    ("Training", "training"),
    ("Test", "test"),
)


def empty_text(folder: Path) -> str:
    return (
        "No benchmark results yet.\n\n"
        f"Run benchmark… ({RUN_SHORTCUT}) runs a suite of tasks for a few iterations, with "
        "learning on and off, and draws how the team improved, one curve per series. "
        "Benchmarks run at a terminal are listed here too:\n\n"
        "purpose-desktop bench improve --suite NAME [--team TEAM_FILE]\n\n"
        f"Results are kept in the database and as files in {folder}. Open… shows a result "
        "file kept elsewhere."
    )


class BenchmarkPane(QtWidgets.QWidget):
    """The results and their curves, and the progress of a benchmark under way, as
    ``controller`` says; Run benchmark… only when it can run one."""

    def __init__(
        self, controller: BenchmarkController, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.folder = controller.service.folder
        self.shown: ImprovementResult | None = None
        self.file_dialog: QtWidgets.QFileDialog | None = None

        self.results = QtWidgets.QListWidget()
        self.listing_notice = notice_label()
        self.open_button = QtWidgets.QPushButton("&Open…")
        self.refresh_button = QtWidgets.QPushButton("Re&fresh")
        self.delete_button = QtWidgets.QPushButton("&Delete…")
        self._allow_delete(None)
        self.run_button = QtWidgets.QPushButton("R&un benchmark…")
        self.run_button.setToolTip(
            f"Run a suite of tasks with a team and draw how it improves ({RUN_SHORTCUT})"
        )
        set_by_name(self.run_button, "shortcut", RUN_SHORTCUT)
        if not controller.service.can_run:
            self.run_button.hide()
        self.progress = BenchmarkProgress()
        self.heading = QtWidgets.QLabel("")
        self.heading.setWordWrap(True)
        self.measure = QtWidgets.QComboBox()
        self.measure.addItems([metric.label for metric in METRICS])
        self.part = QtWidgets.QComboBox()
        for text, part in PARTS:
            self.part.addItem(text, part)
        self.part_label = QtWidgets.QLabel("&Part")
        self.part_label.setBuddy(self.part)
        self.key = QtWidgets.QLabel("")
        self.key.setWordWrap(True)
        self.key.setStyleSheet("color: palette(placeholder-text);")  # quieter than the heading
        self.chart = CurveChart()
        self.table = read_only_table(("Iteration",))
        describe(
            self.results,
            "Benchmark results",
            "The results saved in the database and the result files, newest first; Delete "
            "forgets the selected one",
        )
        describe(self.measure, "Measure", "What the curves and the table show, per iteration")
        describe(
            self.part,
            "Part",
            "Which tasks of a held-out benchmark to show: those learned on (training), those "
            "held out (test), or both",
        )
        describe(self.table, "Values", "The chosen measure of each series at each iteration")
        describe(
            self.chart,
            "Improvement curves",
            "One curve per series over the iterations; the table under it holds the values",
        )
        self.notice = notice_label()
        self.empty = QtWidgets.QLabel(empty_text(self.folder))
        self.empty.setWordWrap(True)
        set_by_name(self.empty, "alignment", "AlignCenter")
        set_by_name(self.empty, "textInteractionFlags", "TextSelectableByMouse")
        self.unreadable = QtWidgets.QLabel(
            "This result cannot be read (see above). Choose "
            "another, or mend the file and press Refresh."
        )
        self.unreadable.setWordWrap(True)
        set_by_name(self.unreadable, "alignment", "AlignCenter")
        self._lay_out()
        self._connect()

    def _connect(self) -> None:
        controller = self.controller
        self.results.currentRowChanged.connect(self._show_row)
        self.measure.currentIndexChanged.connect(lambda _i: self._draw())
        self.part.currentIndexChanged.connect(lambda _i: self._draw())
        self.open_button.clicked.connect(self.choose_file)
        self.refresh_button.clicked.connect(controller.refresh)
        self.delete_button.clicked.connect(self.ask_to_delete)
        delete = QtGui.QShortcut(
            QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Delete),
            self.results,
            self.ask_to_delete,
        )
        delete.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        self.run_button.clicked.connect(self.open_form)
        self.progress.cancel_requested.connect(controller.cancel)
        controller.listed.connect(self._list)
        controller.listing_problem.connect(
            lambda problem: say(self.listing_notice, problem, "warning")
        )
        controller.result_read.connect(self._result_read)
        controller.said.connect(lambda text, meaning: say(self.notice, text, meaning))
        controller.run_started.connect(self._run_started)
        controller.progressed.connect(self.progress.advance)
        controller.cancelling.connect(self.progress.cancelling)
        controller.run_over.connect(self._run_over)

    def _lay_out(self) -> None:
        side = QtWidgets.QWidget()
        side_layout = QtWidgets.QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        # The folder's path would widen the list to its length; it is in the tooltip and
        # in the empty state's text.
        title = QtWidgets.QLabel("Benchmark results:")
        title.setToolTip(f"Saved in the database, and the files in {self.folder}")
        side_layout.addWidget(title)
        side_layout.addWidget(self.listing_notice)
        side_layout.addWidget(self.results, 1)
        buttons = QtWidgets.QGridLayout()
        buttons.addWidget(self.run_button, 0, 0, 1, 3)
        for column, button in enumerate(
            (self.open_button, self.refresh_button, self.delete_button)
        ):
            buttons.addWidget(button, 1, column)
        side_layout.addLayout(buttons)
        details = QtWidgets.QWidget()
        details_layout = QtWidgets.QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(self.heading)
        details_layout.addLayout(self._choosers())
        details_layout.addWidget(self.key)
        plots = QtWidgets.QSplitter()
        set_by_name(plots, "orientation", "Vertical")
        plots.addWidget(self.chart)
        plots.addWidget(self.table)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 1)
        details_layout.addWidget(plots, 1)
        self.pages = QtWidgets.QStackedWidget()
        for page in (self.empty, self.unreadable, details):
            self.pages.addWidget(page)
        self.details = details
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.notice)
        right_layout.addWidget(self.pages, 1)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([280, 820])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(splitter, 1)

    def _choosers(self) -> QtWidgets.QHBoxLayout:
        """The row that chooses what the chart and the table show: the measure and the part."""
        row = QtWidgets.QHBoxLayout()
        label = QtWidgets.QLabel("&Show")
        label.setBuddy(self.measure)
        row.addWidget(label)
        row.addWidget(self.measure)
        row.addSpacing(12)
        row.addWidget(self.part_label)
        row.addWidget(self.part)
        row.addStretch(1)
        return row

    # --- listing --------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.controller.listing is None:
            # Shown with the window, before the loop runs.
            call_on_loop(self, self.controller.refresh)

    def _list(self, current: int) -> None:
        """List the controller's entries and show the one at ``current``."""
        entries = self.controller.entries
        self.results.blockSignals(True)  # the selection is set once, below
        self.results.clear()
        for entry in entries:
            item = QtWidgets.QListWidgetItem(_describe(entry))
            item.setToolTip(entry.problem or str(entry.path or "saved in the database"))
            if entry.problem is not None:
                item.setForeground(meaning_colour("error", self.palette()))
            self.results.addItem(item)
        self.results.blockSignals(False)
        if entries:
            self.results.setCurrentRow(current)
            self._show_row(current)
        else:
            self._show_nothing()

    def current_entry(self) -> ListedResult | None:
        entries, row = self.controller.entries, self.results.currentRow()
        return entries[row] if 0 <= row < len(entries) else None

    # --- opening --------------------------------------------------------------------------

    def choose_file(self) -> QtWidgets.QFileDialog:
        """Ask for a result file, without blocking the event loop."""
        dialog = QtWidgets.QFileDialog(
            self, "Open benchmark results", str(self.folder), RESULT_FILTER
        )
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda chosen: self.controller.open_file(Path(chosen)))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    # --- showing --------------------------------------------------------------------------

    def _show_row(self, row: int) -> None:
        entries = self.controller.entries
        if not 0 <= row < len(entries):
            return
        entry = entries[row]
        self._allow_delete(entry)
        say(self.notice, "")  # what was said of the result shown before
        self.controller.read(entry)

    def _result_read(self, entry: ListedResult, read: ImprovementResult | str) -> None:
        if self.current_entry() is entry:  # not since replaced by another choice
            self._show_read(read)

    def _show_read(self, read: ImprovementResult | str) -> None:
        """A result, or why it cannot be read."""
        if isinstance(read, str):
            say(self.notice, read)
            self.shown = None
            self.pages.setCurrentWidget(self.unreadable)
        else:
            self._show(read)

    def _allow_delete(self, entry: ListedResult | None) -> None:
        saved = entry is not None and entry.saved is not None
        self.delete_button.setEnabled(saved)
        self.delete_button.setToolTip(
            "Forget this result, and remove its file"
            if saved
            else "Results saved in the database are deleted here; a file alone is yours to remove"
        )

    def _show_nothing(self) -> None:
        self.shown = None
        self._allow_delete(None)
        say(self.notice, "")
        self.pages.setCurrentWidget(self.empty)

    def _show(self, result: ImprovementResult) -> None:
        self.shown = result
        team = f" · team {result.team}" if result.team else ""
        model = f" · {result.model}" if result.model else ""
        how = how_run(result)
        self.heading.setText(
            f"<b>{html.escape(result.suite)}</b>{html.escape(team)}"
            f"{html.escape(model)} · {when(result.created)}"
            + (f"<br>{html.escape(how)}" if how else "")
        )
        self.part_label.setVisible(has_parts(result))
        self.part.setVisible(has_parts(result))
        self.pages.setCurrentWidget(self.details)
        self._draw()

    def _draw(self) -> None:
        result = self.shown
        if result is None:
            return
        metric = METRICS[self.measure.currentIndex()]
        text = VALUE_TEXT[metric.name]
        # The table has room for every digit of a count, which the axis rounds to 3.46k.
        cell_text = (lambda value: f"{value:,.0f}") if metric.whole else text
        part = self.part.currentData() if has_parts(result) else None
        curves = [
            _curve(series, metric.name)
            for series in result.series
            if part is None or series.part == part
        ]
        self.chart.show_curves(curves, y_title=metric.label, bounds=metric.bounds, value_text=text)
        self._say_key(result, curves)
        iterations = sorted({i for curve in curves for i, _ in curve.points})
        table = self.table
        table.setColumnCount(1 + len(curves))
        table.setHorizontalHeaderLabels(["Iteration", *(curve.name for curve in curves)])
        table.setRowCount(len(iterations))
        for row, iteration in enumerate(iterations):
            table.setItem(row, 0, QtWidgets.QTableWidgetItem(str(iteration)))
        for column, curve in enumerate(curves, start=1):
            for row, cell in enumerate(_cells(curve, iterations, cell_text)):
                table.setItem(row, column, QtWidgets.QTableWidgetItem(cell))
        table.resizeColumnsToContents()

    def _say_key(self, result: ImprovementResult, curves: list[Curve]) -> None:
        """Say what the dashed lines and the shading mean, where the chart has them."""
        key = []
        if any(curve.dashed for curve in curves) and not all(curve.dashed for curve in curves):
            key.append("Dashed: the held-out tasks, never learned from.")
        if any(curve.band for curve in curves):
            key.append(
                f"Shaded: the lowest to the highest success rate of the {result.repeats} "
                "repeats; the lines are their mean."
            )
        self.key.setText(" ".join(key))
        self.key.setVisible(bool(key))

    # --- running and deleting -------------------------------------------------------------

    def open_form(self) -> BenchmarkForm | None:
        """Open the form that sets up a benchmark (see
        :meth:`BenchmarkController.open_form`)."""
        return self.controller.open_form(self)

    def _run_started(self, request: BenchmarkRequest) -> None:
        self.run_button.setEnabled(False)
        self.progress.start(request)

    def _run_over(self) -> None:
        self.progress.hide()
        self.run_button.setEnabled(True)

    def ask_to_delete(self) -> QtWidgets.QMessageBox | None:
        """Ask, without blocking, whether to delete the selected result from the database."""
        return self.controller.ask_to_delete(self.current_entry(), self)


def has_parts(result: ImprovementResult) -> bool:
    """Whether ``result`` has tasks held out: series of the training and the test part."""
    return any(series.part != "all" for series in result.series)


def how_run(result: ImprovementResult) -> str:
    """How ``result`` was measured, where it was not a single run of the whole suite:
    ``30% held out, mean of 3 repeats``; empty otherwise."""
    how = [f"{result.holdout:.0%} held out"] if result.holdout else []
    if result.repeats > 1:
        how.append(f"mean of {result.repeats} repeats")
    text = ", ".join(how)
    return text[:1].upper() + text[1:]


def _curve(series: ImprovementSeries, metric: str) -> Curve:
    """``series`` drawn for ``metric``: in its arm's colour, dashed for the held-out tasks,
    with the spread of its repeats where ``metric`` has one."""
    return Curve(
        series.name,
        series.points(metric),
        band=series.spread() if metric == SPREAD_METRIC else (),
        dashed=series.part == "test",
        group=series.condition,
    )


def _cells(curve: Curve, iterations: list[int], write: Callable[[float], str]) -> list[str]:
    """``curve``'s value at each of ``iterations`` as ``write`` writes it, with its band's range
    in brackets where it has one (``40% (30-50%)``, with an en dash); blank where it has no
    value."""
    values = dict(curve.points)
    spreads = {iteration: (low, high) for iteration, low, high in curve.band}
    cells = []
    for iteration in iterations:
        value, spread = values.get(iteration), spreads.get(iteration)
        cell = "" if value is None else write(value)
        if cell and spread is not None:
            cell += f" ({span_text(write(spread[0]), write(spread[1]))})"
        cells.append(cell)
    return cells


def _describe(entry: ListedResult) -> str:
    described = entry.saved or entry.result
    if described is None:
        name = "" if entry.path is None else entry.path.name
        return f"{name} (cannot be read)"
    team = f" · {described.team}" if described.team else ""
    return f"{described.suite}{team} · {when(described.created)}"
