"""The run pane: give the team a task, start or cancel it, and watch it stream."""

from __future__ import annotations

import html
import time

from purpose_desktop.engine.event_text import describe_event
from purpose_desktop.engine.events import ErrorRaised, Event, ModelStatusChanged, RunFinished
from purpose_desktop.ui.interrupted_runs import InterruptedRunsNotice
from purpose_desktop.ui.qt import QtGui, QtWidgets, set_by_name
from purpose_desktop.ui.run_controller import RunController

# The stream view keeps a bounded history so a long run cannot grow memory without limit:
# lines, and characters for output without line breaks.
MAX_STREAM_BLOCKS = 5000
MAX_STREAM_CHARS = 500_000
# Qt lays out a whole paragraph again on every insert, so a model that never emits a line
# break would make each token slower than the last; such output is broken into display lines.
MAX_LINE_CHARS = 2000


class RunPane(QtWidgets.QWidget):
    def __init__(
        self, controller: RunController, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._current_agent: str | None = None

        self.team_label = QtWidgets.QLabel("No team open")
        self.task_edit = QtWidgets.QLineEdit()
        self.task_edit.setPlaceholderText("Describe a task for the team, then press Ctrl+Enter")
        self.task_edit.setClearButtonEnabled(True)
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setToolTip("Start the team on this task (Ctrl+Enter)")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running task (Esc)")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.status_label = QtWidgets.QLabel("Ready")

        self.stream_view = QtWidgets.QPlainTextEdit()
        self.stream_view.setReadOnly(True)
        self.stream_view.setMaximumBlockCount(MAX_STREAM_BLOCKS)
        self.stream_view.setPlaceholderText("The agents' tokens appear here as they are generated.")
        self.timeline = QtWidgets.QListWidget()
        self.timeline.setAlternatingRowColors(True)
        self.timeline.setWordWrap(True)
        set_by_name(self.timeline, "horizontalScrollBarPolicy", "ScrollBarAlwaysOff")

        self.interrupted_notice = InterruptedRunsNotice()

        self._layout()
        self.interrupted_notice.resume_requested.connect(self.resume_run)
        self.run_button.clicked.connect(self.start_run)
        self.task_edit.returnPressed.connect(self.start_run)
        self.cancel_button.clicked.connect(controller.cancel)
        self.task_edit.textChanged.connect(self._update_buttons)
        controller.team_changed.connect(self._show_team)
        controller.busy_changed.connect(self._set_busy)
        controller.bridge.tokens.connect(self._append_tokens)
        controller.bridge.occurred.connect(self._add_event)
        self._set_busy(False)

    def _layout(self) -> None:
        task_row = QtWidgets.QHBoxLayout()
        task_row.addWidget(self.task_edit, 1)
        task_row.addWidget(self.run_button)
        task_row.addWidget(self.cancel_button)

        stream_box = QtWidgets.QGroupBox("Live stream")
        QtWidgets.QVBoxLayout(stream_box).addWidget(self.stream_view)
        timeline_box = QtWidgets.QGroupBox("Timeline")
        QtWidgets.QVBoxLayout(timeline_box).addWidget(self.timeline)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(stream_box)
        splitter.addWidget(timeline_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.interrupted_notice)
        layout.addWidget(self.team_label)
        layout.addLayout(task_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(splitter, 1)

    def start_run(self) -> None:
        task = self.task_edit.text()
        if self._controller.start(task):
            self._clear_views()

    def resume_run(self, run_id: str) -> None:
        """Go on with an interrupted run; its stream and timeline start afresh here."""
        if self._controller.resume(run_id):
            self.interrupted_notice.forget(run_id)
            self._clear_views()

    def _clear_views(self) -> None:
        self._current_agent = None
        self.stream_view.clear()
        self.timeline.clear()

    def _show_team(self, team: object) -> None:
        from purpose_desktop.engine.specs import LoadedTeam

        assert isinstance(team, LoadedTeam)
        agents = html.escape(", ".join(agent.name for agent in team.spec.agents))
        name = html.escape(team.spec.name)
        self.team_label.setText(f"<b>Team:</b> {name} &nbsp; <b>Agents:</b> {agents}")
        self._update_buttons()

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.task_edit.setReadOnly(busy)
        if busy:
            self.status_label.setText("Running…")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self._controller.running
        can_start = self._controller.team is not None and bool(self.task_edit.text().strip())
        self.run_button.setEnabled(can_start and not running)
        self.cancel_button.setEnabled(running)

    def _append_tokens(self, agent: str, text: str) -> None:
        cursor = self.stream_view.textCursor()
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        if agent != self._current_agent:
            self._current_agent = agent
            prefix = "\n\n" if not self.stream_view.document().isEmpty() else ""
            cursor.insertText(f"{prefix}[{agent}]\n")
        self._insert_broken(cursor, text)
        excess = self.stream_view.document().characterCount() - MAX_STREAM_CHARS
        if excess > 0:
            cursor.setPosition(0)
            cursor.setPosition(excess, QtGui.QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        self.stream_view.setTextCursor(cursor)
        self.stream_view.ensureCursorVisible()

    @staticmethod
    def _insert_broken(cursor: QtGui.QTextCursor, text: str) -> None:
        """Insert ``text`` at ``cursor`` with a line break wherever a line would pass
        MAX_LINE_CHARS."""
        for index, line in enumerate(text.split("\n")):
            if index:
                cursor.insertText("\n")
            rest, room = line, MAX_LINE_CHARS - cursor.positionInBlock()
            while len(rest) > room:
                cursor.insertText(rest[:room] + "\n")
                rest, room = rest[room:], MAX_LINE_CHARS
            cursor.insertText(rest)

    def _add_event(self, event: Event) -> None:
        line = describe_event(event)
        if line is None:
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.timestamp))
        item = QtWidgets.QListWidgetItem(f"{stamp}  {line}")
        item.setToolTip(getattr(event, "detail", "") or line)
        self.timeline.addItem(item)
        self.timeline.scrollToBottom()
        if isinstance(event, ModelStatusChanged | ErrorRaised | RunFinished):
            self.status_label.setText(line)
