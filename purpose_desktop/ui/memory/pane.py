"""The memory pane: what the team has learned, in the memory browser (``browser.py``, driven by
``controller.py``).

The window builds every pane when it starts, and start-up is measured; this one costs nothing
until it is first shown. Then it builds the browser, whose controller opens the database on a
worker thread and reads the first pages. Runs change the memory, so the pane reads it again at
every showing, and at once when a run ends while it is in view
(:meth:`MemoryPane.memory_changed`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from purpose_desktop.ui.on_loop import call_on_loop
from purpose_desktop.ui.qt import QtGui, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.services.memory import MemoryService
    from purpose_desktop.ui.memory.browser import MemoryBrowser
    from purpose_desktop.ui.memory.controller import MemoryController


class MemoryPane(QtWidgets.QWidget):
    """The memory ``memory`` holds (``None``: no database, and the pane says so)."""

    def __init__(
        self,
        tasks: TaskKeeper,
        memory: MemoryService | None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._memory = memory
        self._team: str | None = None
        self.controller: MemoryController | None = None
        """What drives the browser, once the pane has been shown."""
        self._layout = QtWidgets.QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def browser(self) -> MemoryBrowser | None:
        """The browser, once the pane has been shown."""
        return None if self.controller is None else self.controller.browser

    def set_team(self, team: str) -> None:
        """The app's current team, whose memory the pane shows first."""
        self._team = team
        if self.controller is not None:
            self.controller.set_team(team)

    def memory_changed(self) -> None:
        """A run ended, and may have learned: read the memory now if the pane is in view
        (a hidden pane reads it when it is next shown)."""
        if self.controller is not None and self.isVisible():
            self.controller.refresh()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        controller = self.controller if self.controller is not None else self._make_browser()
        # Shown with the window, before the loop runs: read on the loop's first turn.
        call_on_loop(controller, controller.refresh)

    def _make_browser(self) -> MemoryController:
        from purpose_desktop.ui.memory.browser import MemoryBrowser
        from purpose_desktop.ui.memory.controller import MemoryController

        browser = MemoryBrowser(self)
        controller = MemoryController(browser, self._memory, self._tasks)
        if self._team is not None:
            controller.set_team(self._team)
        self._layout.addWidget(browser)
        # Shown and laid out now, within this showing, rather than when the event loop next
        # gets to it: the first frame of the pane already holds the browser.
        browser.show()
        self._layout.activate()
        self.controller = controller
        return controller
