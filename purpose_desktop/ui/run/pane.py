"""The run pane: give the team a task; start, pause or cancel it; watch each agent stream, the
timeline of what happened and Φ step by step; read and copy the outcome; reopen recorded runs
and fork them at a step."""

from __future__ import annotations

import html
from collections.abc import Callable

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.action_text import describe_action
from purpose_desktop.engine.dispatch import EventDispatcher
from purpose_desktop.engine.event_text import describe_event
from purpose_desktop.engine.loop.run import RunOutcome as FinishedRun
from purpose_desktop.engine.trajectory import Action
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.qt import QtWidgets, set_by_name
from purpose_desktop.ui.run.agent_streams import (
    MAX_LINE_CHARS,
    MAX_STREAM_BLOCKS,
    MAX_STREAM_CHARS,
    AgentStreams,
)
from purpose_desktop.ui.run.controller import RunController
from purpose_desktop.ui.run.interrupted_runs import InterruptedRunsNotice
from purpose_desktop.ui.run.outcome import RunOutcome
from purpose_desktop.ui.run.phi_chart import PhiChart
from purpose_desktop.ui.run.runs_list import RunsList
from purpose_desktop.ui.run.timeline import ForkEditor, Timeline

__all__ = ["MAX_LINE_CHARS", "MAX_STREAM_BLOCKS", "MAX_STREAM_CHARS", "RunPane"]

# The events whose line also becomes the pane's status.
_STATUS_EVENTS = (
    ev.ModelStatusChanged,
    ev.ErrorRaised,
    ev.RunPaused,
    ev.RunContinued,
    ev.RunResumed,
    ev.RunForked,
)


