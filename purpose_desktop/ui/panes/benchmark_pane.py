"""The Benchmarks pane: how a team improved over the iterations of a benchmark suite, as
curves of one measure (success rate, Φ, steps, reward, tokens, time), one per series run side
by side ("learning on", "learning off", "with overrides"...).

It lists the result files in the benchmarks folder of the home folder, and opens others with
Open…. Folders and files are read on a worker thread, first when the pane is shown.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from purpose_desktop.engine.improvement import (
    METRICS,
    ImprovementFileError,
    ImprovementResult,
    ResultFile,
    list_results,
    load_improvement,
)
from purpose_desktop.ui.chart_parts import compact
from purpose_desktop.ui.cost_report import seconds_text
from purpose_desktop.ui.curve_chart import Curve, CurveChart
from purpose_desktop.ui.notice import notice_label, say
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets import read_only_table

RESULT_FILTER = "Benchmark results (*.json);;All files (*)"
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
        "Run a suite of tasks for a few iterations, with learning on and off, and save the "
        "results as JSON in this folder:\n\n"
        f"purpose-desktop bench improve … --json {folder / 'NAME.json'}\n\n"
        "Each result is listed here and drawn as curves, one per series. Open… shows a result "
        "file kept elsewhere."
    )


class BenchmarkPane(QtWidgets.QWidget):
    def __init__(self, tasks: TaskKeeper, folder: Path,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.folder = folder
        self.files: list[ResultFile] = []
        """What the list shows: files opened with Open… first, then the folder's."""
        self._opened: list[ResultFile] = []
        self.shown: ImprovementResult | None = None
        self.file_dialog: QtWidgets.QFileDialog | None = None
        self.listing: asyncio.Task[None] | None = None
        """The latest reading of the folder, once one has started."""

        self.results = QtWidgets.QListWidget()
        self.open_button = QtWidgets.QPushButton("&Open…")
        self.refresh_button = QtWidgets.QPushButton("Re&fresh")
        self.heading = QtWidgets.QLabel("")
        self.heading.setWordWrap(True)
        self.measure = QtWidgets.QComboBox()
        self.measure.addItems([metric.label for metric in METRICS])
        self.chart = CurveChart()
        self.table = read_only_table(("Iteration",))
        self.notice = notice_label()
        self.empty = QtWidgets.QLabel(empty_text(folder))
        self.empty.setWordWrap(True)
        set_by_name(self.empty, "alignment", "AlignCenter")
        set_by_name(self.empty, "textInteractionFlags", "TextSelectableByMouse")
        self.unreadable = QtWidgets.QLabel("This file cannot be read (see above). Choose "
                                           "another result, or mend the file and press Refresh.")
        self.unreadable.setWordWrap(True)
        set_by_name(self.unreadable, "alignment", "AlignCenter")
        self._lay_out()

        self.results.currentRowChanged.connect(self._show_row)
        self.measure.currentIndexChanged.connect(lambda _i: self._draw())
        self.open_button.clicked.connect(self.choose_file)
        self.refresh_button.clicked.connect(self.refresh)

    def _lay_out(self) -> None:
        side = QtWidgets.QWidget()
        side_layout = QtWidgets.QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        # The folder's path would widen the list to its length; it is in the tooltip and
        # in the empty state's text.
        title = QtWidgets.QLabel("Results in the benchmarks folder:")
        title.setToolTip(str(self.folder))
        side_layout.addWidget(title)
        side_layout.addWidget(self.results, 1)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
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
        layout.addWidget(splitter)

    # --- listing --------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.listing is None:
            # From the event loop, later: the pane may be shown before the loop runs.
            QtCore.QTimer.singleShot(0, self.refresh)

    def refresh(self) -> asyncio.Task[None]:
        """Read the results folder again."""
        self.listing = self._tasks.start(self._refresh(), "list benchmark results")
        return self.listing

    async def _refresh(self) -> None:
        found = await asyncio.to_thread(list_results, self.folder)
        self._list(self._opened + [entry for entry in found
                                   if entry.path not in {o.path for o in self._opened}])

    def _list(self, files: list[ResultFile]) -> None:
        """List ``files`` and show the first."""
        self.files = files
        self.results.blockSignals(True)  # the selection is set once, below
        self.results.clear()
        for entry in files:
            item = QtWidgets.QListWidgetItem(_describe(entry))
            item.setToolTip(str(entry.path) if entry.problem is None else entry.problem)
            if entry.problem is not None:
                item.setForeground(meaning_colour("error", self.palette()))
            self.results.addItem(item)
        self.results.blockSignals(False)
        if files:
            self.results.setCurrentRow(0)
            self._show_row(0)
        else:
            self._show_nothing()

    # --- opening --------------------------------------------------------------------------

    def choose_file(self) -> QtWidgets.QFileDialog:
        """Ask for a result file, without blocking the event loop."""
        dialog = QtWidgets.QFileDialog(self, "Open benchmark results", str(self.folder),
                                       RESULT_FILTER)
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda chosen: self.open_file(Path(chosen)))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def open_file(self, path: Path) -> asyncio.Task[None]:
        """Read ``path`` and show it at the top of the list; say why if it cannot be read."""
        return self._tasks.start(self._open(path), f"open {path.name}")

    async def _open(self, path: Path) -> None:
        try:
            result = await asyncio.to_thread(load_improvement, path)
        except ImprovementFileError as exc:
            say(self.notice, str(exc))
            return
        entry = ResultFile(path, datetime.now().timestamp(), result)
        self._opened = [entry, *(o for o in self._opened if o.path != path)]
        self._list([entry, *(f for f in self.files if f.path != path)])

    # --- showing --------------------------------------------------------------------------

    def _show_row(self, row: int) -> None:
        if not 0 <= row < len(self.files):
            return
        entry = self.files[row]
        say(self.notice, entry.problem or "")
        if entry.result is None:
            self.shown = None
            self.pages.setCurrentWidget(self.unreadable)
        else:
            self._show(entry.result)

    def _show_nothing(self) -> None:
        self.shown = None
        say(self.notice, "")
        self.pages.setCurrentWidget(self.empty)

    def _show(self, result: ImprovementResult) -> None:
        self.shown = result
        created = result.created.astimezone().strftime("%Y-%m-%d %H:%M")
        team = f" · team {result.team}" if result.team else ""
        model = f" · {result.model}" if result.model else ""
        self.heading.setText(f"<b>{html.escape(result.suite)}</b>{html.escape(team)}"
                             f"{html.escape(model)} · {created}")
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
        self.chart.show_curves(curves, y_title=metric.label, bounds=metric.bounds,
                               value_text=text)
        iterations = sorted({i for curve in curves for i, _ in curve.points})
        table = self.table
        table.setColumnCount(1 + len(curves))
        table.setHorizontalHeaderLabels(["Iteration", *(curve.name for curve in curves)])
        table.setRowCount(len(iterations))
        for row, iteration in enumerate(iterations):
            table.setItem(row, 0, QtWidgets.QTableWidgetItem(str(iteration)))
            for column, curve in enumerate(curves, start=1):
                value = dict(curve.points).get(iteration)
                table.setItem(row, column, QtWidgets.QTableWidgetItem(
                    "" if value is None else cell_text(value)))
        table.resizeColumnsToContents()


def _describe(entry: ResultFile) -> str:
    if entry.result is None:
        return f"{entry.path.name} (cannot be read)"
    result = entry.result
    created = result.created.astimezone().strftime("%Y-%m-%d %H:%M")
    team = f" · {result.team}" if result.team else ""
    return f"{result.suite}{team} · {created}"

