"""A line of a pane or dialog that says what went wrong (or right), in a colour of the theme.

The colour is taken from the palette when the line is set, so it reads on the light and the
dark theme alike (the form style's fixed red is too dark on a dark window).
"""

from __future__ import annotations

from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.theme import meaning_colour


def notice_label() -> QtWidgets.QLabel:
    """A word-wrapped label, hidden until :func:`say` gives it something to say."""
    label = QtWidgets.QLabel("")
    label.setWordWrap(True)
    label.hide()
    return label


def say(label: QtWidgets.QLabel, text: str, meaning: str = "error") -> None:
    """Show ``text`` in ``label`` in the colour of ``meaning`` (a key of
    :data:`~purpose_desktop.ui.theme.MEANING_COLOURS`), or hide it when ``text`` is empty."""
    label.setStyleSheet(f"color: {meaning_colour(meaning, label.palette()).name()};")
    label.setText(text)
    label.setVisible(bool(text))
