"""Which memories a step of a run was given: choose a recorded run and one of its steps, and
see the heuristics and past experiences its ``MemoryRetrieved`` event lists, as they are stored
now, and those deleted since as the event recorded them."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from purpose_desktop.engine.events import MemoryRetrieved
from purpose_desktop.engine.learning.memory import Experience, Heuristic
from purpose_desktop.engine.text import shorten
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.memory.table import CELL_CHARACTERS, counted
from purpose_desktop.ui.qt import QtGui, QtWidgets, Signal
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets.builders import read_only_table

if TYPE_CHECKING:
    from purpose_desktop.engine.recording.run_records import RunSummary


class _Line(NamedTuple):
    """A table's row: its cells, and whether the memory has been deleted since."""

    cells: tuple[str, ...]
    deleted: bool = False


HEURISTIC_COLUMNS = ("Id", "Tier", "Strategy", "Pattern", "Q now", "Pinned")
EXPERIENCE_COLUMNS = ("Id", "Task", "Outcome", "Q now")
DELETED = "deleted since"


class RetrievedView(QtWidgets.QWidget):
    """Shows what it is given; asks for runs, steps and memories through its signals."""

    run_chosen = Signal(str)
    """A run's id: its steps are wanted (:meth:`show_steps`)."""
    step_chosen = Signal(object)
    """A step's :class:`MemoryRetrieved`: its memories are wanted (:meth:`show_memories`)."""
    refresh_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunSummary] = []
        self.steps: list[MemoryRetrieved] = []
        self.run_box = QtWidgets.QComboBox()
        self.run_box.setMinimumContentsLength(60)
        self.run_box.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.step_list = QtWidgets.QListWidget()
        self.step_list.setMaximumWidth(260)
        self.step_list.setSpacing(2)
        self.note = QtWidgets.QLabel("Choose a run to see what memory each of its steps was given.")
        self.note.setWordWrap(True)
        self.heuristics = _table(HEURISTIC_COLUMNS, wide=("Strategy", "Pattern"))
        self.experiences = _table(EXPERIENCE_COLUMNS, wide=("Task",))

        describe(self.run_box, "Run", "One of the latest runs, whose steps are listed below")
        describe(self.step_list, "Steps", "The run's steps; choose one to see its memories")
        describe(self.heuristics, "Heuristics", "The heuristics the chosen step was given")
        describe(self.experiences, "Past experiences", "The experiences the chosen step was given")
        run_label = QtWidgets.QLabel("&Run")
        run_label.setBuddy(self.run_box)
        chooser = QtWidgets.QHBoxLayout()
        chooser.addWidget(run_label)
        chooser.addWidget(self.run_box, 1)
        chooser.addWidget(self.refresh_button)
        shown = QtWidgets.QVBoxLayout()
        shown.addWidget(self.note)
        shown.addWidget(QtWidgets.QLabel("<b>Heuristics</b>"))
        shown.addWidget(self.heuristics, 3)
        shown.addWidget(QtWidgets.QLabel("<b>Past experiences</b>"))
        shown.addWidget(self.experiences, 2)
        body = QtWidgets.QHBoxLayout()
        steps = QtWidgets.QVBoxLayout()
        steps.addWidget(QtWidgets.QLabel("<b>Steps</b>"))
        steps.addWidget(self.step_list)
        body.addLayout(steps)
        body.addLayout(shown, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(chooser)
        layout.addLayout(body, 1)

        self.run_box.currentIndexChanged.connect(self._run_chosen)
        self.step_list.currentRowChanged.connect(self._step_chosen)
        self.refresh_button.clicked.connect(self.refresh_requested)

    def show_runs(self, runs: Sequence[RunSummary]) -> None:
        """The runs to choose from, newest first; the one chosen stays chosen if listed."""
        chosen = self.chosen_run()
        self.runs = list(runs)
        self.run_box.blockSignals(True)
        self.run_box.clear()
        for run in self.runs:
            self.run_box.addItem(_run_label(run), run.id)
        index = self.run_box.findData(chosen) if chosen is not None else -1
        self.run_box.setCurrentIndex(index if index >= 0 else 0 if self.runs else -1)
        self.run_box.blockSignals(False)
        if not self.runs:
            self.show_steps([])
            self.note.setText("No runs recorded yet.")
        elif self.chosen_run() != chosen:
            self._run_chosen()

    def chosen_run(self) -> str | None:
        data = self.run_box.currentData()
        return data if isinstance(data, str) else None

    def show_steps(self, steps: Sequence[MemoryRetrieved]) -> None:
        """The chosen run's steps that retrieved memory; the first is chosen."""
        self.steps = list(steps)
        self.step_list.blockSignals(True)
        self.step_list.clear()
        for event in self.steps:
            self.step_list.addItem(
                f"Step {event.step} · {event.agent}\n"
                f"{counted(len(event.heuristics), 'heuristic')}, "
                f"{counted(len(event.experiences), 'experience')}"
            )
        self.step_list.blockSignals(False)
        self._fill(self.heuristics, [])
        self._fill(self.experiences, [])
        if self.steps:
            self.note.setText("")
            self.step_list.setCurrentRow(0)
        elif self.chosen_run() is not None:
            self.note.setText("This run has no step that retrieved memory.")

    def show_error(self, message: str) -> None:
        self.note.setText(message)

    def show_memories(
        self,
        event: MemoryRetrieved,
        heuristics: Mapping[int, Heuristic],
        experiences: Mapping[int, Experience],
    ) -> None:
        """The step's memories: as stored now when they are (by id), else as the event
        recorded them, marked as deleted."""
        if event not in self.steps or self.current_step() is not event:
            return  # another step was chosen while these were read
        h_rows: list[_Line] = []
        for recalled in event.heuristics:
            memory_id, tier, strategy = recalled.id, recalled.tier, recalled.strategy
            found = heuristics.get(memory_id)
            if found is None:
                h_rows.append(_Line((str(memory_id), tier, strategy, DELETED, "", ""), True))
            else:
                h_rows.append(
                    _Line(
                        (
                            str(memory_id),
                            found.tier.value,
                            found.strategy,
                            found.pattern,
                            f"{found.q_value:.2f}",
                            "pinned" if found.pinned else "",
                        )
                    )
                )
        e_rows: list[_Line] = []
        for recalled_run in event.experiences:
            memory_id, task, outcome = recalled_run.id, recalled_run.task, recalled_run.outcome
            past = experiences.get(memory_id)
            if past is None:
                e_rows.append(_Line((str(memory_id), task, outcome, DELETED), True))
            else:
                e_rows.append(
                    _Line((str(memory_id), past.task, past.outcome, f"{past.q_value:.2f}"))
                )
        self._fill(self.heuristics, h_rows)
        self._fill(self.experiences, e_rows)
        deleted = sum(line.deleted for line in (*h_rows, *e_rows))
        self.note.setText(
            f"Step {event.step} of {event.agent} was given {counted(len(h_rows), 'heuristic')} "
            f"and {counted(len(e_rows), 'past experience')}"
            + (f"; {deleted} of them deleted since." if deleted else ".")
        )

    def current_step(self) -> MemoryRetrieved | None:
        row = self.step_list.currentRow()
        return self.steps[row] if 0 <= row < len(self.steps) else None

    def _fill(self, table: QtWidgets.QTableWidget, rows: Sequence[_Line]) -> None:
        table.setRowCount(len(rows))
        deleted_colour = QtGui.QBrush(meaning_colour("hint"))
        for r, line in enumerate(rows):
            for c, value in enumerate(line.cells):
                cell = QtWidgets.QTableWidgetItem(shorten(value, CELL_CHARACTERS))
                cell.setToolTip(value if len(value) > CELL_CHARACTERS else "")
                if line.deleted:
                    cell.setForeground(deleted_colour)
                    font = cell.font()
                    font.setItalic(True)
                    cell.setFont(font)
                table.setItem(r, c, cell)

    def _run_chosen(self) -> None:
        run_id = self.chosen_run()
        self.show_steps([])
        if run_id is not None:
            self.note.setText("Reading the run…")
            self.run_chosen.emit(run_id)

    def _step_chosen(self) -> None:
        event = self.current_step()
        if event is not None:
            self.step_chosen.emit(event)


def _table(columns: Sequence[str], wide: Sequence[str]) -> QtWidgets.QTableWidget:
    """A read-only table whose ``wide`` columns share its width."""
    table = read_only_table(columns)
    header = table.horizontalHeader()
    header.setStretchLastSection(False)
    modes = QtWidgets.QHeaderView.ResizeMode
    for number, title in enumerate(columns):
        header.setSectionResizeMode(
            number, modes.Stretch if title in wide else modes.ResizeToContents
        )
    return table


def _run_label(run: RunSummary) -> str:
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
    return f"{started} · {run.status} · {run.team} · {shorten(run.task, 80)}"
