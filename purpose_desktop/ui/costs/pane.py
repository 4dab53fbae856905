"""The Costs pane: tokens in and out, calls, wall time, speed and money of the recorded model
calls, by agent, model, run or day, as a table and a bar chart; the prices of remote models;
and the shown totals as CSV.

Nothing is read until the pane is first shown (window start-up pays nothing for it); then
again at every showing (runs, here or in another program sharing the database, add calls
while it is hidden), when a run ends while it is in view, on Refresh, and when the grouping
or the period changes. The costs service reads on worker threads; the pane shows the plain
data that comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.config import write_file_atomically
from purpose_desktop.engine.cost_text import (
    NUMBER_COLUMNS,
    money_text,
    number_texts,
    seconds_text,
    summary_text,
    tokens_text,
)
from purpose_desktop.engine.costs import CostTotal, PriceTable
from purpose_desktop.errors import UserError
from purpose_desktop.services.background import off_loop
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.costs.prices import PriceEditor
from purpose_desktop.ui.costs.report import GROUPINGS, PERIODS, cost_csv
from purpose_desktop.ui.on_loop import call_on_loop
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal, set_by_name
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.widgets.bar_chart import Bar, BarChart
from purpose_desktop.ui.widgets.builders import read_only_table
from purpose_desktop.ui.widgets.chart_parts import compact
from purpose_desktop.ui.widgets.notice import notice_label, say

if TYPE_CHECKING:
    from purpose_desktop.services.costs import CostReport, CostsService, Grouping

NOT_RECORDED = "Runs are not being recorded, so there are no costs to show."
#: Bars in the chart at most; the table lists every row.
MAX_BARS = 15
CSV_FILTER = "CSV files (*.csv);;All files (*)"
LOCAL_NOTE = (
    "Local models (bundled, GGUF files, Ollama) cost nothing. Remote models (server:…) are "
    "charged at the prices set with Prices…, from the run after a change on. Wall time is the "
    "time spent waiting for the models."
)


@dataclass(frozen=True)
class ChartMeasure:
    """What the chart can show of each row: its parts (stacked), and the total as written."""

    label: str
    values: Callable[[CostTotal], tuple[float, ...]]
    text: Callable[[CostTotal], str]
    segments: tuple[str, ...] = ()
    tick_text: Callable[[float], str] = compact


CHART_MEASURES = (
    ChartMeasure(
        "Tokens",
        lambda t: (t.prompt_tokens, t.completion_tokens),
        lambda t: tokens_text(t.prompt_tokens + t.completion_tokens),
        ("in", "out"),
    ),
    ChartMeasure("Money", lambda t: (t.cost,), lambda t: money_text(t.cost)),
    ChartMeasure("Calls", lambda t: (t.calls,), lambda t: f"{t.calls:,}"),
    ChartMeasure(
        "Wall time",
        lambda t: (t.seconds,),
        lambda t: seconds_text(t.seconds),
        tick_text=lambda s: f"{compact(s)} s",
    ),
    ChartMeasure(
        "Tokens per second",
        lambda t: (t.tokens_per_second,),
        lambda t: f"{t.tokens_per_second:.1f}",
    ),
)


class _NumberItem(QtWidgets.QTableWidgetItem):
    """A cell that sorts by its number, not by its text ("1,200" after "900")."""

    def __init__(self, text: str, number: float) -> None:
        super().__init__(text)
        self.number = number
        flags = QtCore.Qt.AlignmentFlag
        self.setTextAlignment(flags.AlignRight | flags.AlignVCenter)

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:
        if isinstance(other, _NumberItem):
            return self.number < other.number
        return super().__lt__(other)


class CostsPane(QtWidgets.QWidget):
    """The costs ``costs`` reads, and its prices; without it (runs are not recorded) the pane
    says so."""

    prices_saved = Signal(object)
    """The :class:`PriceTable` the person saved: what runs from now on are charged."""

    def __init__(
        self,
        tasks: TaskKeeper,
        costs: CostsService | None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._operations = Operations(tasks)
        self._costs = costs
        self.report: CostReport | None = None
        """What the table shows, once read."""
        self._read_failed = False
        self.price_editor: PriceEditor | None = None
        self.file_dialog: QtWidgets.QFileDialog | None = None

        self.grouping = _combo([title for _, title in GROUPINGS])
        self.period = _combo([period.label for period in PERIODS])
        self.measure = _combo([measure.label for measure in CHART_MEASURES])
        self.prices_button = QtWidgets.QPushButton("&Prices…")
        self.export_button = QtWidgets.QPushButton("&Export CSV…")
        self.refresh_button = QtWidgets.QPushButton("Re&fresh")
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.notice = notice_label()
        # Until the first reading ends (it starts once the pane is on screen).
        self.empty = QtWidgets.QLabel("Reading the costs…" if costs else NOT_RECORDED)
        self.empty.setWordWrap(True)
        set_by_name(self.empty, "alignment", "AlignCenter")
        self.table = read_only_table(("Agent", *NUMBER_COLUMNS))
        # The names take the room left; the numbers keep to their width.
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QtWidgets.QHeaderView.ResizeMode.Stretch
        )
        self.chart = BarChart()
        describe(
            self.chart, "Chart of the costs", "The chosen measure of the table's first 15 rows"
        )
        describe(self.grouping, "Group by", "Total the model calls by agent, model, run or day")
        describe(self.period, "Period", "The time the totals cover")
        describe(self.measure, "Chart", "What the bar chart under the table shows")
        describe(
            self.table,
            "Costs",
            "Calls, tokens, wall time, tokens per second and money, costliest first; click a "
            "header to sort",
        )
        self.chart_note = QtWidgets.QLabel("")
        note = QtWidgets.QLabel(LOCAL_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")  # a hint, quieter than text
        self._lay_out(note)

        self.grouping.currentIndexChanged.connect(lambda _i: self.refresh())
        self.period.currentIndexChanged.connect(lambda _i: self.refresh())
        self.measure.currentIndexChanged.connect(lambda _i: self._show_chart())
        self.refresh_button.clicked.connect(self.refresh)
        self.prices_button.clicked.connect(self.edit_prices)
        self.prices_button.setEnabled(costs is not None)
        self.export_button.clicked.connect(self.choose_csv_file)
        self.export_button.setEnabled(False)

    def _lay_out(self, note: QtWidgets.QLabel) -> None:
        controls = QtWidgets.QHBoxLayout()
        _labelled(controls, "&Group by", self.grouping)
        _labelled(controls, "P&eriod", self.period)
        controls.addStretch(1)
        for button in (self.prices_button, self.export_button, self.refresh_button):
            controls.addWidget(button)
        chart_controls = QtWidgets.QHBoxLayout()
        _labelled(chart_controls, "C&hart", self.measure)
        chart_controls.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        chart_box = QtWidgets.QWidget()
        chart_layout = QtWidgets.QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addLayout(chart_controls)
        chart_layout.addWidget(scroll, 1)
        chart_layout.addWidget(self.chart_note)
        self.splitter = QtWidgets.QSplitter()
        set_by_name(self.splitter, "orientation", "Vertical")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(chart_box)
        self.splitter.setSizes([300, 300])  # halves, whatever the first layout would give
        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.splitter)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.notice)
        layout.addWidget(self.pages, 1)
        layout.addWidget(note)

    # --- reading --------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        call_on_loop(self, self.refresh)  # shown with the window, before the loop runs

    def costs_changed(self) -> None:
        """New calls were recorded (a run ended): read them now if the pane is in view (a
        hidden pane reads them when it is next shown)."""
        if self.isVisible():
            self.refresh()

    @property
    def grouping_key(self) -> Grouping:
        return GROUPINGS[self.grouping.currentIndex()][0]

    def refresh(self) -> asyncio.Task[None] | None:
        """Read the totals for the chosen grouping and period (replacing a reading still
        under way); ``None`` without a store."""
        costs = self._costs
        if costs is None:
            self._show_empty(NOT_RECORDED)
            return None
        if self.report is None:
            # Once totals are shown they stay until the new ones replace them: the pane is
            # read again at every showing, which should not flicker.
            self.summary.setText("Reading the costs…")
        grouping = self.grouping_key
        since = PERIODS[self.period.currentIndex()].since_day(date.today())
        return self._operations.run(
            "read costs",
            lambda: costs.report(grouping, since),
            done=self.show_report,
            failed=self._not_read,
            latest=True,
        )

    def _not_read(self, exc: UserError) -> None:
        self.summary.setText("")
        say(self.notice, f"The costs cannot be read: {exc}")
        self._read_failed = True

    # --- showing --------------------------------------------------------------------------

    def show_report(self, report: CostReport) -> None:
        self.report = report
        if self._read_failed:
            self._read_failed = False
            say(self.notice, "")
        if not report.lines:
            period = PERIODS[self.period.currentIndex()]
            within = "" if period.days is None else f" ({period.label.lower()})"
            self._show_empty(
                f"No model calls recorded yet{within}. Run a team: the tokens, "
                "time and money of every call are added up here by agent, model, "
                "run and day."
            )
            return
        self.summary.setText(f"Total: {summary_text(report.total)}")
        self._fill_table(report)
        self._show_chart()
        self.pages.setCurrentWidget(self.splitter)
        self.export_button.setEnabled(True)

    def _show_empty(self, message: str) -> None:
        self.summary.setText("")
        self.empty.setText(message)
        self.pages.setCurrentWidget(self.empty)
        self.export_button.setEnabled(False)

    def _fill_table(self, report: CostReport) -> None:
        table = self.table
        table.setSortingEnabled(False)  # rows would move while they are filled
        title = dict(GROUPINGS)[report.grouping]
        table.setHorizontalHeaderLabels([title, *NUMBER_COLUMNS])
        table.setRowCount(len(report.lines))
        for row, line in enumerate(report.lines):
            name = QtWidgets.QTableWidgetItem(line.label)
            name.setData(QtCore.Qt.ItemDataRole.UserRole, line.key)
            name.setToolTip(line.detail or line.key)
            table.setItem(row, 0, name)
            totals = line.totals
            numbers = (
                totals.calls,
                totals.prompt_tokens,
                totals.completion_tokens,
                totals.seconds,
                totals.tokens_per_second,
                totals.cost,
            )
            for column, (text, number) in enumerate(
                zip(number_texts(totals), numbers, strict=True), start=1
            ):
                table.setItem(row, column, _NumberItem(text, number))
        table.resizeColumnsToContents()
        # Sortable by a click on a header, but shown first in the report's order (the
        # costliest first, days the latest first), not sorted by the names.
        table.horizontalHeader().setSortIndicator(-1, QtCore.Qt.SortOrder.AscendingOrder)
        table.setSortingEnabled(True)

    def _show_chart(self) -> None:
        if self.report is None:
            return
        measure = CHART_MEASURES[self.measure.currentIndex()]
        lines = self.report.lines[:MAX_BARS]
        bars = [
            Bar(
                line.label,
                tuple(float(v) for v in measure.values(line.totals)),
                measure.text(line.totals),
                line.detail,
            )
            for line in lines
        ]
        title = dict(GROUPINGS)[self.report.grouping].lower()
        self.chart.show_bars(
            bars,
            title=f"{measure.label} by {title}",
            segments=measure.segments,
            tick_text=measure.tick_text,
        )
        hidden = len(self.report.lines) - len(lines)
        self.chart_note.setText(
            f"The chart shows the first {len(lines)} of {len(self.report.lines)} rows."
            if hidden
            else ""
        )
        self.chart_note.setVisible(bool(hidden))

    # --- prices ---------------------------------------------------------------------------

    def edit_prices(self) -> PriceEditor:
        """Open the price editor (or bring it to the front)."""
        if self.price_editor is not None and self.price_editor.isVisible():
            self.price_editor.raise_()
            return self.price_editor
        assert self._costs is not None  # the button is enabled only with the service
        editor = PriceEditor(self, self._costs, self._tasks)
        editor.saved.connect(self._prices_saved)
        self.price_editor = editor
        editor.open()  # not exec(): runs and the event loop go on
        return editor

    def _prices_saved(self, prices: PriceTable) -> None:
        self.prices_saved.emit(prices)
        say(self.notice, "Prices saved: runs started from now on are charged at them.", "success")
        self.refresh()

    # --- CSV ------------------------------------------------------------------------------

    def choose_csv_file(self) -> QtWidgets.QFileDialog:
        """Ask where to save the shown totals, without blocking the event loop."""
        name = f"costs-by-{self.grouping_key}-{date.today().isoformat()}.csv"
        dialog = QtWidgets.QFileDialog(
            self, "Export costs as CSV", str(Path.home() / name), CSV_FILTER
        )
        dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(lambda chosen: self.export_csv(Path(chosen)))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def export_csv(self, path: Path) -> asyncio.Task[None] | None:
        """Write the shown totals to ``path`` as CSV; ``None`` when nothing is shown."""
        if self.report is None:
            return None
        text = cost_csv(self.report, dict(GROUPINGS)[self.report.grouping])
        rows = len(self.report.lines)
        return self._operations.run(
            "export costs",
            lambda: off_loop(write_file_atomically, path, text),
            done=lambda _: say(
                self.notice, f"Saved {rows} row{'' if rows == 1 else 's'} to {path}.", "success"
            ),
            failed=lambda exc: say(self.notice, f"The costs could not be saved. {exc}"),
        )


def _labelled(row: QtWidgets.QHBoxLayout, text: str, combo: QtWidgets.QComboBox) -> None:
    """``combo`` after a label whose mnemonic focuses it."""
    label = QtWidgets.QLabel(text)
    label.setBuddy(combo)
    row.addWidget(label)
    row.addWidget(combo)
    row.addSpacing(8)


def _combo(items: list[str]) -> QtWidgets.QComboBox:
    combo = QtWidgets.QComboBox()
    combo.addItems(items)
    return combo
