"""A tab's place for a pane that is made the first time it is shown or asked for.

The panes a person has not opened yet cost the start-up nothing: neither the import of their
modules nor the making of their widgets.
"""

from __future__ import annotations

from collections.abc import Callable

from purpose_desktop.ui.qt import QtGui, QtWidgets


class LazyPane(QtWidgets.QWidget):
    """Holds the pane ``make`` returns, made on the first :meth:`pane` call or showing."""

    def __init__(
        self, make: Callable[[], QtWidgets.QWidget], parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._make = make
        self._pane: QtWidgets.QWidget | None = None
        self._layout = QtWidgets.QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def is_made(self) -> bool:
        return self._pane is not None

    def pane(self) -> QtWidgets.QWidget:
        if self._pane is None:
            self._pane = self._make()
            self._layout.addWidget(self._pane)
            # Shown and laid out now, not when the event loop gets to it (a layout shows and
            # sizes a widget added to a visible parent later): the pane is drawn whole in the
            # frame that first shows it.
            self._pane.show()
            self._layout.activate()
        return self._pane

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        self.pane()  # made before this first frame, so it never shows empty
        super().showEvent(event)
