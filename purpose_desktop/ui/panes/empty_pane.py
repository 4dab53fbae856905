"""A pane that has nothing to show yet, saying so and what will fill it."""

from __future__ import annotations

from purpose_desktop.ui.qt import Qt, QtWidgets


class EmptyPane(QtWidgets.QWidget):
    def __init__(self, title: str, message: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QtWidgets.QLabel(f"<h2>{title}</h2>")
        text = QtWidgets.QLabel(message)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(heading)
        layout.addWidget(text)
        layout.addStretch(2)
