"""What the Tools pane does, apart from showing it: listing the servers and tools, restarting
the servers, importing servers from another app's file, reading a server's log, opening
``mcp.json``, and the test call of a tool.

Every call to :class:`~purpose_desktop.services.tools.ToolsService` goes through
:class:`~purpose_desktop.ui.operations.Operations`, so nothing here waits on the event loop,
and a listing asked for again replaces the one under way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from purpose_desktop.errors import UserError
from purpose_desktop.ui.on_loop import call_on_loop
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.services.tools import ImportReport, ToolsOverview, ToolsService
    from purpose_desktop.ui.tools.call_dialog import ToolCallDialog
    from purpose_desktop.ui.tools.pane import ToolsPane

LISTING: Final = "list the tools"
CALLING: Final = "test call"
LOG: Final = "read a server's log"


def open_in_editor(path: Path) -> None:
    """Open ``path`` with the program the desktop opens such files with."""
    QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))


class ToolsController(QtCore.QObject):
    """The Tools pane's work. ``runs_busy`` says whether a run is under way: a restart then
    leaves the servers the runs use alone. ``open_file`` opens ``mcp.json`` in an editor."""

    def __init__(
        self,
        service: ToolsService,
        tasks: TaskKeeper,
        *,
        runs_busy: Callable[[], bool] = lambda: False,
        open_file: Callable[[Path], None] = open_in_editor,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._operations = Operations(tasks)
        self._runs_busy = runs_busy
        self._open_file = open_file
        self._pane: ToolsPane | None = None
        self.dialog: ToolCallDialog | None = None
        self._call_task: asyncio.Task[None] | None = None
        self._listing: asyncio.Task[None] | None = None

    @property
    def pane(self) -> ToolsPane:
        assert self._pane is not None, "attach() the pane first"
        return self._pane

    def attach(self, pane: ToolsPane) -> None:
        """Take ``pane``'s requests; it is listed when first shown."""
        self._pane = pane
        pane.refresh_requested.connect(self.refresh)
        pane.import_chosen.connect(self.import_servers)
        pane.open_config_requested.connect(self.open_config)
        pane.cancel_requested.connect(self.cancel)
        pane.first_shown.connect(lambda: call_on_loop(pane, self.refresh))
        pane.server_view.restart_requested.connect(self.restart)
        pane.server_view.log_requested.connect(self.read_log)
        pane.tool_view.call_requested.connect(self.open_call)

    # --- listing ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read ``mcp.json`` again, start its servers and list every tool."""
        self.pane.show_progress("Starting the servers of mcp.json and listing their tools…")
        self._list(self.service.overview, self._listed)

    def _list(
        self, work: Callable[[], Awaitable[ToolsOverview]], done: Callable[[ToolsOverview], None]
    ) -> None:
        """Start listing (a newer listing replaces one under way)."""
        self._listing = self._operations.run(
            LISTING, work, done=done, failed=self._not_listed, latest=True
        )

    def restart(self, name: str) -> None:
        """Stop the servers (those the runs use too, unless a run is under way) and start
        them again; ``name`` is the server the person asked about."""
        runs = not self._runs_busy()
        self.pane.show_progress(f"Restarting {name}…")
        self._list(
            lambda: self.service.restart(runs=runs),
            lambda overview: self._restarted(name, overview, runs),
        )

    def _restarted(self, name: str, overview: ToolsOverview, runs: bool) -> None:
        self._listed(overview)
        server = next((s for s in overview.servers if s.state.name == name), None)
        if server is None:
            self.pane.say(f"There is no server '{name}' in mcp.json any more.", "warning")
            return
        if server.state.problem is not None:
            said, meaning = f"{name} did not start again: {server.state.problem}", "error"
        else:
            said, meaning = (
                f"{name} started again and offers {server.state.tools} tools.",
                "success",
            )
        if self.service.stops_run_servers:
            said += (
                " The servers runs use were stopped too; a run starts them again when it "
                "needs them."
                if runs
                else " A run is under way: the servers it uses were left running."
            )
        self.pane.say(said, meaning)

    def _listed(self, overview: ToolsOverview) -> None:
        self.pane.hide_progress()
        self.pane.show_overview(overview)
        if overview.problems:
            self.pane.say("\n".join(overview.problems), "warning")
        else:
            self.pane.say("")

    def _not_listed(self, exc: UserError) -> None:
        self.pane.hide_progress()
        self.pane.show_error(str(exc))

    def cancel(self) -> None:
        """Stop the listing (or restart) under way; the pane says so once the servers it
        started have stopped."""
        task = self._listing
        if task is None or task.done():
            self.pane.hide_progress()
            return
        self.pane.show_progress("Cancelling: stopping the servers that were started…")
        self.pane.cancel_button.setEnabled(False)
        task.add_done_callback(lambda _task: self._listing_cancelled())
        task.cancel()

    def _listing_cancelled(self) -> None:
        self.pane.hide_progress()
        self.pane.cancel_button.setEnabled(True)
        self.pane.say("Cancelled: the servers that were started are stopped again.", "warning")

    # --- importing and mcp.json ----------------------------------------------------------

    def import_servers(self, file: Path) -> None:
        """Merge the servers of ``file`` into ``mcp.json``, then list them all again."""
        self.pane.show_progress(f"Importing the servers of {file.name}…")
        self._operations.run(
            "import servers",
            lambda: self.service.import_servers(file),
            done=lambda report: self._imported(file, report),
            failed=self._not_imported,
        )

    def _imported(self, file: Path, report: ImportReport) -> None:
        parts = []
        if report.added:
            parts.append(f"added {', '.join(report.added)}")
        if report.replaced:
            parts.append(f"replaced {', '.join(report.replaced)}")
        if report.unchanged:
            parts.append(f"already had {', '.join(report.unchanged)}")
        said = "; ".join(parts) or "found no servers in it"
        self.pane.hide_progress()
        if not (report.added or report.replaced):
            self.pane.say(f"Imported {file.name}: {said}.", "info")
            return
        # mcp.json changed: the runs' servers are stopped so that runs read it anew.
        runs = not self._runs_busy()
        self.pane.show_progress("Starting the servers of mcp.json and listing their tools…")
        self._list(
            lambda: self.service.restart(runs=runs),
            lambda overview: self._listed_after_import(file, said, overview),
        )

    def _listed_after_import(self, file: Path, said: str, overview: ToolsOverview) -> None:
        self._listed(overview)
        problems = "\n".join(overview.problems)
        self.pane.say(
            f"Imported {file.name}: {said}." + (f"\n{problems}" if problems else ""),
            "warning" if problems else "success",
        )

    def _not_imported(self, exc: UserError) -> None:
        self.pane.hide_progress()
        self.pane.say(f"Nothing was imported. {exc}", "error")

    def open_config(self) -> None:
        """Open ``mcp.json`` in the system's editor, made first if there is none."""
        self._operations.run(
            "make mcp.json",
            self.service.make_config_file,
            done=self._open_file,
            failed=lambda exc: self.pane.say(str(exc), "error"),
        )

    # --- a server's log ------------------------------------------------------------------

    def read_log(self, name: str) -> None:
        self._operations.run(
            LOG,
            lambda: self.service.server_log(name),
            done=lambda text: self.pane.show_log(name, text),
            failed=lambda exc: self.pane.show_log(name, str(exc)),
            latest=True,
        )

    # --- a test call ---------------------------------------------------------------------

    def open_call(self, name: str) -> ToolCallDialog:
        """Open the dialog that calls the tool ``name`` by hand (one at a time)."""
        from purpose_desktop.ui.tools.call_dialog import ToolCallDialog

        tool = self.pane.tool(name)
        if self.dialog is not None:
            self.dialog.reject()
            self.dialog.deleteLater()
        dialog = ToolCallDialog(tool.name, tool.description, tool.schema, self.pane)
        dialog.call_requested.connect(lambda arguments: self._call(dialog, arguments))
        dialog.cancel_requested.connect(lambda: self._cancel_call(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _call(self, dialog: ToolCallDialog, arguments: str) -> None:
        dialog.show_calling()
        self._call_task = self._operations.run(
            CALLING,
            lambda: self.service.call(dialog.name, arguments),
            done=dialog.show_result,
            failed=lambda exc: dialog.show_failure(str(exc)),
            latest=True,
        )

    def _cancel_call(self, dialog: ToolCallDialog) -> None:
        """Cancel the call; the dialog says so once the server it started has stopped."""
        task = self._call_task
        if task is None or task.done():
            dialog.show_cancelled()
            return
        dialog.show_cancelling()
        task.add_done_callback(lambda _task: self._call_cancelled(dialog))
        task.cancel()

    def _call_cancelled(self, dialog: ToolCallDialog) -> None:
        if self.dialog is dialog:  # not replaced (and deleted) by another meanwhile
            dialog.show_cancelled()