class RunPane(QtWidgets.QWidget):
    """Everything about one run at a time: the live one, or a recorded one reopened.

    The person starts, pauses, cancels and forks through the controller; what happens
    arrives through its bridge and fills the agents' streams (:attr:`streams`, with
    :attr:`stream_view` the interleaved one), :attr:`timeline` and :attr:`phi_chart`; once
    the run ends, :attr:`outcome` shows how, with its answer.
    Recorded runs are listed in :attr:`runs_list`. Others add the pending reviews
    (:meth:`set_pending_reviews_widget`) and a way to choose the team
    (:meth:`set_team_chooser`).
    """

    def __init__(self, controller: RunController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._before_start: Callable[[Callable[[], None]], None] = lambda start: start()
        self._build_widgets()
        self._layout()
        self._connect()
        self._set_busy(controller.running)  # made as a run starts, or before any
        if controller.team is not None:  # made after the team was chosen
            self._show_team(controller.team)

    def _build_widgets(self) -> None:
        self.team_label = QtWidgets.QLabel("No team open")
        self.change_team_button = QtWidgets.QPushButton("Change team…")
        self.change_team_button.hide()  # until set_team_chooser says how
        self.task_edit = QtWidgets.QLineEdit()
        self.task_edit.setPlaceholderText("Describe a task for the team, then press Ctrl+Enter")
        self.task_edit.setClearButtonEnabled(True)
        describe(
            self.task_edit,
            "Task",
            "What the team should do; Enter or Ctrl+Enter runs it",
        )
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setToolTip("Start the team on this task (Ctrl+Enter)")
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setToolTip("Let the step under way finish, then wait")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running task (Esc)")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.status_label = QtWidgets.QLabel("Ready")
        self.outcome = RunOutcome()

        self.streams = AgentStreams()
        self.stream_view = self.streams.interleaved
        self.phi_chart = PhiChart()
        describe(
            self.phi_chart,
            "Φ over steps",
            "Φ after each step, from 0 to 10; the timeline says each score in words",
        )
        self.timeline = Timeline()
        self.fork_button = QtWidgets.QPushButton("Fork from this step…")
        self.fork_button.setToolTip(
            "Take the selected step again in a new run, with an action you can edit"
        )
        self.fork_editor = ForkEditor()
        self.runs_list = RunsList()
        self.interrupted_notice = InterruptedRunsNotice()
        self._reviews_box = QtWidgets.QWidget()
        QtWidgets.QVBoxLayout(self._reviews_box).setContentsMargins(0, 0, 0, 0)
        self._reviews_box.hide()  # until set_pending_reviews_widget gives it a widget

    def _layout(self) -> None:
        team_row = QtWidgets.QHBoxLayout()
        team_row.addWidget(self.team_label, 1)
        team_row.addWidget(self.change_team_button)
        task_row = QtWidgets.QHBoxLayout()
        task_row.addWidget(self.task_edit, 1)
        for button in (self.run_button, self.pause_button, self.cancel_button):
            task_row.addWidget(button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.interrupted_notice)
        layout.addLayout(team_row)
        layout.addLayout(task_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.outcome)
        layout.addWidget(self._split(self._watching(), self._details(), vertical=False), 1)

    def _watching(self) -> QtWidgets.QWidget:
        """The left side: the agents' streams above Φ."""
        streams_box = QtWidgets.QGroupBox("Live stream")
        QtWidgets.QVBoxLayout(streams_box).addWidget(self.streams)
        chart_box = QtWidgets.QGroupBox("Φ over steps")
        QtWidgets.QVBoxLayout(chart_box).addWidget(self.phi_chart)
        watching = self._split(streams_box, chart_box, vertical=True)
        watching.setStretchFactor(0, 3)
        watching.setStretchFactor(1, 1)
        return watching

    def _details(self) -> QtWidgets.QWidget:
        """The right side: pending reviews above the timeline and the runs list."""
        timeline_page = QtWidgets.QWidget()
        fork_row = QtWidgets.QHBoxLayout()
        fork_row.addStretch(1)
        fork_row.addWidget(self.fork_button)
        timeline_layout = QtWidgets.QVBoxLayout(timeline_page)
        timeline_layout.setContentsMargins(0, 0, 0, 0)
        timeline_layout.addWidget(self.timeline, 1)
        timeline_layout.addLayout(fork_row)
        timeline_layout.addWidget(self.fork_editor)
        self.details_tabs = QtWidgets.QTabWidget()
        self.details_tabs.addTab(timeline_page, "Timeline")
        self.details_tabs.addTab(self.runs_list, "Runs")
        return self._split(self._reviews_box, self.details_tabs, vertical=True)

    @staticmethod
    def _split(
        first: QtWidgets.QWidget, second: QtWidgets.QWidget, *, vertical: bool
    ) -> QtWidgets.QSplitter:
        splitter = QtWidgets.QSplitter()
        set_by_name(splitter, "orientation", "Vertical" if vertical else "Horizontal")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(first)
        splitter.addWidget(second)
        splitter.setStretchFactor(0, 3 if not vertical else 1)
        splitter.setStretchFactor(1, 2 if not vertical else 3)
        return splitter

    def _connect(self) -> None:
        controller = self._controller
        self.interrupted_notice.resume_requested.connect(self.resume_run)
        self.run_button.clicked.connect(self.start_run)
        self.task_edit.returnPressed.connect(self.start_run)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(controller.cancel)
        self.task_edit.textChanged.connect(self._update_buttons)
        self.timeline.itemSelectionChanged.connect(self._update_buttons)
        self.fork_button.clicked.connect(self.fork_selected_step)
        self.fork_editor.fork_requested.connect(self.fork_run)
        self.runs_list.open_requested.connect(self.open_run)
        self.runs_list.resume_requested.connect(self.resume_run)
        self.runs_list.refresh_requested.connect(self.refresh_runs)
        self.details_tabs.currentChanged.connect(self._tab_changed)
        controller.team_changed.connect(self._show_team)
        controller.busy_changed.connect(self._set_busy)
        controller.paused_changed.connect(self._paused_changed)
        controller.replay_finished.connect(self._replay_finished)
        controller.finished.connect(self._run_finished)
        controller.runs_listed.connect(self.runs_list.show_runs)
        controller.runs_unavailable.connect(self.runs_list.show_error)
        controller.bridge.tokens.connect(self.streams.append)
        controller.bridge.thinking.connect(self.streams.append_thinking)
        controller.bridge.occurred.connect(self._add_event)
        self._events = EventDispatcher()
        events = self._events
        # The streams show where each step begins and which agent is at work. Steps and
        # selections move the highlight, not every event naming an agent: each move lays the
        # header out again.
        events.on(ev.StepStarted, lambda event: self.streams.start_step(event.agent, event.step))
        events.on(ev.StepStarted, self._show_progress)
        events.on(ev.ActionProposed, self._show_action)
        events.on(ev.AgentSelected, lambda event: self.streams.set_active(event.agent))
        events.on(ev.RunFinished, lambda _: self.streams.set_active(None))
        events.on(ev.RunFinished, self._show_finished)
        events.on(ev.RunPaused, lambda _: self.progress.setVisible(False))
        events.on(ev.RunContinued, lambda _: self.progress.setVisible(True))
        for kind in _STATUS_EVENTS:
            events.on(kind, self._show_status)

    # --- places for others ----------------------------------------------------------------

    def set_pending_reviews_widget(self, widget: QtWidgets.QWidget) -> None:
        """Show ``widget`` (the list of reviews waiting for the person) above the timeline,
        in place of any given before."""
        layout = self._reviews_box.layout()
        assert layout is not None
        while (old := layout.takeAt(0)) is not None:
            if (shown := old.widget()) is not None:
                shown.setParent(None)
        layout.addWidget(widget)
        widget.show()  # a widget added to a shown parent stays hidden until shown
        self._reviews_box.show()

    def set_team_chooser(self, choose: Callable[[], None]) -> None:
        """Offer a "Change team…" button beside the team's name that calls ``choose``."""
        self.change_team_button.clicked.connect(choose)
        self.change_team_button.show()

    # --- what the person does -------------------------------------------------------------

    def set_before_start(self, before: Callable[[Callable[[], None]], None]) -> None:
        """Have ``before`` called with the start of each run, to call it when the run may
        start, or never (the main window asks about unsaved changes to the team first)."""
        self._before_start = before

    def start_run(self) -> None:
        """Start the team on the task typed in, once whatever comes first allows it."""
        self._before_start(self._start_run)

    def _start_run(self) -> None:
        if self._controller.start(self.task_edit.text()):
            self._clear_views()

    def resume_run(self, run_id: str) -> None:
        """Go on with an interrupted run; its stream and timeline start afresh here."""
        if self._controller.resume(run_id):
            self.interrupted_notice.forget(run_id)
            self._clear_views()

    def toggle_pause(self) -> None:
        """Pause the run before its next step, or let a paused run go on."""
        if self._controller.paused:
            self._controller.go_on()
        else:
            self._controller.pause()

    def open_run(self, run_id: str, speed: float | None = None) -> None:
        """Show a recorded run again: at once, or at ``speed`` times the pace it ran."""
        if self._controller.replay(run_id, speed):
            self._clear_views()
            self.details_tabs.setCurrentIndex(0)
            self.status_label.setText(f"Replaying run {run_id[:8]}…")

    def fork_selected_step(self) -> None:
        """Open the fork editor on the step of the selected timeline line."""
        event, step = self.timeline.selected_event(), self.timeline.selected_step()
        if event is None or step is None:
            return
        proposal = self.timeline.proposal(step)
        taker = self.timeline.first_agent()
        # A fork's action is taken by the agent the task went to; a teammate's step is
        # taken again as the teammate proposes it.
        own = proposal is None or taker is None or proposal.agent == taker
        self.fork_editor.edit(event.run_id, step, proposal, can_give_action=own)

    def fork_run(self, run_id: str, after_step: int, action: Action | None) -> None:
        """Start a new run from ``run_id`` after ``after_step``, taking ``action`` next."""
        if self._controller.fork(run_id, after_step, action):
            self._clear_views()

    def refresh_runs(self) -> None:
        self._controller.refresh_runs()

    def _tab_changed(self, index: int) -> None:
        if self.details_tabs.widget(index) is self.runs_list:
            self.refresh_runs()

    def _run_finished(self, outcome: object) -> None:
        if isinstance(outcome, FinishedRun) and outcome.record_error is not None:
            self.outcome.note_not_saved(outcome.record_error)
        # The list in sight takes in the run that ended; a hidden one is listed afresh when
        # shown. Not after a cancelled run: that is also how every run ends when the app
        # closes, and the list would then be read from a store being closed.
        if outcome is not None and self.details_tabs.currentWidget() is self.runs_list:
            self.refresh_runs()

    def _clear_views(self) -> None:
        self.outcome.clear()
        self.streams.clear()
        self.timeline.clear()
        self.phi_chart.clear()
        self.fork_editor.hide()

    # --- what the controller says ---------------------------------------------------------

    def _show_team(self, team: object) -> None:
        from purpose_desktop.engine.specs import LoadedTeam

        assert isinstance(team, LoadedTeam)
        agents = html.escape(", ".join(agent.name for agent in team.spec.agents))
        name = html.escape(team.spec.name)
        self.team_label.setText(f"<b>Team:</b> {name} &nbsp; <b>Agents:</b> {agents}")
        self._update_buttons()

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)  # busy until the agent's first step says how far to go
        self.task_edit.setReadOnly(busy)
        self.runs_list.set_busy(busy)
        if busy:
            self.status_label.setText("Running…")
        else:
            self.streams.set_active(None)
        self._update_buttons()

    def _paused_changed(self, paused: bool) -> None:
        if paused:
            self.status_label.setText("Pausing: the step under way finishes first…")
        self._update_buttons()

    def _replay_finished(self, run_id: str) -> None:
        if not self.timeline.count():
            self.status_label.setText(f"Run {run_id[:8]} has no recorded events.")
            return
        self.status_label.setText(f"Recorded run {run_id[:8]}, as it ran.")

    def _update_buttons(self) -> None:
        controller = self._controller
        busy = controller.running
        can_start = controller.team is not None and bool(self.task_edit.text().strip())
        self.run_button.setEnabled(can_start and not busy)
        self.cancel_button.setEnabled(busy)
        self.pause_button.setEnabled(controller.can_pause)
        self.pause_button.setText("Continue" if controller.paused else "Pause")
        step = self.timeline.selected_step()
        self.fork_button.setEnabled(not busy and step is not None)
        self.fork_button.setText(
            "Fork from this step…" if step is None else f"Fork from step {step}…"
        )

    def _show_progress(self, event: ev.StepStarted) -> None:
        """Steps taken of the selected agent's limit: a bar that moves once a step rather
        than a busy animation, which repaints itself sixty times a second."""
        team = self._controller.team
        if team is None:
            return
        if self.progress.maximum() == 0:  # the first step names the agent at the top
            try:
                self.progress.setRange(0, team.spec.agent(event.agent).max_steps)
            except KeyError:
                return  # a recorded run of another team: stays busy
        self.progress.setValue(min(event.step, self.progress.maximum()))

    def _add_event(self, event: ev.Event) -> None:
        self._events.dispatch(event)
        self.phi_chart.add_event(event)
        self.timeline.add(event)
        self.outcome.add_event(event)

    def _show_status(self, event: ev.Event) -> None:
        self.status_label.setText(describe_event(event) or "")

    def _show_finished(self, event: ev.RunFinished) -> None:
        # The outcome below says how the run went; this line says where it is kept.
        self.status_label.setText(f"Run {event.run_id[:8]} ended; it is kept in the runs list.")

    def _show_action(self, event: ev.ActionProposed) -> None:
        """The step's tokens read as the action they gave, in one line."""
        action = Action(event.tool, event.arguments, event.thought)
        line = describe_action(action)
        if event.parse_method == "person":
            # A person's action (in a fork) was never generated: it shows where the agent's
            # tokens would have.
            self.streams.append(event.agent, f"A person's action: {action.to_json()}")
            line = f"A person's action: {line}"
        self.streams.show_action(event.agent, event.step, line, event.thought)
