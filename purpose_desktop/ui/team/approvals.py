"""The team's remembered approvals: the tools and MCP servers its runs do not ask about,
each with a button that revokes it."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from purpose_desktop.ui.qt import QtWidgets, Signal
from purpose_desktop.ui.widgets.field_marks import error_label, show_error

if TYPE_CHECKING:
    from purpose_desktop.engine.review import RememberedApproval

NONE_TEXT = "None: every tool is asked about as the agent's review policy says."
UNSAVED_TEXT = "Save the team first: approvals are kept for a saved team's name."


def approval_text(approval: RememberedApproval) -> str:
    """``Server time: all its tools`` or ``Tool calculator``, and since when."""
    since = time.strftime("%Y-%m-%d", time.localtime(approval.created_at))
    name = html.escape(approval.name)
    what = (
        f"Server <b>{name}</b>: all its tools"
        if approval.kind == "server"
        else f"Tool <b>{name}</b>"
    )
    return f"{what} <span style='color: #5f6368'>· since {since}</span>"


class ApprovalsBox(QtWidgets.QGroupBox):
    """Lists a team's approvals; :attr:`revoke_requested` asks to revoke one."""

    revoke_requested = Signal(object)
    """The :class:`RememberedApproval` whose Revoke button was clicked."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Remembered approvals", parent)
        self.setObjectName("teamApprovals")
        self.setToolTip(
            "Tools and MCP servers allowed for this team from a review dialog: its runs "
            "do not ask about them"
        )
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.status.setProperty("hint", True)
        self.problem = error_label()
        self.revoke_buttons: dict[tuple[str, str], QtWidgets.QPushButton] = {}
        self._rows = QtWidgets.QWidget()
        self._grid = QtWidgets.QGridLayout(self._rows)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setColumnStretch(0, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self._rows)
        layout.addWidget(self.problem)
        self.approvals: tuple[RememberedApproval, ...] = ()

    def show_loading(self) -> None:
        if not self.approvals:
            self.status.setText("Reading…")

    def show_unsaved(self) -> None:
        self._fill(())
        self.status.setText(UNSAVED_TEXT)
        show_error(self.problem, "")

    def show_approvals(self, approvals: Sequence[RememberedApproval]) -> None:
        self._fill(tuple(approvals))
        self.status.setText("" if approvals else NONE_TEXT)
        self.status.setVisible(not approvals)
        show_error(self.problem, "")

    def show_problem(self, problem: str) -> None:
        """Reading or revoking failed: say why, keep what is shown."""
        if not self.approvals:
            self.status.setText("")
        show_error(self.problem, problem)

    def _fill(self, approvals: tuple[RememberedApproval, ...]) -> None:
        self.approvals = approvals
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.revoke_buttons = {}
        self.status.setVisible(True)
        for row, approval in enumerate(approvals):
            label = QtWidgets.QLabel(approval_text(approval))
            button = QtWidgets.QPushButton("Revoke")
            # Every row's button reads "Revoke": the name says what it revokes.
            button.setAccessibleName(f"Revoke {approval.kind} {approval.name}")
            button.setToolTip(
                f"Ask again about {'every tool of ' if approval.kind == 'server' else ''}"
                f"{approval.name} from this team's next run on"
            )
            button.clicked.connect(
                lambda _=False, chosen=approval: self.revoke_requested.emit(chosen)
            )
            self._grid.addWidget(label, row, 0)
            self._grid.addWidget(button, row, 1)
            self.revoke_buttons[(approval.kind, approval.name)] = button
