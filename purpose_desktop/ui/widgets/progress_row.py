"""A row that shows long work going on: what it is, how far it got, and Cancel."""

from __future__ import annotations

from collections.abc import Callable

from purpose_desktop.ui.qt import QtWidgets


class ProgressRow(QtWidgets.QWidget):
    """A label, a progress bar taking the room left, and a Cancel button whose tooltip says
    what stopping leaves behind; hidden until the work starts."""

    def __init__(self, cancel_tip: str, on_cancel: Callable[[], object]) -> None:
        super().__init__()
        self.label = QtWidgets.QLabel("")
        self.bar = QtWidgets.QProgressBar()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(lambda _=False: on_cancel())
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.hide()
