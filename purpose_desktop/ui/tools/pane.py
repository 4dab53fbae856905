"""The Tools pane: the MCP servers of ``mcp.json`` with their state, every tool an agent can be
given, and, for the one selected, a server's settings and log or a tool's description, review
and schema.

The pane only shows and asks: what it asks for goes out as signals (its own, and those of its
:class:`~purpose_desktop.ui.tools.details.ServerView` and
:class:`~purpose_desktop.ui.tools.details.ToolView`), and
:mod:`purpose_desktop.ui.tools.controller` does the work off the UI loop and tells the pane
what came of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from purpose_desktop.services.tools import BUILT_IN, ServerDetail, ToolDetail, ToolsOverview
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.qt import QtGui, QtWidgets, Signal, set_by_name
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.tools.details import (
    USER_SOURCE,
    ServerView,
    ToolView,
    state_text,
)
from purpose_desktop.ui.widgets.notice import notice_label, say
from purpose_desktop.ui.widgets.progress_row import ProgressRow

IMPORT_SHORTCUT: Final = "Ctrl+I"
REFRESH_SHORTCUT: Final = "F5"
MCP_FILTER: Final = "MCP settings (*.json);;All files (*)"
SERVERS_GROUP: Final = "MCP servers"
BUILT_IN_GROUP: Final = "Built-in tools"
USER_GROUP: Final = "Your tools"
_EMPTY, _SERVER, _TOOL = 0, 1, 2  # the pages of the details


class ToolsPane(QtWidgets.QWidget):
    """The servers and tools as a tree on the left, the one selected on the right."""

    refresh_requested = Signal()
    """Start the servers again and list what they offer."""
    import_chosen = Signal(object)
    """The ``Path`` of an ``mcpServers`` file to import servers from."""
    open_config_requested = Signal()
    """Open ``mcp.json`` in the system's editor."""
    cancel_requested = Signal()
    """Stop what is under way (listing, restarting or importing)."""
    first_shown = Signal()
    """The pane is on screen for the first time: time to list the servers and tools."""

    def __init__(self, config_file: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.config_file = config_file
        self.overview: ToolsOverview | None = None
        self.file_dialog: QtWidgets.QFileDialog | None = None
        self._was_shown = False
        self._items: dict[tuple[int, str], QtWidgets.QTreeWidgetItem] = {}

        self.tree = QtWidgets.QTreeWidget()
        self.tree.setObjectName("toolsTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Name", "State"])
        self.tree.setUniformRowHeights(True)
        describe(
            self.tree,
            "Servers and tools",
            "The MCP servers of mcp.json with their tools, then the built-in tools and yours; "
            "select one to see it",
        )
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(lambda item, _previous: self._show_item(item))
        self.server_view = ServerView()
        self.tool_view = ToolView()
        self.empty = QtWidgets.QLabel(
            "Select a server to see its settings and log, or a tool to see its arguments and "
            "try it."
        )
        self.empty.setWordWrap(True)
        set_by_name(self.empty, "alignment", "AlignCenter")
        self.details = QtWidgets.QStackedWidget()
        for page in (self.empty, self.server_view, self.tool_view):
            self.details.addWidget(page)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self._header())
        self.notice = notice_label()
        self.notice.setObjectName("toolsNotice")
        set_by_name(self.notice, "textInteractionFlags", "TextSelectableByMouse")
        layout.addWidget(self.notice)
        layout.addWidget(self._progress_row())
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 740])
        layout.addWidget(splitter, 1)

    def _header(self) -> QtWidgets.QVBoxLayout:
        self.summary = QtWidgets.QLabel("Starting the servers of mcp.json…")
        self.summary.setObjectName("toolsSummary")
        self.config_label = QtWidgets.QLabel(f"Servers are read from {self.config_file}")
        self.config_label.setForegroundRole(QtGui.QPalette.ColorRole.PlaceholderText)
        self.config_label.setWordWrap(True)
        set_by_name(self.config_label, "textInteractionFlags", "TextSelectableByMouse")
        self.open_button = QtWidgets.QPushButton("Open mcp.json")
        self.open_button.setToolTip(
            "Edit mcp.json in the system's editor (made, with no servers, if there is none); "
            "Refresh once it is saved"
        )
        self.open_button.clicked.connect(self.open_config_requested.emit)
        self.import_button = QtWidgets.QPushButton("Import servers…")
        self.import_button.setToolTip(
            "Add the servers of another app's MCP settings (Claude Desktop's "
            "claude_desktop_config.json, Cursor's or LM Studio's mcp.json); their secrets "
            f"go to the system keyring ({IMPORT_SHORTCUT})"
        )
        set_by_name(self.import_button, "shortcut", IMPORT_SHORTCUT)
        self.import_button.clicked.connect(self.choose_import_file)
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setToolTip(
            f"Read mcp.json again, start its servers and list their tools ({REFRESH_SHORTCUT})"
        )
        set_by_name(self.refresh_button, "shortcut", REFRESH_SHORTCUT)
        self.refresh_button.clicked.connect(self.refresh_requested.emit)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.summary, 1)
        for button in (self.open_button, self.import_button, self.refresh_button):
            top.addWidget(button)
        header = QtWidgets.QVBoxLayout()
        header.addLayout(top)
        header.addWidget(self.config_label)
        return header

    def _progress_row(self) -> QtWidgets.QWidget:
        self.progress_row = ProgressRow(
            "Stop it; the servers started are stopped again", self.cancel_requested.emit
        )
        self.progress_label = self.progress_row.label
        self.progress = self.progress_row.bar
        self.progress.setRange(0, 0)  # busy: a server does not say how far it got
        self.progress.setTextVisible(False)
        self.cancel_button = self.progress_row.cancel_button
        return self.progress_row

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if not self._was_shown:
            self._was_shown = True
            self.first_shown.emit()

    def choose_import_file(self) -> None:
        """Ask for the file to import servers from (``open()``: the loop goes on)."""
        dialog = QtWidgets.QFileDialog(self, "Import MCP servers", str(Path.home()), MCP_FILTER)
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.import_chosen.emit(Path(name)))
        if self.file_dialog is not None:
            self.file_dialog.deleteLater()
        self.file_dialog = dialog
        dialog.open()

    # --- what the controller tells the pane ------------------------------------------

    def show_progress(self, text: str) -> None:
        """Work under way that can be cancelled; the buttons that would start more wait."""
        self.progress_label.setText(text)
        self.progress_row.show()
        self._set_busy(True)

    def hide_progress(self) -> None:
        self.progress_row.hide()
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        for button in (self.import_button, self.refresh_button, self.server_view.restart_button):
            button.setEnabled(not busy)

    def say(self, text: str, meaning: str = "info") -> None:
        """Say what came of the last thing asked (empty: say nothing)."""
        say(self.notice, text, meaning)

    @property
    def notice_text(self) -> str:
        return self.notice.text() if self.notice.isVisible() else ""

    def show_error(self, message: str) -> None:
        """The servers could not be listed (``mcp.json`` is not valid)."""
        self.summary.setText("The tools could not be listed.")
        self.say(message, "error")

    def show_overview(self, overview: ToolsOverview) -> None:
        """Every server and tool, keeping the selection where it still exists."""
        self.overview = overview
        selected = self.selected()
        servers = overview.servers
        failed = sum(1 for server in servers if server.state.problem is not None)
        text = (
            f"{len(overview.tools)} tools; {len(servers)} MCP "
            f"server{'' if len(servers) == 1 else 's'}"
        )
        self.summary.setText(text + (f", {failed} failed" if failed else ""))
        self.tree.blockSignals(True)  # the selection is set once, below
        self.tree.clear()
        self._items = {}
        self._fill(overview)
        self.tree.expandAll()
        self.tree.blockSignals(False)
        item = self._items.get(selected) if selected is not None else None
        if item is not None:
            self.tree.setCurrentItem(item)
        self._show_item(item)

    def _fill(self, overview: ToolsOverview) -> None:
        colours = self.palette()
        by_source: dict[str, list[ToolDetail]] = {}
        for tool in overview.tools:
            by_source.setdefault(tool.source, []).append(tool)
        servers_group = self._group(SERVERS_GROUP)
        if not overview.servers:
            none = QtWidgets.QTreeWidgetItem(
                servers_group, ["None yet", "Import servers… or open mcp.json"]
            )
            none.setDisabled(True)
        for server in overview.servers:
            name = server.state.name
            item = QtWidgets.QTreeWidgetItem(servers_group, [name, state_text(server)])
            meaning = "error" if server.state.problem is not None else "success"
            item.setForeground(1, QtGui.QBrush(meaning_colour(meaning, colours)))
            item.setToolTip(1, server.state.problem or "Started and listed its tools")
            self._items[(_SERVER, name)] = item
            for tool in by_source.pop(name, []):
                self._tool_item(item, tool)
        for source, title in ((BUILT_IN, BUILT_IN_GROUP), (USER_SOURCE, USER_GROUP)):
            tools = by_source.pop(source, [])
            if tools:
                group = self._group(title)
                for tool in tools:
                    self._tool_item(group, tool)
        for source, tools in by_source.items():  # a source the pane does not know yet
            group = self._group(source)
            for tool in tools:
                self._tool_item(group, tool)

    def _group(self, title: str) -> QtWidgets.QTreeWidgetItem:
        group = QtWidgets.QTreeWidgetItem(self.tree, [title])
        font = group.font(0)
        font.setBold(True)
        group.setFont(0, font)
        group.setFirstColumnSpanned(True)
        return group

    def _tool_item(self, parent: QtWidgets.QTreeWidgetItem, tool: ToolDetail) -> None:
        item = QtWidgets.QTreeWidgetItem(parent, [tool.name, "risky" if tool.risky else ""])
        item.setToolTip(0, tool.description)
        if tool.risky:
            item.setForeground(1, QtGui.QBrush(meaning_colour("warning", self.palette())))
            item.setToolTip(1, "Asked about under the “risky” review policy")
        self._items[(_TOOL, tool.name)] = item

    def selected(self) -> tuple[int, str] | None:
        """What is selected: (kind, name), or ``None``."""
        current = self.tree.currentItem()
        for key, item in self._items.items():
            if item is current:
                return key
        return None

    def _show_item(self, item: QtWidgets.QTreeWidgetItem | None) -> None:
        key = next((key for key, shown in self._items.items() if shown is item), None)
        overview = self.overview
        if key is None or overview is None:
            self.details.setCurrentIndex(_EMPTY)
            return
        kind, name = key
        if kind == _SERVER:
            self.server_view.show_server(self._server(name))
            self.details.setCurrentIndex(_SERVER)
            self.server_view.log_requested.emit(name)  # its log, read afresh
        else:
            self.tool_view.show_tool(self.tool(name))
            self.details.setCurrentIndex(_TOOL)

    def _server(self, name: str) -> ServerDetail:
        assert self.overview is not None
        return next(server for server in self.overview.servers if server.state.name == name)

    def tool(self, name: str) -> ToolDetail:
        """The tool called ``name`` as last listed."""
        if self.overview is not None:
            for tool in self.overview.tools:
                if tool.name == name:
                    return tool
        raise KeyError(name)

    def show_log(self, name: str, text: str) -> None:
        """The end of the log of the server ``name``, if it is the one shown."""
        if self.server_view.name == name:
            self.server_view.show_log(text)

    # --- for a person's eyes and for tests -----------------------------------------------

    def select_server(self, name: str) -> None:
        self.tree.setCurrentItem(self._items[(_SERVER, name)])

    def select_tool(self, name: str) -> None:
        self.tree.setCurrentItem(self._items[(_TOOL, name)])

    def server_state(self, name: str) -> str:
        """The state the list shows for the server ``name``."""
        return self._items[(_SERVER, name)].text(1)

    def tools_of(self, group: str) -> Sequence[str]:
        """The names listed under ``group``: a server's name or a group's title."""
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            if top is None:
                continue
            parents = [top] + [top.child(i) for i in range(top.childCount())]
            for parent in parents:
                if parent is not None and parent.text(0) == group:
                    children = (parent.child(i) for i in range(parent.childCount()))
                    return [child.text(0) for child in children if child is not None]
        raise KeyError(group)
