"""The form that sets up a benchmark run: a suite, a team file, how many iterations, the share
of the suite held out for testing, how many times the whole is repeated, and which arms.
Choosing a suite chooses the sample team it is meant for, if it names one.

It is not modal and never blocks the event loop: it opens at once, fills its lists when
:meth:`BenchmarkForm.show_choices` hands it what was read on a worker thread, and Run hands
the request to whoever opened it (:attr:`BenchmarkForm.submitted`).
"""

from __future__ import annotations

from pathlib import Path

from purpose_desktop.engine.evaluation.runner import ALL_ARMS, Arm
from purpose_desktop.engine.evaluation.split import MAX_HOLDOUT, split_tasks
from purpose_desktop.engine.evaluation.suites import Suite
from purpose_desktop.services.benchmarks import BenchmarkChoices, BenchmarkRequest, TeamChoice
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.memory.table import counted
from purpose_desktop.ui.qt import QtCore, QtWidgets, Signal
from purpose_desktop.ui.widgets.file_dialogs import TEAM_FILE, ask_to_open
from purpose_desktop.ui.widgets.notice import notice_label, say

DEFAULT_ITERATIONS = 3
#: Enough for any curve a person would wait for; a run of each task takes seconds to minutes.
MAX_ITERATIONS = 50
#: Repeats give a mean and a spread; past this many the spread hardly narrows further.
MAX_REPEATS = 20
HOLDOUT_STEP = 5  # percent: finer shares make no difference to a suite of a few dozen tasks
ARM_TIPS = {
    "learning on": "The team learns from every run, as it does in use.",
    "learning off": "The team never learns: the baseline.",
    "with overrides": "The team learns, and in the first iteration a simulated person who "
    "knows each task's outcome corrects its scores.",
    "without heuristics": "Ablation: learning on, but the heuristics learned are never shown "
    "to the agents.",
    "without dead ends": "Ablation: learning on, but calls learned as dead ends are never "
    "taken away from the agents; other advice is still shown.",
    "without experiences": "Ablation: learning on, but past experiences are never shown to "
    "the agents.",
    "overrides, no anchors": "Ablation: with overrides, but the corrected scores are never "
    "shown to the critic again.",
}


