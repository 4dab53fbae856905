"""A pane that has nothing to show yet, saying so and what will fill it."""

from __future__ import annotations

from purpose_desktop.ui.qt import QtWidgets, set_by_name


class EmptyPane(QtWidgets.QWidget):
    def __init__(self, title: str, message: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QtWidgets.QLabel(f"<h2>{title}</h2>")
        text = QtWidgets.QLabel(message)
        text.setWordWrap(True)
        for label in (heading, text):
            set_by_name(label, "alignment", "AlignCenter")
        layout = QtWidgets.QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(heading)
        layout.addWidget(text)
        layout.addStretch(2)
