"""The right side of the Tools pane: what is known of the server or the tool selected.

A server shows how it is set up (its secrets masked by the service), whether it started and
its log, with Restart; a tool shows where it comes from, whether it is asked about under the
"risky" review policy, its description and its JSON schema, with Test call….
"""

from __future__ import annotations

import html
import json
from typing import Final

from purpose_desktop.services.tools import BUILT_IN, ServerDetail, ToolDetail
from purpose_desktop.ui.qt import QtWidgets, Signal, set_by_name
from purpose_desktop.ui.theme import set_font
from purpose_desktop.ui.widgets.notice import say

RESTART_SHORTCUT: Final = "Ctrl+Shift+R"
CALL_SHORTCUT: Final = "Ctrl+T"
#: The ``source`` of the tools of the home folder's tools folder.
USER_SOURCE: Final = "user"


def state_text(detail: ServerDetail) -> str:
    """A server's state in a few words, for the list."""
    state = detail.state
    if state.problem is not None:
        # The problem's sentence begins with the server's name, which the row shows already.
        named = f"The MCP server '{state.name}' "
        return f"failed: {state.problem.removeprefix(named)}"
    count = state.tools or 0
    return f"works, {count} tool{'' if count == 1 else 's'}"


def source_text(source: str) -> str:
    """Where a tool comes from, as a sentence's end."""
    if source == BUILT_IN:
        return "comes with the app"
    if source == USER_SOURCE:
        return "is one of your own (a Python function in the home folder's tools folder)"
    return f"is offered by the MCP server '{source}'"


def _selectable(label: QtWidgets.QLabel) -> QtWidgets.QLabel:
    label.setWordWrap(True)
    set_by_name(label, "textInteractionFlags", "TextSelectableByMouse")
    return label


def _fixed_box(name: str, spoken: str) -> QtWidgets.QPlainTextEdit:
    """Read-only text in a fixed-width font, ``spoken`` as its name to a screen reader."""
    box = QtWidgets.QPlainTextEdit()
    box.setObjectName(name)
    box.setAccessibleName(spoken)
    box.setReadOnly(True)
    set_font(box, fixed=True)
    box.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
    return box


