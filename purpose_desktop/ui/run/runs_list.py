"""The list of recorded runs, newest first, to reopen one (at once, or replayed at the pace it
ran) or resume one that was cut short."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from purpose_desktop.engine.text import shorten
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.qt import QtWidgets, Signal
from purpose_desktop.ui.widgets.builders import read_only_table

if TYPE_CHECKING:
    # Only a type here: the engine loads with the first run, which start-up need not wait for.
    from purpose_desktop.engine.recording.run_records import RunSummary

COLUMNS = ("Started", "Status", "Steps", "Φ", "Team", "Task")
#: A replay at this speed follows the run's own pace (long waits are cut short).
AS_IT_RAN = 1.0
RESUMABLE = frozenset({"interrupted", "cancelled"})


class RunsList(QtWidgets.QWidget):
    """Shows what :meth:`show_runs` is given; asks for more through its signals."""

    open_requested = Signal(str, object)
    """A run's id and the replay speed: ``None`` to show it at once, or :data:`AS_IT_RAN`."""
    resume_requested = Signal(str)
    refresh_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunSummary] = []
        self.summary = QtWidgets.QLabel("No runs listed yet.")
        self.summary.setWordWrap(True)
        self.table = read_only_table(COLUMNS)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        describe(
            self.table,
            "Recorded runs",
            "The runs recorded in the database, newest first; double-click one to show it",
        )
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.open_button = QtWidgets.QPushButton("Open")
        self.open_button.setToolTip("Show the run's stream, timeline and Φ as recorded")
        self.replay_button = QtWidgets.QPushButton("Replay")
        self.replay_button.setToolTip(
            "Play the run again at the pace it ran (long waits cut short)"
        )
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.resume_button.setToolTip(
            "Go on with an interrupted or cancelled run from its last saved step"
        )
        self._busy = False

        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        for button in (self.resume_button, self.replay_button, self.open_button):
            buttons.addWidget(button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.refresh_button.clicked.connect(self.refresh_requested)
        self.open_button.clicked.connect(lambda: self._open(None))
        self.replay_button.clicked.connect(lambda: self._open(AS_IT_RAN))
        self.resume_button.clicked.connect(self._resume)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._open(None))
        self._update_buttons()

    def show_runs(self, runs: Sequence[RunSummary]) -> None:
        chosen = self.selected_run()
        self.runs = list(runs)
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            for column, value in enumerate(_cells(run)):
                cell = QtWidgets.QTableWidgetItem(value)
                cell.setToolTip(_tooltip(run))
                self.table.setItem(row, column, cell)
            if chosen is not None and run.id == chosen.id:
                self.table.selectRow(row)
        self.table.resizeColumnsToContents()
        count = len(self.runs)
        self.summary.setText(
            f"{count} recorded run{'' if count == 1 else 's'}, newest first. "
            "Open one to see it again; select a step there to fork it."
            if count
            else "No runs recorded yet."
        )
        self._update_buttons()

    def show_error(self, message: str) -> None:
        self.summary.setText(f"The runs cannot be listed: {message}")

    def selected_run(self) -> RunSummary | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return self.runs[min(rows)] if rows and min(rows) < len(self.runs) else None

    def select(self, run_id: str) -> None:
        """Select the run ``run_id`` if it is listed."""
        for row, run in enumerate(self.runs):
            if run.id == run_id:
                self.table.selectRow(row)

    def set_busy(self, busy: bool) -> None:
        """While a run or a replay goes on, nothing else can be opened."""
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        run = self.selected_run()
        free = run is not None and not self._busy
        self.open_button.setEnabled(free)
        self.replay_button.setEnabled(free)
        self.resume_button.setEnabled(free and run is not None and run.status in RESUMABLE)

    def _open(self, speed: float | None) -> None:
        run = self.selected_run()
        if run is not None and not self._busy:
            self.open_requested.emit(run.id, speed)

    def _resume(self) -> None:
        run = self.selected_run()
        if run is not None and not self._busy:
            self.resume_requested.emit(run.id)


def _cells(run: RunSummary) -> tuple[str, ...]:
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
    status = run.status if run.parent_run_id is None else f"{run.status} (fork)"
    return (started, status, str(run.steps), f"{run.phi:g}", run.team, shorten(run.task, 100))


def _tooltip(run: RunSummary) -> str:
    lines = [f"Run {run.id}", run.task]
    if run.parent_run_id is not None:
        lines.append(f"Forked from run {run.parent_run_id[:8]} after step {run.forked_from_step}")
    if run.answer:
        lines.append(f"Answer: {shorten(run.answer, 200)}")
    if run.error:
        lines.append(f"Error: {shorten(run.error, 200)}")
    return "\n".join(lines)
