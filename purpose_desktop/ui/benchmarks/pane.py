"""The Benchmarks pane: how a team improved over the iterations of a benchmark suite, as
curves of one measure (success rate, Φ, steps, reward, tokens, time), one per series run side
by side ("learning on", "learning off", "with overrides"...).

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
from purpose_desktop.engine.learning.improvement import METRICS, ImprovementResult
from purpose_desktop.services.benchmark_listing import ListedResult
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.benchmarks.controller import BenchmarkController, when
from purpose_desktop.ui.benchmarks.progress import BenchmarkProgress
from purpose_desktop.ui.on_loop import call_on_loop
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets.builders import read_only_table
from purpose_desktop.ui.widgets.chart_parts import compact
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


def empty_text(folder: Path) -> str:
    return (
        "No benchmark results yet.\n\n"
        f"Run benchmark… ({RUN_SHORTCUT}) runs a suite of tasks for a few iterations, with "
        "learning on and off, and draws how the team improved, one curve per series. "
        "Benchmarks run at a terminal are listed here too:\n\n"
        "purpose-desktop bench improve --suite NAME --team TEAM_FILE\n\n"
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
        self.chart = CurveChart()
        self.table = read_only_table(("Iteration",))
        describe(
            self.results,
            "Benchmark results",
            "The results saved in the database and the result files, newest first; Delete "
            "forgets the selected one",
        )
        describe(self.measure, "Measure", "What the curves and the table show, per iteration")
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
        chooser = QtWidgets.QHBoxLayout()
        label = QtWidgets.QLabel("&Show")
        label.setBuddy(self.measure)
        chooser.addWidget(label)
        chooser.addWidget(self.measure)
        chooser.addStretch(1)
        details = QtWidgets.QWidget()
        details_layout = QtWidgets.QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(self.heading)
        details_layout.addLayout(chooser)
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
        self.heading.setText(
            f"<b>{html.escape(result.suite)}</b>{html.escape(team)}"
            f"{html.escape(model)} · {when(result.created)}"
        )
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
        curves = [Curve(series.name, series.points(metric.name)) for series in result.series]
        self.chart.show_curves(curves, y_title=metric.label, bounds=metric.bounds, value_text=text)
        iterations = sorted({i for curve in curves for i, _ in curve.points})
        table = self.table
        table.setColumnCount(1 + len(curves))
        table.setHorizontalHeaderLabels(["Iteration", *(curve.name for curve in curves)])
        table.setRowCount(len(iterations))
        for row, iteration in enumerate(iterations):
            table.setItem(row, 0, QtWidgets.QTableWidgetItem(str(iteration)))
            for column, curve in enumerate(curves, start=1):
                value = dict(curve.points).get(iteration)
                table.setItem(
                    row,
                    column,
                    QtWidgets.QTableWidgetItem("" if value is None else cell_text(value)),
                )
        table.resizeColumnsToContents()

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


def _describe(entry: ListedResult) -> str:
    described = entry.saved or entry.result
    if described is None:
        name = "" if entry.path is None else entry.path.name
        return f"{name} (cannot be read)"
    team = f" · {described.team}" if described.team else ""
    return f"{described.suite}{team} · {when(described.created)}"
