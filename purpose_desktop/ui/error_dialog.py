"""Unexpected errors are logged and shown, never lost in a terminal nobody watches.

An error the user can act on (:class:`UserError`) shows its message. Anything else is a bug:
the dialog says so, gives the log file's path and keeps the traceback under "Show Details".
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from purpose_desktop.errors import UserError
from purpose_desktop.ui.qt import QtWidgets

log = logging.getLogger(__name__)


class ErrorReporter:
    """Shows errors in non-modal dialogs (``open()``, never ``exec()``, so the event loop and
    every running agent carry on) and writes bugs to the log."""

    def __init__(self, parent: QtWidgets.QWidget | None, log_file: Path) -> None:
        self._parent = parent
        self._log_file = log_file
        self._dialogs: list[QtWidgets.QMessageBox] = []

    def set_parent(self, parent: QtWidgets.QWidget) -> None:
        self._parent = parent

    def __call__(self, error: BaseException) -> None:
        box = error_box(self._parent, error, self._log_file)
        box.finished.connect(lambda _result, b=box: self._closed(b))
        self._dialogs.append(box)
        box.open()

    def _closed(self, box: QtWidgets.QMessageBox) -> None:
        if box in self._dialogs:
            self._dialogs.remove(box)
        box.deleteLater()

    @property
    def open_dialogs(self) -> list[QtWidgets.QMessageBox]:
        return list(self._dialogs)

    def excepthook(
        self,
        kind: type[BaseException],
        error: BaseException,
        tb: TracebackType | None,
    ) -> None:
        """For ``sys.excepthook``: errors raised in Qt slots end up here."""
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, tb)
            return
        self(error.with_traceback(tb))

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """For ``loop.set_exception_handler``: errors nobody awaited end up here."""
        error = context.get("exception")
        if isinstance(error, BaseException):
            self(error)
        else:
            log.error("Event loop: %s", context.get("message"))


def error_box(
    parent: QtWidgets.QWidget | None, error: BaseException, log_file: Path
) -> QtWidgets.QMessageBox:
    """A message box for ``error``, logged: its message for a :class:`UserError`; for a bug,
    the log file's path with the traceback under "Show Details"."""
    box = QtWidgets.QMessageBox(parent)
    if isinstance(error, UserError):
        log.warning("%s", error)
        box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
        box.setWindowTitle("Purpose Desktop")
        box.setText(str(error))
    else:
        details = "".join(traceback.format_exception(error))
        log.error("Unexpected error\n%s", details)
        box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
        box.setWindowTitle("Unexpected error")
        box.setText(f"Something went wrong inside Purpose Desktop: {error}")
        box.setInformativeText(f"Your work is safe. The details are in the log file:\n{log_file}")
        box.setDetailedText(details)
        for shown in box.findChildren(QtWidgets.QTextEdit):  # Qt's box leaves it unnamed
            shown.setAccessibleName("Details of the error")
    box.setObjectName("errorDialog")
    return box


def report_start_failure(error: BaseException, log_file: Path) -> None:
    """Show why the app could not start and wait until the dialog is closed. Started from
    a desktop menu or a file manager, the app has no terminal to print to, so without this
    a failed start would vanish without a word. Only for use outside the event loop."""
    if QtWidgets.QApplication.instance() is None:
        QtWidgets.QApplication([])
    error_box(None, error, log_file).exec()
