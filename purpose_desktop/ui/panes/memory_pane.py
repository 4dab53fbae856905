"""The memory pane: what the team has learned, in the memory browser (``ui/memory_browser.py``).

The window builds every pane when it starts, and start-up is measured; this one costs nothing
until it is first shown. Then it builds the browser, which opens the store on a worker thread
and reads the first pages. Each later showing reads them again, since runs change the memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from purpose_desktop.ui.qt import QtGui, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.store.opening import Store
    from purpose_desktop.ui.memory_browser import MemoryBrowser


class MemoryPane(QtWidgets.QWidget):
    def __init__(self, tasks: TaskKeeper, open_store: Callable[[], Store] | None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._open_store = open_store
        self._team: str | None = None
        self.browser: MemoryBrowser | None = None
        """The browser, once the pane has been shown."""
        self._layout = QtWidgets.QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def set_team(self, team: str) -> None:
        """The app's current team, whose memory the pane shows first."""
        self._team = team
        if self.browser is not None:
            self.browser.set_team(team)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.browser is not None:
            self.browser.refresh()
            return
        from purpose_desktop.ui.memory_browser import MemoryBrowser

        self.browser = MemoryBrowser(self._tasks, self._open_store, self)
        if self._team is not None:
            self.browser.set_team(self._team)
        self._layout.addWidget(self.browser)
        # Shown and laid out now, within this showing, rather than when the event loop next
        # gets to it: the first frame of the pane already holds the browser.
        self.browser.show()
        self._layout.activate()
        self.browser.start()
