"""The main window: one tab per pane, with menus, a toolbar and keyboard shortcuts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.config import (
    Paths,
    Settings,
    example_team_file,
    resources_dir,
    save_settings,
)
from purpose_desktop.errors import UserError
from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.ui.panes.empty_pane import EmptyPane
from purpose_desktop.ui.panes.models_pane import ModelsPane
from purpose_desktop.ui.panes.run_pane import RunPane
from purpose_desktop.ui.panes.team_pane import TeamPane
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal, set_by_name
from purpose_desktop.ui.run_controller import RunController
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import LoadedTeam
    from purpose_desktop.store.opening import StoreReport

TEAM_FILE_FILTER = "Team files (*.yaml *.yml *.toml);;All files (*)"
ListModels = Callable[[], Sequence[CatalogEntry]]
ReportOnStore = Callable[[], Awaitable["StoreReport"]]


def icon(name: str) -> QtGui.QIcon:
    """One of the application's own icons. (Qt's standard icons cost a noticeable part of
    start-up: PySide6 builds a large Python enum the first time they are used.)"""
    return QtGui.QIcon(str(resources_dir() / "icons" / f"{name}.svg"))


def _read_team(path: Path) -> LoadedTeam:
    # Imported here, on a worker thread: pydantic and yaml take a noticeable time to import.
    from purpose_desktop.engine.team_file import load_team

    return load_team(path)


class MainWindow(QtWidgets.QMainWindow):
    closed = Signal()
    """Emitted once the window has closed, so the application can shut down."""

    def __init__(
        self,
        *,
        paths: Paths,
        settings: Settings,
        controller: RunController,
        tasks: TaskKeeper,
        list_models: ListModels,
        report_on_store: ReportOnStore | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Purpose Desktop")
        self.setWindowIcon(icon("purpose-desktop"))
        self.setObjectName("mainWindow")
        self._paths = paths
        self._settings = settings
        self._tasks = tasks
        self._list_models = list_models
        self._report_on_store = report_on_store
        self.controller = controller

        self.team_pane = TeamPane()
        self.run_pane = RunPane(controller)
        self.memory_pane = EmptyPane(
            "Memory",
            "Nothing learned yet. Heuristics and past experiences the team gathers from its "
            "runs will be listed here.",
        )
        self.costs_pane = EmptyPane(
            "Costs",
            "No model calls yet. Tokens, speed and money per agent and model will be "
            "summed up here.",
        )
        self.models_pane = ModelsPane()
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        for pane, title in (
            (self.team_pane, "&Team"),
            (self.run_pane, "&Run"),
            (self.memory_pane, "&Memory"),
            (self.costs_pane, "&Costs"),
            (self.models_pane, "M&odels"),
        ):
            self.tabs.addTab(pane, title)
        self.setCentralWidget(self.tabs)
        self.status_label = QtWidgets.QLabel("")
        self.statusBar().addPermanentWidget(self.status_label)

        self._build_actions()
        self.team_pane.open_button.clicked.connect(self.open_team_dialog)
        self.models_pane.refresh_button.clicked.connect(self.refresh_models)
        controller.team_changed.connect(self.team_pane.show_team)
        controller.busy_changed.connect(self._busy_changed)
        self._file_dialog: QtWidgets.QFileDialog | None = None
        self.has_closed = False
        self._restore_layout()

    # --- actions ---------------------------------------------------------------------

    def _build_actions(self) -> None:
        self.open_action = QtGui.QAction(icon("open"), "&Open team…", self)
        set_by_name(self.open_action, "shortcut", "Ctrl+O")
        self.open_action.triggered.connect(self.open_team_dialog)
        self.run_action = QtGui.QAction(icon("run"), "&Run task", self)
        set_by_name(self.run_action, "shortcut", "Ctrl+Return")
        self.run_action.triggered.connect(self._run_task)
        self.cancel_action = QtGui.QAction(icon("cancel"), "&Cancel run", self)
        set_by_name(self.cancel_action, "shortcut", "Escape")
        self.cancel_action.setEnabled(False)
        self.cancel_action.triggered.connect(self.controller.cancel)
        quit_action = QtGui.QAction("&Quit", self)
        set_by_name(quit_action, "shortcut", "Ctrl+Q")
        quit_action.triggered.connect(self.close)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        run_menu = self.menuBar().addMenu("&Run")
        run_menu.addAction(self.run_action)
        run_menu.addAction(self.cancel_action)
        view_menu = self.menuBar().addMenu("&View")
        for index in range(self.tabs.count()):
            action = QtGui.QAction(self.tabs.tabText(index).replace("&", ""), self)
            set_by_name(action, "shortcut", f"Ctrl+{index + 1}")
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QtGui.QAction("&About Purpose Desktop", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        set_by_name(toolbar, "toolButtonStyle", "ToolButtonTextBesideIcon")
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.run_action)
        toolbar.addAction(self.cancel_action)

    def _run_task(self) -> None:
        self.tabs.setCurrentWidget(self.run_pane)
        self.run_pane.start_run()

    def _busy_changed(self, busy: bool) -> None:
        self.cancel_action.setEnabled(busy)
        self.run_action.setEnabled(not busy)
        self.status_label.setText("Running…" if busy else "")

    def _about(self) -> None:
        from purpose_desktop import __version__

        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("About Purpose Desktop")
        box.setText(
            f"<b>Purpose Desktop {__version__}</b><br>Teams of AI agents on small local models."
            f"<br><br>Data folder: {self._paths.home}"
        )
        box.open()

    # --- background work ------------------------------------------------------------

    def start_background_work(self) -> None:
        """Open the initial team, describe the models and look for interrupted runs, after
        the window is on screen."""
        self._tasks.start(self.open_initial_team(), "open initial team")
        self.refresh_models()
        if self._report_on_store is not None:
            self._tasks.start(self._look_at_store(self._report_on_store), "look at the store")

    async def _look_at_store(self, report_on_store: ReportOnStore) -> None:
        """Offer to resume interrupted runs; say so if the database had to be replaced."""
        try:
            report = await report_on_store()
        except UserError as exc:
            self._warn("The database cannot be used", str(exc))
            return
        if report.recovery_notice is not None:
            self._warn("The database was damaged", report.recovery_notice)
        if report.interrupted:
            self.run_pane.interrupted_notice.show_runs(report.interrupted)
            self.tabs.setCurrentWidget(self.run_pane)

    def _warn(self, title: str, message: str) -> None:
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, message,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setObjectName("storeWarning")
        box.open()  # not exec(): the event loop, and any run, must go on

    async def stop_background_work(self) -> None:
        """Cancel every task the window started (runs included) and wait for them to end."""
        await self._tasks.cancel_all()

    # --- teams ------------------------------------------------------------------------

    def open_team_dialog(self) -> None:
        """Ask for a team file without blocking the event loop (``open()``, not ``exec()``)."""
        start = self._paths.teams_dir
        dialog = QtWidgets.QFileDialog(self, "Open team", str(start), TEAM_FILE_FILTER)
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.load_team(Path(name)))
        self._file_dialog = dialog
        dialog.open()

    def load_team(self, path: Path) -> asyncio.Task[None]:
        """Load a team file in the background and make it the current team."""
        return self._tasks.start(self._load_team(path), f"load team {path.name}")

    async def _load_team(self, path: Path) -> None:
        team = await asyncio.to_thread(_read_team, path)
        self.controller.set_team(team)
        self.statusBar().showMessage(f"Opened team {team.spec.name}", 5000)
        self._settings = self._settings.replace(last_team_file=str(path))
        await asyncio.to_thread(save_settings, self._paths, self._settings)

    async def open_initial_team(self) -> None:
        """Open the last team used, or the sample team on first launch."""
        last = self._settings.last_team_file
        if last:
            try:
                await self._load_team(Path(last))
                return
            except UserError as exc:
                self.statusBar().showMessage(f"Could not reopen the last team: {exc}", 10000)
        await self._load_team(example_team_file())

    # --- models -----------------------------------------------------------------------

    def refresh_models(self) -> asyncio.Task[None]:
        return self._tasks.start(self._refresh_models(), "list models")

    async def _refresh_models(self) -> None:
        self.models_pane.refresh_button.setEnabled(False)
        try:
            entries = await asyncio.to_thread(self._list_models)
            self.models_pane.show_entries(entries)
        except UserError as exc:
            self.models_pane.show_error(str(exc))
        finally:
            self.models_pane.refresh_button.setEnabled(True)

    # --- layout -----------------------------------------------------------------------

    def _layout_store(self) -> QtCore.QSettings:
        return QtCore.QSettings(
            str(self._paths.window_state_file), QtCore.QSettings.Format.IniFormat
        )

    def _restore_layout(self) -> None:
        store = self._layout_store()
        geometry = store.value("geometry")
        if isinstance(geometry, QtCore.QByteArray) and self.restoreGeometry(geometry):
            state = store.value("state")
            if isinstance(state, QtCore.QByteArray):
                self.restoreState(state)
        else:
            self.resize(1100, 720)
        tab = str(store.value("tab", 0))
        self.tabs.setCurrentIndex(int(tab) if tab.isdigit() else 0)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        store = self._layout_store()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("state", self.saveState())
        store.setValue("tab", self.tabs.currentIndex())
        store.sync()
        super().closeEvent(event)
        self.has_closed = True
        self.closed.emit()
