"""The notice of runs that were interrupted (the app was killed or the machine went down),
each with a button to resume it from its last checkpoint."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from purpose_desktop.engine.text import shorten
from purpose_desktop.ui.qt import QtWidgets, Signal

if TYPE_CHECKING:
    # Only a type here: the engine loads with the first run, which start-up need not wait for.
    from purpose_desktop.engine.recording.run_records import RunSummary

#: More than this many are summed up in one line: the runs list shows them all.
SHOWN_RUNS = 3


class InterruptedRunsNotice(QtWidgets.QFrame):
    """Hidden until :meth:`show_runs` is given some runs."""

    resume_requested = Signal(str)
    """The id of the run the person chose to resume."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("interruptedRunsNotice")
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#interruptedRunsNotice { background: palette(alternate-base); "
            "border: 1px solid palette(mid); border-radius: 4px; }"
        )
        self._outer = QtWidgets.QVBoxLayout(self)
        # Rebuilt for each list of runs: simpler than taking nested layouts apart.
        self._body = QtWidgets.QWidget()
        self._layout = QtWidgets.QVBoxLayout(self._body)
        self._outer.addWidget(self._body)
        self.resume_buttons: dict[str, QtWidgets.QPushButton] = {}
        self.hide()

    def show_runs(self, runs: Sequence[RunSummary]) -> None:
        self._clear()
        if not runs:
            self.hide()
            return
        count = len(runs)
        title = QtWidgets.QLabel(
            f"<b>{count} run{'s were' if count > 1 else ' was'} interrupted</b> when the app "
            "last stopped. Every step up to the last one saved is kept; resume to go on "
            "from there."
        )
        title.setWordWrap(True)
        self._layout.addWidget(title)
        for run in runs[:SHOWN_RUNS]:
            self._layout.addLayout(self._row(run))
        if count > SHOWN_RUNS:
            self._layout.addWidget(
                QtWidgets.QLabel(f"… and {count - SHOWN_RUNS} more (purpose-desktop runs list).")
            )
        dismiss = QtWidgets.QPushButton("Dismiss")
        dismiss.setToolTip("Hide this notice; the runs stay interrupted and can be resumed later")
        dismiss.clicked.connect(self.hide)
        last_row = QtWidgets.QHBoxLayout()
        last_row.addStretch(1)
        last_row.addWidget(dismiss)
        self._layout.addLayout(last_row)
        self.show()

    def forget(self, run_id: str) -> None:
        """Take a run off the notice (it was resumed); hide the notice when none is left."""
        button = self.resume_buttons.pop(run_id, None)
        if button is not None:
            button.setEnabled(False)
            button.setText("Resumed")
        if not self.resume_buttons:
            self.hide()

    def _row(self, run: RunSummary) -> QtWidgets.QHBoxLayout:
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
        label = QtWidgets.QLabel(
            f"{run.team}: “{shorten(run.task, 80)}” — {run.steps} step(s) done, started {started}"
        )
        label.setToolTip(f"Run {run.id}\n{run.task}")
        button = QtWidgets.QPushButton("Resume")
        # Every row's button reads "Resume": the name says which run.
        button.setAccessibleName(f"Resume the run of {run.team}: {shorten(run.task, 80)}")
        button.setToolTip(f"Go on with run {run.id[:8]} from its last saved step")
        button.clicked.connect(lambda _=False, run_id=run.id: self.resume_requested.emit(run_id))
        self.resume_buttons[run.id] = button
        row = QtWidgets.QHBoxLayout()
        row.addWidget(label, 1)
        row.addWidget(button)
        return row

    def _clear(self) -> None:
        self.resume_buttons.clear()
        self._body.deleteLater()
        self._body = QtWidgets.QWidget()
        self._layout = QtWidgets.QVBoxLayout(self._body)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._outer.addWidget(self._body)
