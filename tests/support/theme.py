"""The app's theme applied to the test's QApplication."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.theme import Scheme, apply_theme


@contextmanager
def theme_applied(qapp: QtWidgets.QApplication, scheme: Scheme) -> Iterator[Scheme]:
    """The application in the ``scheme`` theme; as it was, afterwards."""
    palette, style = qapp.palette(), qapp.style().name()
    apply_theme(qapp, scheme)
    try:
        yield scheme
    finally:
        qapp.setStyle(style)
        qapp.setPalette(palette)
