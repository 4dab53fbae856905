"""Widget builders the parts of the models pane share."""

from __future__ import annotations

from collections.abc import Callable

from purpose_desktop.ui.qt import QtWidgets, set_by_name


def push_button(
    text: str, tip: str, on_click: Callable[[], object] | None = None
) -> QtWidgets.QPushButton:
    button = QtWidgets.QPushButton(text)
    button.setToolTip(tip)
    if on_click is not None:
        button.clicked.connect(lambda _=False: on_click())
    return button


def message_label(name: str, text: str = "") -> QtWidgets.QLabel:
    """A label of coloured, wrapped rich text (messages written as sentences) that can be
    selected and copied."""
    label = QtWidgets.QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    # By name, not as ``QtCore.Qt`` members: made before the window first appears (see
    # ``set_by_name``).
    set_by_name(label, "textFormat", "RichText")
    set_by_name(label, "textInteractionFlags", "TextSelectableByMouse")
    set_by_name(label, "alignment", "AlignTop")
    return label
