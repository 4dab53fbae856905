"""The dialog that adds an OpenAI-compatible server: its name, its address and, if it needs
one, its API key, which goes to the system keyring and nowhere else."""

from __future__ import annotations

from collections.abc import Collection

from purpose_desktop.ui.qt import QtCore, QtWidgets, Signal
from purpose_desktop.ui.widgets.addresses import address_problem
from purpose_desktop.ui.widgets.field_marks import FORM_STYLE, FieldMark, add_row


def server_name_problem(name: str, taken: Collection[str]) -> str | None:
    if not name:
        return "Give the server a name; agents name its models as server:NAME/MODEL."
    if "/" in name or name != name.strip():
        return "The name cannot contain '/' or start or end with a space."
    if name in taken:
        return f"A server called '{name}' is already set up."
    return None


def server_url_problem(url: str) -> str | None:
    return address_problem(url, "http://127.0.0.1:8000/v1")


class ServerDialog(QtWidgets.QDialog):
    """Opened with ``open()``; reports what was entered through :attr:`server_entered`."""

    server_entered = Signal(str, str, str)
    """The server's name, its address and its API key ("" for none)."""

    def __init__(self, taken: Collection[str], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a server")
        self.setStyleSheet(FORM_STYLE)
        self._taken = frozenset(taken)
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setPlaceholderText("lab")
        self.url_edit = QtWidgets.QLineEdit()
        self.url_edit.setPlaceholderText("http://127.0.0.1:8000/v1")
        self.key_edit = QtWidgets.QLineEdit()
        self.key_edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("only if the server asks for one")
        self.keyring_note = QtWidgets.QLabel("Looking for the system keyring…")
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setProperty("hint", True)
        self._marks = {
            "name": FieldMark(self.name_edit, "A name of your own for the server, such as lab"),
            "url": FieldMark(
                self.url_edit, "The server's OpenAI-compatible address, such as …:8000/v1"
            ),
        }
        self.key_edit.setAccessibleDescription(
            "The server's API key, only if it asks for one; kept in the system keyring"
        )
        form = QtWidgets.QFormLayout()
        add_row(form, "&Name", self._marks["name"])
        add_row(form, "&Address", self._marks["url"])
        form.addRow("API &key", self.key_edit)
        form.addRow("", self.keyring_note)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
        for edit in (self.name_edit, self.url_edit):
            edit.textChanged.connect(self._check)
        self._check()

    def show_keyring(self, available: bool, backend: str, reason: str) -> None:
        """Say where a key would be kept, or why it cannot be."""
        if available:
            self.keyring_note.setText(f"The key is kept in the system keyring ({backend}).")
        else:
            self.keyring_note.setProperty("hint", False)
            self.keyring_note.setProperty("fieldError", True)
            self.keyring_note.setText(f"A key cannot be saved here: {reason}")
            # The colour comes from a dynamic property, read only when polished again.
            self.keyring_note.style().polish(self.keyring_note)
        # Once the layout has taken in the new text (at the next turn of the loop), grow to
        # show all of it.
        QtCore.QTimer.singleShot(0, self._fit_height)

    def _fit_height(self) -> None:
        # At the dialog's own width: adjustSize() would measure the wrapped note at a
        # narrower one and leave a gap.
        layout = self.layout()
        if layout is not None:
            self.resize(self.width(), layout.totalHeightForWidth(self.width()))

    def _problems(self) -> dict[str, str | None]:
        return {
            "name": server_name_problem(self.name_edit.text(), self._taken),
            "url": server_url_problem(self.url_edit.text().strip()),
        }

    def _check(self) -> None:
        problems = self._problems()
        # Say what is wrong with a field only once something is typed in it.
        for key, mark in self._marks.items():
            typed = bool(mark.field.property("text"))
            mark.show(problems[key] if typed else None)
        self.ok_button.setEnabled(not any(problems.values()))

    def accept(self) -> None:
        if any(self._problems().values()):
            return
        self.server_entered.emit(
            self.name_edit.text(), self.url_edit.text().strip(), self.key_edit.text().strip()
        )
        self.key_edit.clear()  # the key is not kept in the dialog once handed on
        super().accept()
