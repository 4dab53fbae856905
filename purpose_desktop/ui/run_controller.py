"""Starts and cancels runs for the GUI and tells the views what happens."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.run import RunOutcome, TeamRunner
from purpose_desktop.ui.event_bridge import EventBridge
from purpose_desktop.ui.qt import QtCore, Signal
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import LoadedTeam


class RunController(QtCore.QObject):
    """The one place the GUI starts runs from. Views subscribe to its signals and its bridge."""

    team_changed = Signal(object)
    """The :class:`LoadedTeam` that runs will use."""
    busy_changed = Signal(bool)
    finished = Signal(object)
    """The :class:`RunOutcome` of a run that ended, or ``None`` if it was cancelled or broke."""

    def __init__(
        self, runner: TeamRunner, tasks: TaskKeeper, parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = EventBridge(self)
        self._runner = runner
        self._tasks = tasks
        self._team: LoadedTeam | None = None
        self._current: asyncio.Task[RunOutcome] | None = None
        # Not derived from the task: views ask while the task is still finishing.
        self._busy = False

    @property
    def team(self) -> LoadedTeam | None:
        return self._team

    def set_team(self, team: LoadedTeam) -> None:
        self._team = team
        self.team_changed.emit(team)

    @property
    def running(self) -> bool:
        return self._busy

    def start(self, task: str) -> bool:
        """Start the current team on ``task``; ``False`` if that is not possible now."""
        if self.running or self._team is None or not task.strip():
            return False
        self._launch(self._runner.run(self._team, task.strip(), [self.bridge]), "team run")
        return True

    def resume(self, run_id: str) -> bool:
        """Go on with an interrupted run from its last checkpoint; ``False`` while another
        run is going."""
        if self.running:
            return False
        self._launch(self._runner.resume(run_id, [self.bridge]), f"resume run {run_id[:8]}")
        return True

    def _launch(self, run: Coroutine[Any, Any, RunOutcome], name: str) -> None:
        self._current = self._tasks.start(run, name)
        # Ended here rather than in the coroutine: a run cancelled before its first step
        # never executes the coroutine's body at all.
        self._current.add_done_callback(self._ended)
        self._busy = True
        self.busy_changed.emit(True)  # now, not when the task first runs: Cancel must work at once

    def cancel(self) -> None:
        if self._current is not None:
            self._current.cancel()

    def _ended(self, task: asyncio.Task[RunOutcome]) -> None:
        self.bridge.flush()
        self._busy = False
        self.busy_changed.emit(False)
        failed = task.cancelled() or task.exception() is not None
        self.finished.emit(None if failed else task.result())