class ServerView(QtWidgets.QWidget):
    """One MCP server: its settings, its state, its log."""

    restart_requested = Signal(str)
    """The server's name: stop it and start it again."""
    log_requested = Signal(str)
    """The server's name: read its log again."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = ""
        self.heading = QtWidgets.QLabel("")
        self.state = _selectable(QtWidgets.QLabel(""))
        self.state.setObjectName("serverState")
        self.settings = QtWidgets.QFormLayout()
        self.restart_button = QtWidgets.QPushButton("Restart")
        set_by_name(self.restart_button, "shortcut", RESTART_SHORTCUT)
        self.restart_button.setToolTip(
            "Stop this server and start it again to list its tools; the servers runs use are "
            f"stopped too and start again, from mcp.json, when a run needs them "
            f"({RESTART_SHORTCUT})"
        )
        self.log_button = QtWidgets.QPushButton("Refresh log")
        self.log_button.setToolTip("Read the server's log again")
        self.log_label = _selectable(QtWidgets.QLabel("Log:"))
        self.log = _fixed_box("serverLog", "Server log")
        self.log.setPlaceholderText("The server has written nothing to its log yet.")

        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.restart_button)
        buttons.addWidget(self.log_button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.state)
        layout.addLayout(self.settings)
        layout.addLayout(buttons)
        layout.addWidget(self.log_label)
        layout.addWidget(self.log, 1)
        self.restart_button.clicked.connect(lambda: self.restart_requested.emit(self.name))
        self.log_button.clicked.connect(lambda: self.log_requested.emit(self.name))

    def show_server(self, detail: ServerDetail) -> None:
        state = detail.state
        if self.name != state.name:
            self.log.clear()
        self.name = state.name
        transport = "stdio: a program the app starts" if state.transport == "stdio" else "HTTP"
        self.heading.setText(
            f"<b>{html.escape(state.name)}</b> &nbsp;·&nbsp; MCP server ({transport})"
        )
        if state.problem is not None:
            say(self.state, f"It did not start: {state.problem}", "error")
        else:
            count = state.tools or 0
            say(
                self.state,
                f"It started and offered {count} tool{'' if count == 1 else 's'}; it was "
                "stopped again and starts when a run or a test call needs it.",
                "success",
            )
        while self.settings.rowCount():
            self.settings.removeRow(0)
        if detail.command is not None:
            self._row("Command:", detail.command)
            self._row("Arguments:", " ".join(detail.args) or "none")
            values_name = "Environment:"
        else:
            self._row("Address:", detail.url or "")
            values_name = "Headers:"
        self._row(
            values_name,
            "\n".join(f"{name} = {value}" for name, value in detail.values) or "none",
        )
        has_log = state.log_file is not None
        self.log_button.setEnabled(has_log)
        self.log.setEnabled(has_log)
        if has_log:
            self.log_label.setText(f"Log ({state.log_file}):")
        else:
            self.log_label.setText("Log: an HTTP server keeps its log where it runs.")
            self.log.clear()

    def _row(self, name: str, value: str) -> None:
        self.settings.addRow(name, _selectable(QtWidgets.QLabel(value)))

    def show_log(self, text: str) -> None:
        """The end of the server's log; the view scrolls to its last line."""
        self.log.setPlainText(text)
        self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())

    def setting(self, name: str) -> str:
        """The text shown for the setting ``name`` ("Command:", "Environment:"...)."""
        for row in range(self.settings.rowCount()):
            label = self.settings.itemAt(row, QtWidgets.QFormLayout.ItemRole.LabelRole)
            field = self.settings.itemAt(row, QtWidgets.QFormLayout.ItemRole.FieldRole)
            name_label = label.widget() if label is not None else None
            value_label = field.widget() if field is not None else None
            if (
                isinstance(name_label, QtWidgets.QLabel)
                and isinstance(value_label, QtWidgets.QLabel)
                and name_label.text() == name
            ):
                return value_label.text()
        raise KeyError(name)


class ToolView(QtWidgets.QWidget):
    """One tool: where it comes from, its review, its description and schema."""

    call_requested = Signal(str)
    """The tool's name: open the test call dialog."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = ""
        self.heading = _selectable(QtWidgets.QLabel(""))
        self.source = _selectable(QtWidgets.QLabel(""))
        self.review = _selectable(QtWidgets.QLabel(""))
        self.review.setObjectName("toolReview")
        self.description = _selectable(QtWidgets.QLabel(""))
        self.description.setObjectName("toolDescription")
        self.schema = _fixed_box("toolSchema", "JSON schema of the tool's arguments")
        self.call_button = QtWidgets.QPushButton("Test call…")
        set_by_name(self.call_button, "shortcut", CALL_SHORTCUT)
        self.call_button.setToolTip(
            f"Call this tool by hand with arguments you enter ({CALL_SHORTCUT})"
        )
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.call_button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.source)
        layout.addWidget(self.review)
        layout.addWidget(self.description)
        layout.addLayout(buttons)
        layout.addWidget(QtWidgets.QLabel("Its arguments (JSON schema):"))
        layout.addWidget(self.schema, 1)
        self.call_button.clicked.connect(lambda: self.call_requested.emit(self.name))

    def show_tool(self, tool: ToolDetail) -> None:
        self.name = tool.name
        self.heading.setText(f"<b>{html.escape(tool.name)}</b>")
        self.source.setText(f"This tool {source_text(tool.source)}.")
        if tool.risky:
            say(
                self.review,
                "Risky: an agent under the “risky” review policy asks you before each call "
                "(it may change files or the world outside, or says nothing of what it does).",
                "warning",
            )
        else:
            say(
                self.review,
                "Not risky: it only reads (or changes nothing it did not make), so the “risky” "
                "review policy does not ask before it is called.",
                "success",
            )
        self.description.setText(tool.description or "(no description)")
        self.schema.setPlainText(json.dumps(tool.schema, indent=2, ensure_ascii=False))
