"""What screen readers announce for the app's controls.

A screen reader names a control by its accessible name: a button by its text, a tab bar by
its current tab, a field by the label made its buddy (a form row's label is, when beside the
field), and anything else only by the name set here. The description is read after the name;
Qt falls back to the tooltip for it.
"""

from __future__ import annotations

from typing import TypeVar

from purpose_desktop.ui.qt import QtWidgets

W = TypeVar("W", bound=QtWidgets.QWidget)


def describe(widget: W, name: str, description: str = "") -> W:
    """Give ``widget`` the ``name`` a screen reader announces and, when given, the
    ``description`` it reads after it (else its tooltip is read); returns the widget."""
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


def without_mnemonic(text: str) -> str:
    """A label's ``text`` as it is read out: without the ``&`` that marks its shortcut
    letter, and with a doubled ``&&`` (a real ampersand) as one."""
    return "&".join(part.replace("&", "") for part in text.split("&&"))
