"""Starts, pauses, cancels, forks and replays runs for the GUI and tells the views what
happens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from purpose_desktop.errors import UserError
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, Signal
from purpose_desktop.ui.run.event_bridge import EventBridge
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
    from purpose_desktop.engine.loop.run_context import RunControl
    from purpose_desktop.engine.review import ReviewGate
    from purpose_desktop.engine.specs import LoadedTeam
    from purpose_desktop.engine.trajectory import Action
    from purpose_desktop.services.runs import RunsService

    # The runner, or a function that makes it when the first run starts (making it loads
    # the engine, which the window need not wait for).
    Runner = TeamRunner | Callable[[], TeamRunner]

#: How many of the newest runs the runs list shows.
RUNS_LISTED = 200


StartRun = Callable[["RunControl"], Coroutine[Any, Any, "RunOutcome"]]


class RunController(QtCore.QObject):
    """The one place the GUI starts runs from. Views subscribe to its signals and its bridge.

    One thing goes on at a time: a run (started, resumed or forked) or a replay of a recorded
    run; both deliver their events through :attr:`bridge`. ``review`` answers the reviews of
    every run (the default approves everything); ``history`` lists recorded runs and replays
    them (without it, neither is offered).
    """

    team_changed = Signal(object)
    """The :class:`LoadedTeam` that runs will use."""
    busy_changed = Signal(bool)
    finished = Signal(object)
    """The :class:`RunOutcome` of a run that ended, or ``None`` if it was cancelled or broke."""
    paused_changed = Signal(bool)
    """The person asked the run to pause (``True``: it stops before its next step) or to go
    on (``False``, also when the run ends)."""
    replay_finished = Signal(str)
    """The id of the run whose replay ended (or was cancelled)."""
    runs_listed = Signal(object)
    """A list of :class:`RunSummary`, the newest first."""
    runs_unavailable = Signal(str)
    """Why the recorded runs cannot be listed."""

    def __init__(
        self,
        runner: Runner,
        tasks: TaskKeeper,
        parent: QtCore.QObject | None = None,
        *,
        review: ReviewGate | None = None,
        history: RunsService | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = EventBridge(self)
        self._runner_or_maker = runner
        self._tasks = tasks
        self._operations = Operations(tasks)
        self._review = review
        self._history = history
        self._team: LoadedTeam | None = None
        self._current: asyncio.Task[Any] | None = None
        self._control: RunControl | None = None
        # Not derived from the task: views ask while the task is still finishing.
        self._busy = False
        self._replaying = False

    @property
    def runner(self) -> TeamRunner:
        """The runner, made now if it was given as a function."""
        from purpose_desktop.engine.loop.run import TeamRunner

        if not isinstance(self._runner_or_maker, TeamRunner):
            self._runner_or_maker = self._runner_or_maker()
        return self._runner_or_maker

    @property
    def review(self) -> ReviewGate | None:
        """The gate that answers the runs' reviews (``None``: everything is approved)."""
        return self._review

    @property
    def team(self) -> LoadedTeam | None:
        return self._team

    def set_team(self, team: LoadedTeam) -> None:
        self._team = team
        self.team_changed.emit(team)

    @property
    def running(self) -> bool:
        """Whether a run or a replay is going on."""
        return self._busy

    @property
    def replaying(self) -> bool:
        return self._replaying

    @property
    def can_pause(self) -> bool:
        """Whether there is a run (not a replay) to pause or go on with."""
        return self._control is not None

    @property
    def paused(self) -> bool:
        return self._control is not None and self._control.paused

    @property
    def has_history(self) -> bool:
        return self._history is not None

    # --- runs -----------------------------------------------------------------------------

    def start(self, task: str) -> bool:
        """Start the current team on ``task``; ``False`` if that is not possible now."""
        team, text = self._team, task.strip()
        if self.running or team is None or not text:
            return False
        self._launch_run(
            lambda control: self.runner.run(
                team, text, [self.bridge], self._review, control=control
            ),
            "team run",
        )
        return True

    def resume(self, run_id: str) -> bool:
        """Go on with an interrupted run from its last checkpoint; ``False`` while another
        run is going."""
        if self.running:
            return False
        self._launch_run(
            lambda control: self.runner.resume(
                run_id, [self.bridge], self._review, control=control
            ),
            f"resume run {run_id[:8]}",
        )
        return True

    def fork(self, run_id: str, after_step: int, action: Action | None = None) -> bool:
        """Start a new run from ``run_id`` as it stood after ``after_step`` (0: before its
        first step), taking ``action`` next if given; ``False`` while another run is going."""
        if self.running:
            return False
        self._launch_run(
            lambda control: self.runner.fork(
                run_id, after_step, [self.bridge], self._review, action=action, control=control
            ),
            f"fork run {run_id[:8]} after step {after_step}",
        )
        return True

    def pause(self) -> None:
        """Let the step under way finish, then wait before the next one."""
        if self._control is not None and not self._control.paused:
            self._control.pause()
            self.paused_changed.emit(True)

    def go_on(self) -> None:
        """Let a paused run take its next step."""
        if self._control is not None and self._control.paused:
            self._control.go_on()
            self.paused_changed.emit(False)

    def cancel(self) -> None:
        """Stop the run (or the replay) going on."""
        if self._current is not None:
            self._current.cancel()

    def _launch_run(self, start: StartRun, name: str) -> None:
        from purpose_desktop.engine.loop.run_context import RunControl

        self._control = RunControl()
        self._launch(start(self._control), name, self._run_ended)

    def _run_ended(self, task: asyncio.Task[RunOutcome]) -> None:
        was_paused = self.paused
        self._control = None
        self._settle()
        if was_paused:
            self.paused_changed.emit(False)
        failed = task.cancelled() or task.exception() is not None
        self.finished.emit(None if failed else task.result())

    # --- recorded runs --------------------------------------------------------------------

    def replay(self, run_id: str, speed: float | None = None) -> bool:
        """Deliver the recorded events of ``run_id`` again, at once or (with ``speed``) at
        the pace they happened; ``False`` without a history or while something goes on."""
        from purpose_desktop.engine.recording.replay import replay

        if self.running or self._history is None:
            return False
        self._replaying = True
        events = self._history.stream_events(run_id)
        self._launch(
            replay(events, [self.bridge], speed=speed),
            f"replay run {run_id[:8]}",
            lambda _task: self._replay_ended(run_id),
        )
        return True

    def _replay_ended(self, run_id: str) -> None:
        self._replaying = False
        self._settle()
        self.replay_finished.emit(run_id)

    def refresh_runs(self) -> asyncio.Task[None] | None:
        """List the newest recorded runs (:attr:`runs_listed`), if there is a history; say
        why they cannot be listed (:attr:`runs_unavailable`) when the database is in use,
        damaged or unreachable."""
        history = self._history
        if history is None:
            return None
        return self._operations.run(
            "list runs",
            lambda: history.list_runs(limit=RUNS_LISTED),
            done=self.runs_listed.emit,
            failed=self._runs_unavailable,
            latest=True,
        )

    def _runs_unavailable(self, exc: UserError) -> None:
        self.runs_unavailable.emit(str(exc))

    # --- either ---------------------------------------------------------------------------

    def _launch(
        self,
        work: Coroutine[Any, Any, Any],
        name: str,
        ended: Callable[[asyncio.Task[Any]], None],
    ) -> None:
        self._current = self._tasks.start(work, name)
        # Ended here rather than in the coroutine: a run cancelled before its first step
        # never executes the coroutine's body at all.
        self._current.add_done_callback(ended)
        self._busy = True
        self.busy_changed.emit(True)  # now, not when the task first runs: Cancel must work at once

    def _settle(self) -> None:
        """What ends a run or a replay alike: the last tokens are shown, nothing is busy."""
        self.bridge.flush()
        self._current = None
        self._busy = False
        self.busy_changed.emit(False)