class BenchmarkForm(QtWidgets.QDialog):
    """Suite, team, iterations, held-out share, repeats and arms of a benchmark. Enter runs
    it, Esc closes the form."""

    submitted = Signal(object)
    """The :class:`BenchmarkRequest` to run."""

    def __init__(
        self, parent: QtWidgets.QWidget | None, suites_folder: Path, teams_folder: Path
    ) -> None:
        super().__init__(parent)
        self._teams_folder = teams_folder
        self.setObjectName("benchmarkForm")
        self.setWindowTitle("Run benchmark")
        self.setMinimumWidth(560)
        self.suites: list[Suite] = []
        self._sample_teams: dict[str, int] = {}  # a sample team's file name → its index
        self.file_dialog: QtWidgets.QFileDialog | None = None
        self.intro = QtWidgets.QLabel(
            "Runs every task of a suite several times under each arm, each arm learning in a "
            "memory of its own that starts empty, and draws how the team improved. Your own "
            f"suites go in {suites_folder}."
        )
        self.intro.setWordWrap(True)
        self.suite_box = QtWidgets.QComboBox()
        self.suite_box.setPlaceholderText("Reading the suites…")
        self.suite_problems = notice_label()
        self.team_box = QtWidgets.QComboBox()
        self.team_box.setPlaceholderText("Reading the team files…")
        self.browse_button = QtWidgets.QPushButton("&Browse…")
        self.browse_button.setToolTip("Choose another team file")
        self.iterations = QtWidgets.QSpinBox()
        self.iterations.setRange(1, MAX_ITERATIONS)
        self.iterations.setValue(DEFAULT_ITERATIONS)
        self.holdout = QtWidgets.QSpinBox()
        self.holdout.setRange(0, round(MAX_HOLDOUT * 100))
        self.holdout.setSingleStep(HOLDOUT_STEP)
        self.holdout.setSuffix("%")
        self.holdout.setSpecialValueText("None")  # 0: every task is learned on
        self.repeats = QtWidgets.QSpinBox()
        self.repeats.setRange(1, MAX_REPEATS)
        describe(self.suite_box, "Suite", "The suite of tasks to run: built in, or yours")
        describe(self.team_box, "Team", "The team file to run the suite with")
        describe(self.iterations, "Iterations", "How many times each arm runs the whole suite")
        describe(
            self.holdout,
            "Held out",
            "The share of the suite's tasks the team never learns from: after each iteration "
            "it is tested on them, to see whether what it learned carries over. None: every "
            "task is learned on",
        )
        describe(
            self.repeats,
            "Repeats",
            "How many times the whole benchmark runs, each time with empty memories and tasks "
            "held out anew; the curves show the mean and the spread of the success rate",
        )
        self.arm_boxes = [QtWidgets.QCheckBox(arm.value.capitalize()) for arm in Arm]
        for arm, box in zip(Arm, self.arm_boxes, strict=True):
            box.setChecked(arm in ALL_ARMS)
            box.setToolTip(ARM_TIPS[arm.value])
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setDefault(True)
        self.close_button = QtWidgets.QPushButton("Close")
        self._lay_out()
        self.suite_box.currentIndexChanged.connect(self._suggest_team)
        for combo in (self.suite_box, self.team_box):
            combo.currentIndexChanged.connect(lambda _i: self._update())
        for spin in (self.iterations, self.holdout, self.repeats):
            spin.valueChanged.connect(lambda _v: self._update())
        for box in self.arm_boxes:
            box.toggled.connect(lambda _on: self._update())
        self.browse_button.clicked.connect(self.choose_team_file)
        self.run_button.clicked.connect(self._run)
        self.close_button.clicked.connect(self.reject)
        self._update()

    def _lay_out(self) -> None:
        team_row = QtWidgets.QHBoxLayout()
        team_row.addWidget(self.team_box, 1)
        team_row.addWidget(self.browse_button)
        arms = QtWidgets.QGridLayout()
        # The main arms on the first row, the ablations under them.
        for index, box in enumerate(self.arm_boxes):
            arms.addWidget(box, index // len(ALL_ARMS), index % len(ALL_ARMS))
        arms.setColumnStretch(len(ALL_ARMS), 1)
        form = QtWidgets.QFormLayout()
        form.addRow("&Suite", self.suite_box)
        form.addRow("", self.suite_problems)
        team_label = QtWidgets.QLabel("&Team")
        team_label.setBuddy(self.team_box)  # a row of two widgets gets no buddy by itself
        form.addRow(team_label, team_row)
        form.addRow("&Iterations", self.iterations)
        form.addRow("&Held out", self.holdout)
        form.addRow("&Repeats", self.repeats)
        form.addRow("Arms", arms)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.run_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)

    # --- choices ----------------------------------------------------------------------------

    def show_choices(self, choices: BenchmarkChoices) -> None:
        """Offer the suites and team files read for the form."""
        self.suites = [entry.suite for entry in choices.suites.entries]
        self.suite_box.setPlaceholderText("No suites found")
        for entry in choices.suites.entries:
            suite = entry.suite
            owner = "" if entry.builtin else " (yours)"
            self.suite_box.addItem(f"{suite.name}{owner} · {len(suite.tasks)} tasks")
            self.suite_box.setItemData(
                self.suite_box.count() - 1,
                f"{suite.description}\n{entry.path}".strip(),
                QtCore.Qt.ItemDataRole.ToolTipRole,
            )
        problems = choices.suites.problems
        say(
            self.suite_problems, "Not listed: " + "\n".join(problems) if problems else "", "warning"
        )
        self.team_box.setPlaceholderText("No team files found: choose one with Browse…")
        for team in choices.teams:
            self._add_team(team)
        self.team_box.setCurrentIndex(0 if choices.teams else -1)
        self.suite_box.setCurrentIndex(0 if self.suites else -1)
        # The first suite was current before the teams were there to suggest from.
        self._suggest_team(self.suite_box.currentIndex())
        self._update()

    def _add_team(self, team: TeamChoice) -> None:
        if team.sample:
            self._sample_teams[team.path.name] = self.team_box.count()
        self.team_box.addItem(
            f"{team.path.name}{' (sample)' if team.sample else ''}", str(team.path)
        )
        self.team_box.setItemData(
            self.team_box.count() - 1, str(team.path), QtCore.Qt.ItemDataRole.ToolTipRole
        )

    def _suggest_team(self, index: int) -> None:
        """Choose the sample team the suite at ``index`` is meant for, if it names one."""
        if not 0 <= index < len(self.suites):
            return
        team = self.suites[index].team
        if team is not None and team in self._sample_teams:
            self.team_box.setCurrentIndex(self._sample_teams[team])

    def choose_team_file(self) -> QtWidgets.QFileDialog:
        """Ask for a team file, without blocking the event loop: in the chosen team's
        folder, or the person's teams folder."""
        chosen = self.team_file()
        folder = self._teams_folder if chosen is None else chosen.parent
        self.file_dialog = ask_to_open(
            self, "Choose a team file", folder, TEAM_FILE, self.use_team_file
        )
        return self.file_dialog

    def use_team_file(self, path: Path) -> None:
        """Choose ``path`` as the team, adding it to the list if it is not there."""
        index = self.team_box.findData(str(path))
        if index < 0:
            self._add_team(TeamChoice(path, sample=False))
            index = self.team_box.count() - 1
        self.team_box.setCurrentIndex(index)

    # --- the request ------------------------------------------------------------------------

    def team_file(self) -> Path | None:
        data = self.team_box.currentData()
        return None if data is None else Path(data)

    def request(self) -> BenchmarkRequest | None:
        """What the form describes, or ``None`` while something is missing."""
        index, team = self.suite_box.currentIndex(), self.team_file()
        arms = tuple(arm for arm, box in zip(Arm, self.arm_boxes, strict=True) if box.isChecked())
        if not 0 <= index < len(self.suites) or team is None or not arms:
            return None
        return BenchmarkRequest(
            self.suites[index],
            team,
            self.iterations.value(),
            arms,
            holdout=self.holdout.value() / 100,
            repeats=self.repeats.value(),
        )

    def _update(self) -> None:
        request = self.request()
        held_out = None if request is None else _held_out(request)
        self.run_button.setEnabled(request is not None and held_out is not None)
        if request is None:
            summary = (
                "Choose at least one arm."
                if not any(box.isChecked() for box in self.arm_boxes)
                else "Choose a suite and a team."
            )
        elif held_out is None:
            summary = (
                f"{request.suite.name} has too few tasks of each kind to hold "
                f"{request.holdout:.0%} out: choose a larger share, or None."
            )
        else:
            tasks = len(request.suite.tasks)
            repeats = f", {counted(request.repeats, 'repeat')}" if request.repeats > 1 else ""
            tested = (
                f" {held_out} of the {tasks} tasks {'is' if held_out == 1 else 'are'} held out "
                "from learning and tested after each iteration."
                if held_out
                else ""
            )
            summary = (
                f"{request.task_runs} task runs ({counted(tasks, 'task')}, "
                f"{counted(request.iterations, 'iteration')}, "
                f"{counted(len(request.arms), 'arm')}{repeats}).{tested}"
                " A small model takes seconds to a minute for each."
            )
        self.summary.setText(summary)
        # A window keeps its height as a wrapped label grows: it is grown to show it all.
        needed = self.heightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def _run(self) -> None:
        request = self.request()
        if request is not None:
            self.submitted.emit(request)


def _held_out(request: BenchmarkRequest) -> int | None:
    """How many of the suite's tasks ``request`` holds out (0 for none), or ``None`` when the
    suite is too small for its share. Each repeat draws its own split, but every split holds
    out as many tasks: the count is per family, whichever tasks are drawn."""
    if not request.holdout:
        return 0
    try:
        return len(split_tasks(request.suite.tasks, request.holdout, seed=0).test)
    except ValueError:
        return None
