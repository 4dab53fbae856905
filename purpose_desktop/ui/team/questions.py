"""The questions the team pane asks: unsaved changes, deleting a team, where to save it.

Each is returned unopened; the caller connects to it and calls ``open()``, never ``exec()``:
the event loop, and any run, must go on while the question waits for an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.widgets.file_dialogs import TEAM_FILE

Box = QtWidgets.QMessageBox
# Qt's enums are reached inside the functions: the pane imports this module before the
# window first appears, and PySide6 builds an enum's Python class on its first use.


def message_box(
    parent: QtWidgets.QWidget, icon: Box.Icon, title: str, text: str, detail: str = ""
) -> Box:
    """A message box with no buttons yet, ``detail`` under its text."""
    box = Box(icon, title, text, Box.StandardButton.NoButton, parent)
    box.setInformativeText(detail)
    return box


def unsaved_changes(parent: QtWidgets.QWidget, name: str, problems: str | None) -> Box:
    """Save, Discard or Cancel for the unsaved changes to team ``name``. ``problems`` says
    why they cannot be saved as they are; Save is then disabled."""
    box = message_box(
        parent,
        Box.Icon.Question,
        "Unsaved changes",
        f"Save the changes to the team “{name}”?",
        f"They cannot be saved as they are: {problems}" if problems else "",
    )
    button = Box.StandardButton
    box.setStandardButtons(button.Save | button.Discard | button.Cancel)
    box.button(button.Save).setEnabled(problems is None)
    box.setDefaultButton(button.Cancel if problems else button.Save)
    return box


def confirm_delete(
    parent: QtWidgets.QWidget, name: str, path: Path | None
) -> tuple[Box, QtWidgets.QAbstractButton]:
    """Delete or Cancel for team ``name`` and its file; also the Delete button."""
    box = message_box(
        parent,
        Box.Icon.Warning,
        "Delete team",
        f"Delete the team “{name}”?",
        f"Its file {path} is removed; its memory and past runs are kept."
        if path is not None
        else "It has not been saved: what is in the editor is lost.",
    )
    box.setDefaultButton(box.addButton(Box.StandardButton.Cancel))
    return box, box.addButton("Delete", Box.ButtonRole.DestructiveRole)


def save_dialog(parent: QtWidgets.QWidget, suggested: Path) -> QtWidgets.QFileDialog:
    """A dialog for the file to save a team to, starting at ``suggested``."""
    dialog = QtWidgets.QFileDialog(parent, "Save team", str(suggested), TEAM_FILE.filter)
    dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("yaml")
    return dialog


class Asker:
    """Opens the pane's questions and dialogs without blocking, one question at a time, and
    keeps the open ones referenced: Qt would not keep a dialog alive that Python forgot."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        self._parent = parent
        self.question: Box | None = None
        """The open question, if any."""
        self.file_dialog: QtWidgets.QFileDialog | None = None
        """The last file dialog opened."""

    def ask(self, box: Box) -> Box:
        """Open ``box`` in place of the last question; connect to it after this returns."""
        if self.question is not None:
            self.question.close()
            self.question.deleteLater()
        self.question = box
        box.open()
        return box

    def warn(self, title: str, message: str) -> None:
        box = message_box(self._parent, Box.Icon.Warning, title, message)
        box.setStandardButtons(Box.StandardButton.Ok)
        self.ask(box)

    def ask_for_file(self, suggested: Path, chosen: Callable[[Path], None]) -> None:
        """Ask where to save a team, starting at ``suggested``; ``chosen`` gets the file."""
        dialog = save_dialog(self._parent, suggested)
        dialog.fileSelected.connect(lambda selected: chosen(Path(selected)))
        self.file_dialog = dialog
        dialog.open()
