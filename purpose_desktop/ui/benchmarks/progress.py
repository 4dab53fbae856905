"""The line of the Benchmarks pane that shows a benchmark under way: task runs done of all,
the latest task run and how it went (and which repeat it is part of), and Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from purpose_desktop.ui.qt import QtWidgets, Signal

if TYPE_CHECKING:
    from purpose_desktop.engine.evaluation.runner import Progress
    from purpose_desktop.services.benchmarks import BenchmarkRequest


class BenchmarkProgress(QtWidgets.QFrame):
    """Hidden until :meth:`start`; :meth:`advance` after every task run."""

    cancel_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("benchmarkProgress")
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.heading = QtWidgets.QLabel("")
        self.bar = QtWidgets.QProgressBar()
        self.bar.setFormat("%v of %m task runs")
        self.line = QtWidgets.QLabel("")
        self.line.setStyleSheet("color: palette(placeholder-text);")  # quieter than the heading
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip(
            "Stop the benchmark: the task run under way is ended, and nothing is saved"
        )
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        layout = QtWidgets.QGridLayout(self)
        layout.addWidget(self.heading, 0, 0)
        layout.addWidget(self.bar, 0, 1)
        layout.addWidget(self.cancel_button, 0, 2)
        layout.addWidget(self.line, 1, 0, 1, 3)
        layout.setColumnStretch(1, 1)
        self.hide()

    @property
    def done(self) -> int:
        """Task runs over so far."""
        return self.bar.value()

    def start(self, request: BenchmarkRequest) -> None:
        how = [f"{request.holdout:.0%} held out"] if request.holdout else []
        if request.repeats > 1:
            how.append(f"{request.repeats} repeats")
        self.heading.setText(
            f"Running {request.suite.name} with {request.team_file.name}"
            + (f" ({', '.join(how)})" if how else "")
        )
        self.bar.setRange(0, request.task_runs)
        self.bar.setValue(0)
        # The first task run waits for the team to load and the models to start.
        self.line.setText("Starting: loading the team and its models…")
        self.cancel_button.setEnabled(True)
        self.show()

    def advance(self, progress: Progress) -> None:
        self.bar.setRange(0, progress.total)
        self.bar.setValue(progress.done)
        # The bar counts the task runs already; the repeat is what it does not say.
        repeat = f", repeat {progress.repeat} of {progress.repeats}" if progress.repeats > 1 else ""
        self.line.setText(f"Latest{repeat}: {progress.last.line}")
        if progress.done >= progress.total:
            # Only saving the result is left: it is not cut off half way.
            self.cancel_button.setEnabled(False)

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.line.setText("Cancelling: ending the task run under way…")
