"""The memory pane: what the team has learned, in the memory browser (``ui/memory_browser.py``).

The window builds every pane when it starts, and start-up is measured; this one costs nothing
until it is first shown. Then it builds the browser, which opens the store on a worker thread
and reads the first pages. Runs change the memory, so the pane reads it again at every
showing, and at once when a run ends while it is in view (:meth:`MemoryPane.memory_changed`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from purpose_desktop.ui.on_loop import call_on_loop
from purpose_desktop.ui.qt import QtGui, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.store.opening import Store
    from purpose_desktop.ui.memory.browser import MemoryBrowser


class MemoryPane(QtWidgets.QWidget):
    def __init__(
        self,
        tasks: TaskKeeper,
        open_store: Callable[[], Store] | None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
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

    def memory_changed(self) -> None:
        """A run ended, and may have learned: read the memory now if the pane is in view
        (a hidden pane reads it when it is next shown)."""
        if self.browser is not None and self.isVisible():
            self.browser.refresh()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        browser = self.browser if self.browser is not None else self._make_browser()
        call_on_loop(browser, browser.refresh)  # shown with the window, before the loop runs

    def _make_browser(self) -> MemoryBrowser:
        from purpose_desktop.ui.memory.browser import MemoryBrowser

        browser = MemoryBrowser(self._tasks, self._open_store, self)
        if self._team is not None:
            browser.set_team(self._team)
        self._layout.addWidget(browser)
        # Shown and laid out now, within this showing, rather than when the event loop next
        # gets to it: the first frame of the pane already holds the browser.
        browser.show()
        self._layout.activate()
        self.browser = browser
        return browser
