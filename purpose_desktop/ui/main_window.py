"""The main window: one tab per pane, with menus, a toolbar and keyboard shortcuts."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from purpose_desktop.config import Paths, Settings, example_team_file, resources_dir
from purpose_desktop.errors import UserError
from purpose_desktop.services.models import Catalog, ModelsService
from purpose_desktop.services.settings import SettingsService
from purpose_desktop.services.start_up import import_shared_modules
from purpose_desktop.services.teams import read_team_file
from purpose_desktop.services.tools_cache import tools_stamp
from purpose_desktop.ui.lazy_pane import LazyPane
from purpose_desktop.ui.memory.pane import MemoryPane
from purpose_desktop.ui.models.controller import ModelsController
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal, set_by_name
from purpose_desktop.ui.run.controller import RunController
from purpose_desktop.ui.settings_dialog import RESTART_NOTE, SettingsDialog
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.team.pane import TeamPane, tools_of
from purpose_desktop.ui.theme import ACTUAL_TEXT_SIZE, apply_text_size, text_size_step
from purpose_desktop.ui.widgets.file_dialogs import TEAM_FILE, ask_to_open

if TYPE_CHECKING:
    from purpose_desktop.engine.costs import PriceTable
    from purpose_desktop.engine.specs import LoadedTeam
    from purpose_desktop.models.catalog import CatalogEntry
    from purpose_desktop.models.router import ModelRouter
    from purpose_desktop.services.front_end import Services
    from purpose_desktop.services.store import StoreReport
    from purpose_desktop.ui.benchmarks.pane import BenchmarkPane
    from purpose_desktop.ui.costs.pane import CostsPane
    from purpose_desktop.ui.models.pane import ModelsPane
    from purpose_desktop.ui.run.pane import RunPane
    from purpose_desktop.ui.tools.pane import ToolsPane


def icon(name: str) -> QtGui.QIcon:
    """One of the application's own icons. (Qt's standard icons cost a noticeable part of
    start-up: PySide6 builds a large Python enum the first time they are used.)"""
    return QtGui.QIcon(str(resources_dir() / "icons" / f"{name}.svg"))


class MainWindow(QtWidgets.QMainWindow):
    closed = Signal()
    """Emitted once the window has closed, so the application can shut down."""
    prices_saved = Signal(object)
    """The :class:`PriceTable` saved in the Costs pane, which runs charge from now on."""
    settings_dialog: SettingsDialog | None = None
    """File ▸ Settings…'s dialog while it is open."""

    def __init__(
        self,
        *,
        paths: Paths,
        settings: Settings,
        controller: RunController,
        tasks: TaskKeeper,
        services: Services | None = None,
        models: Callable[[], ModelRouter] | None = None,
        make_pending_reviews: Callable[[], QtWidgets.QWidget] | None = None,
    ) -> None:
        """``services`` reach the database (without them, nothing is recorded or shown)."""
        # Before any widget is made, this window too: Qt passes a new application font on to
        # the widgets already made only once its event loop runs.
        apply_text_size(settings.text_size)
        super().__init__()
        self.setWindowTitle("Purpose Desktop[*]")  # [*]: unsaved changes to the team
        self.setWindowIcon(icon("purpose-desktop"))
        self.setObjectName("mainWindow")
        self._paths = paths
        # What the models and the runner were made with; a change takes effect at the next
        # start, and until then what is loaded is measured by these.
        self._settings = self._start_settings = settings
        self._tasks = tasks
        self._operations = Operations(tasks)
        self._settings_service = SettingsService(paths)
        self._services = services
        self._models = models
        self.controller = controller
        self._make_pending_reviews = make_pending_reviews

        self.team_pane = TeamPane()
        self.team_pane.use_services(
            self._operations,
            list_tools=tools_of(paths),
            tools_changed=lambda: tools_stamp(paths),
            permissions=None if services is None else services.permissions,
        )
        self.run_tab = LazyPane(self._make_run_pane)
        self.memory_pane = MemoryPane(tasks, None if services is None else services.memory)
        self.costs_tab = LazyPane(self._make_costs_pane)
        self.benchmark_tab = LazyPane(self._make_benchmark_pane)
        self.models_tab = LazyPane(self._make_models_pane)
        self.tools_tab = LazyPane(self._make_tools_pane)
        self._catalog: Sequence[CatalogEntry] | str = ()  # the models, or why they are unknown
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        for pane, title in (
            (self.team_pane, "&Team"),
            (self.run_tab, "&Run"),
            (self.memory_pane, "&Memory"),
            (self.costs_tab, "&Costs"),
            (self.benchmark_tab, "&Benchmarks"),
            (self.models_tab, "M&odels"),
            (self.tools_tab, "Too&ls"),
        ):
            self.tabs.addTab(pane, title)
        self.setCentralWidget(self.tabs)
        self.status_label = QtWidgets.QLabel("")
        self.statusBar().addPermanentWidget(self.status_label)

        self._build_actions()
        self.team_pane.open_button.clicked.connect(self.open_team_dialog)
        self.team_pane.set_teams_dir(paths.teams_dir)
        self.team_pane.team_ready.connect(self._team_saved)
        self.team_pane.dirty_changed.connect(self.setWindowModified)
        self.team_pane.status.connect(lambda text: self.statusBar().showMessage(text, 5000))
        # GGUF files dropped anywhere on the window are added through the models pane.
        self._models_service = ModelsService(
            paths.models_dir, models, store=None if services is None else services.store
        )
        self.models_controller = ModelsController(
            lambda: self.models_pane,
            window=self,
            service=self._models_service,
            settings=lambda: self._settings,
            change_settings=self.change_settings,
            refresh=self.refresh_models,
            tasks=tasks,
        )
        self.models_controller.wants_attention.connect(
            lambda: self.tabs.setCurrentWidget(self.models_tab)
        )
        controller.team_changed.connect(self.team_pane.show_team)
        controller.team_changed.connect(lambda team: self.memory_pane.set_team(team.spec.name))
        controller.busy_changed.connect(self._busy_changed)
        controller.busy_changed.connect(self._run_pane_for_run)
        controller.finished.connect(self._run_recorded)
        self._file_dialog: QtWidgets.QFileDialog | None = None
        self._started = False  # the start-up work has imported what it shares
        self._files_to_add: list[Path] = []
        self._closing_anyway = False
        self.has_closed = False
        self._restore_layout()

    # --- panes made when first shown ---------------------------------------------------

    @property
    def run_pane(self) -> RunPane:
        return cast("RunPane", self.run_tab.pane())

    def _run_pane_for_run(self, busy: bool) -> None:
        """However a run is started, its events find the run pane made."""
        if busy:
            self.run_tab.pane()

    def _make_run_pane(self) -> RunPane:
        from purpose_desktop.ui.run.pane import RunPane

        pane = RunPane(self.controller)
        pane.set_team_chooser(self.open_team_dialog)
        # A run takes the team as saved: changes still being made in the Team pane are saved
        # (or discarded) first, so what runs is what the person sees there.
        pane.set_before_start(self.team_pane.ask_before_leaving)
        if self._make_pending_reviews is not None:
            pane.set_pending_reviews_widget(self._make_pending_reviews())
        return pane

    @property
    def models_pane(self) -> ModelsPane:
        return cast("ModelsPane", self.models_tab.pane())

    def _make_models_pane(self) -> ModelsPane:
        from purpose_desktop.ui.models.pane import ModelsPane

        pane = ModelsPane()
        pane.refresh_button.clicked.connect(self.refresh_models)
        self.models_controller.attach(pane)
        self._show_catalog(pane)
        return pane

    def _show_catalog(self, pane: ModelsPane) -> None:
        if isinstance(self._catalog, str):
            pane.show_error(self._catalog)
        elif self._catalog:
            pane.show_entries(self._catalog)

    @property
    def tools_pane(self) -> ToolsPane:
        return cast("ToolsPane", self.tools_tab.pane())

    def _make_tools_pane(self) -> ToolsPane:
        from purpose_desktop.services.tools import ToolsService
        from purpose_desktop.ui.tools.controller import ToolsController
        from purpose_desktop.ui.tools.pane import ToolsPane

        make = None if self._services is None else self._services.tools
        service = ToolsService(self._paths) if make is None else make()
        # While a run is under way, a restart leaves the servers it uses alone.
        self.tools_controller = ToolsController(
            service, self._tasks, runs_busy=lambda: self.controller.running, parent=self
        )
        pane = ToolsPane(service.config_file)
        self.tools_controller.attach(pane)
        return pane

    @property
    def costs_pane(self) -> CostsPane:
        return cast("CostsPane", self.costs_tab.pane())

    @property
    def benchmark_pane(self) -> BenchmarkPane:
        return cast("BenchmarkPane", self.benchmark_tab.pane())

    def _make_costs_pane(self) -> CostsPane:
        from purpose_desktop.ui.costs.pane import CostsPane

        pane = CostsPane(self._tasks, None if self._services is None else self._services.costs)
        pane.prices_saved.connect(self._prices_saved)
        return pane

    def _prices_saved(self, prices: PriceTable) -> None:
        self.prices_saved.emit(prices)

    def _make_benchmark_pane(self) -> BenchmarkPane:
        from purpose_desktop.services.benchmarks import BenchmarkService, BenchmarkSetup
        from purpose_desktop.ui.benchmarks.controller import BenchmarkController
        from purpose_desktop.ui.benchmarks.pane import BenchmarkPane

        paths = self._paths
        # Without the model manager there is nothing to run a benchmark on: results only.
        setup = (
            None
            if self._models is None
            else BenchmarkSetup(
                models=self._models,
                builtin_suites=resources_dir() / "suites",
                user_suites=paths.suites_dir,
                sample_teams=resources_dir() / "teams",
                user_teams=paths.teams_dir,
                max_answer_tokens=self._start_settings.max_answer_tokens,
            )
        )
        store = None if self._services is None else self._services.store
        service = BenchmarkService(paths.benchmarks_dir, store, setup)
        return BenchmarkPane(BenchmarkController(self._tasks, service))

    def _run_recorded(self, _outcome: object) -> None:
        """A run ended, recorded with its costs and what it learned: the panes that show
        them read them again (each when it is next shown, if it is not in view)."""
        self.memory_pane.memory_changed()
        if self.costs_tab.is_made:  # otherwise it reads them when it is first shown
            self.costs_pane.costs_changed()

    # --- imports and exports (File menu) ------------------------------------------------

    def _make_exchange(self, services: Services | None) -> None:
        from purpose_desktop.ui.exchange.controller import Exchange, ExchangeServices
        from purpose_desktop.ui.exchange.menu import exchange_actions

        self.exchange = Exchange(
            self,
            self._tasks,
            None if services is None else ExchangeServices.over(services),
            log_file=self._paths.log_file,
            chosen_run=self._run_chosen_in_list,
            memory_team=self._memory_team_shown,
        )
        self.exchange_actions = exchange_actions(self.exchange, self)
        self.controller.team_changed.connect(self.exchange.set_team)
        self.controller.bridge.occurred.connect(self.exchange.follow)
        self.exchange.run_imported.connect(lambda run: self._show_run_in_list(run.id))
        self.exchange.memory_imported.connect(self.memory_pane.memory_changed)
        self.exchange.team_imported.connect(
            lambda path: self.team_pane.ask_before_leaving(lambda: self.load_team(path))
        )

    def _memory_team_shown(self) -> str | None:
        browser = self.memory_pane.browser
        return None if browser is None else browser.team

    def _run_chosen_in_list(self) -> str | None:
        """The run selected in the Run pane's Runs list, while that list is in view."""
        if not self.run_tab.is_made:
            return None
        pane = self.run_pane
        if pane.details_tabs.currentWidget() is not pane.runs_list:
            return None
        run = pane.runs_list.selected_run()
        return None if run is None else run.id

    def _show_run_in_list(self, run_id: str) -> None:
        """Show the Runs list, read afresh, with the run ``run_id`` selected."""
        self.tabs.setCurrentWidget(self.run_tab)
        pane, controller = self.run_pane, self.controller

        def listed(_runs: object) -> None:
            controller.runs_listed.disconnect(listed)
            pane.runs_list.select(run_id)

        controller.runs_listed.connect(listed)  # after the list's own: it is filled first
        pane.details_tabs.setCurrentWidget(pane.runs_list)
        pane.refresh_runs()

    # --- actions ---------------------------------------------------------------------

    def _build_actions(self) -> None:
        self._make_exchange(self._services)
        self.open_action = self._action("&Open team…", "Ctrl+O", self.open_team_dialog, "open")
        self.run_action = self._action("&Run task", "Ctrl+Return", self._run_task, "run")
        self.pause_action = self._action("&Pause run", "Ctrl+P", self._toggle_pause)
        self.pause_action.setToolTip("Pause before the next step, or go on (Ctrl+P)")
        self.pause_action.setEnabled(False)
        self.controller.paused_changed.connect(
            lambda paused: self.pause_action.setText("&Continue run" if paused else "&Pause run")
        )
        self.cancel_action = self._action("&Cancel run", "Escape", self.controller.cancel, "cancel")
        self.cancel_action.setEnabled(False)
        self.new_team_action = self._team_action("&New team", "Ctrl+N", self.team_pane.new_team)
        self.save_team_action = self._team_action("&Save team", "Ctrl+S", self.team_pane.save)
        self.save_team_as_action = self._team_action(
            "Save team &as…", "Ctrl+Shift+S", self.team_pane.save_as
        )
        self.duplicate_team_action = self._team_action(
            "&Duplicate team", "", self.team_pane.duplicate
        )
        self.delete_team_action = self._team_action("De&lete team…", "", self.team_pane.delete)
        self.settings_action = self._action("Settin&gs…", "Ctrl+,", self.open_settings)
        self.quit_action = self._action("&Quit", "Ctrl+Q", self.close)
        self._build_menus()
        self._build_toolbar()

    def _action(
        self, text: str, shortcut: str, slot: Callable[[], object], icon_name: str | None = None
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if icon_name is not None:
            action.setIcon(icon(icon_name))
        if shortcut:
            set_by_name(action, "shortcut", shortcut)
        action.triggered.connect(lambda _=False: slot())
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for action in (
            self.new_team_action,
            self.open_action,
            self.save_team_action,
            self.save_team_as_action,
            self.duplicate_team_action,
            self.delete_team_action,
        ):
            file_menu.addAction(action)
        self.exchange_actions.add_to(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = self.menuBar().addMenu("&Run")
        for action in (self.run_action, self.pause_action, self.cancel_action):
            run_menu.addAction(action)
        view_menu = self.menuBar().addMenu("&View")
        for index in range(self.tabs.count()):
            view_menu.addAction(
                self._action(
                    self.tabs.tabText(index).replace("&", ""),
                    f"Ctrl+{index + 1}",
                    functools.partial(self.tabs.setCurrentIndex, index),
                )
            )
        view_menu.addSeparator()
        self._add_text_size_actions(view_menu)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&About Purpose Desktop", "", self._about))

    def _add_text_size_actions(self, menu: QtWidgets.QMenu) -> None:
        """View → Larger text, Smaller text and Actual size, with the keys browsers use."""
        for text, keys, steps in (
            ("&Larger text", ("Ctrl++", "Ctrl+="), 1),
            ("&Smaller text", ("Ctrl+-",), -1),
            ("&Actual size", ("Ctrl+0",), 0),
        ):
            action = self._action(text, "", functools.partial(self.change_text_size, steps))
            action.setShortcuts([QtGui.QKeySequence(key) for key in keys])
            menu.addAction(action)

    @property
    def text_size(self) -> int:
        """The size of the app's text, in percent of the system's."""
        return self._settings.text_size

    def change_text_size(self, steps: int) -> None:
        """Make the text ``steps`` sizes larger (smaller when negative), or the system's size
        when ``steps`` is 0; the size is kept in the settings for the next start."""
        size = text_size_step(self.text_size, steps) if steps else ACTUAL_TEXT_SIZE
        if size != self.text_size:
            apply_text_size(size)
            self.change_settings(text_size=size)

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        set_by_name(toolbar, "toolButtonStyle", "ToolButtonTextBesideIcon")
        for action in (self.open_action, self.run_action, self.cancel_action):
            toolbar.addAction(action)

    def _team_action(self, text: str, shortcut: str, slot: Callable[[], None]) -> QtGui.QAction:
        """A File menu action on the team pane, which it brings to the front."""

        def trigger() -> None:
            self.tabs.setCurrentWidget(self.team_pane)
            slot()

        return self._action(text, shortcut, trigger)

    def _team_saved(self, team: LoadedTeam) -> None:
        """The team pane saved a valid team: runs use it, and it reopens next time."""
        self.controller.set_team(team)
        if team.source is not None:
            self.change_settings(last_team_file=str(team.source))

    def _run_task(self) -> None:
        self.tabs.setCurrentWidget(self.run_tab)
        self.run_pane.start_run()

    def _toggle_pause(self) -> None:
        self.tabs.setCurrentWidget(self.run_tab)
        self.run_pane.toggle_pause()

    def _busy_changed(self, busy: bool) -> None:
        self.pause_action.setEnabled(self.controller.can_pause)
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

    def add_files_when_started(self, files: Sequence[Path]) -> None:
        """Add the model ``files`` (the app was opened with them) once the start-up work has
        begun, or now if it has."""
        if self._started:
            self.models_controller.add_files(files)
        else:
            self._files_to_add.extend(files)

    def start_background_work(self) -> None:
        """Open the initial team, describe the models and look for interrupted runs, after
        the window is on screen."""
        self._tasks.start(self._start_background_work(), "start-up work")

    async def _start_background_work(self) -> None:
        # What the work below needs on several threads at once is imported first, on one
        # thread: two threads importing one package at once can break its import.
        await import_shared_modules()
        self._started = True
        if self._files_to_add:
            self.models_controller.add_files(self._files_to_add)
            self._files_to_add = []
        self._tasks.start(self.open_initial_team(), "open initial team")
        self.refresh_models()
        self.models_controller.start()
        if self._services is not None:
            self._operations.run(
                "look at the store",
                self._services.store.report,
                done=self._store_reported,
                failed=lambda exc: self._warn("The database cannot be used", str(exc)),
            )

    def _store_reported(self, report: StoreReport) -> None:
        """Offer to resume interrupted runs; say so if the database had to be replaced."""
        if report.recovery_notice is not None:
            self._warn("The database was damaged", report.recovery_notice)
        if report.interrupted:
            self.run_pane.interrupted_notice.show_runs(report.interrupted)
            self.tabs.setCurrentWidget(self.run_tab)

    def _warn(self, title: str, message: str) -> None:
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Warning,
            title,
            message,
            QtWidgets.QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("storeWarning")
        box.open()  # not exec(): the event loop, and any run, must go on

    async def stop_background_work(self) -> None:
        """Cancel every task the window started (runs included) and wait for them to end."""
        await self._tasks.cancel_all()

    # --- teams ------------------------------------------------------------------------

    def open_team_dialog(self) -> None:
        """Ask for a team file without blocking the event loop (``open()``, not ``exec()``),
        once the team pane has asked about unsaved changes."""
        self.team_pane.ask_before_leaving(self._choose_team_file)

    def _choose_team_file(self) -> None:
        self._file_dialog = ask_to_open(
            self, "Open team", self._paths.teams_dir, TEAM_FILE, self.load_team
        )

    def load_team(self, path: Path) -> asyncio.Task[None]:
        """Load a team file in the background and make it the current team."""
        return self._tasks.start(self._load_team(path), f"load team {path.name}")

    async def _load_team(self, path: Path) -> None:
        from purpose_desktop.ui.team.pane import preload_editor

        # The team pane builds its editor when this team arrives: its modules are imported
        # on the same worker thread.
        team = await read_team_file(path, warm_up=preload_editor)
        self.controller.set_team(team)
        self.statusBar().showMessage(f"Opened team {team.spec.name}", 5000)
        self._settings = self._settings.replace(last_team_file=str(path))
        await self._settings_service.save(self._settings)

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
        made = self.models_tab.is_made  # otherwise it shows the models when it is made
        if made:
            self.models_pane.refresh_button.setEnabled(False)
        try:
            # The memory budget changes at once (Models pane); the context size at a start.
            catalog: Catalog = await self._models_service.catalog(
                self._start_settings.context_size, self._settings.model_memory_mib
            )
            self._catalog = catalog.entries
            self.team_pane.set_catalog(catalog.entries, catalog.budget)
        except UserError as exc:
            self._catalog = str(exc)
        finally:
            if self.models_tab.is_made:
                self._show_catalog(self.models_pane)
                self.models_pane.refresh_button.setEnabled(True)

    def open_settings(self) -> SettingsDialog:
        """File ▸ Settings…: the dialog, opened without blocking the event loop."""
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            self.settings_dialog.activateWindow()
            return self.settings_dialog
        dialog = SettingsDialog(self._settings, self)
        dialog.changed.connect(self._settings_changed)
        dialog.finished.connect(lambda _result: self._settings_closed(dialog))
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def _settings_closed(self, dialog: SettingsDialog) -> None:
        self.settings_dialog = None
        dialog.deleteLater()

    def _settings_changed(self, changes: dict[str, Any]) -> None:
        self.change_settings(**changes).add_done_callback(self._settings_saved)

    def _settings_saved(self, saving: asyncio.Task[None]) -> None:
        # Said once the file is written: a save that fails is reported as an error instead.
        if not saving.cancelled() and saving.exception() is None:
            self.statusBar().showMessage(f"Settings saved. {RESTART_NOTE}", 10000)

    def change_settings(self, **changes: Any) -> asyncio.Task[None]:
        """Change some settings and save them in the background; the task saving them."""
        self._settings = self._settings.replace(**changes)
        return self._tasks.start(self._settings_service.save(self._settings), "save settings")

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

    def bring_to_front(self) -> None:
        """Show the window over the others, restored if it was minimised (another start of
        the app handed something to it). The window manager may only flash it instead."""
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def close_anyway(self) -> None:
        """Close without asking about unsaved team changes: Ctrl+C in the terminal or a
        termination signal, where nobody may be there to answer."""
        self._closing_anyway = True
        self.close()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self.team_pane.is_dirty and not self._closing_anyway:
            # Asked without blocking; close() comes back here once saved or discarded.
            event.ignore()
            self.tabs.setCurrentWidget(self.team_pane)
            self.team_pane.ask_before_leaving(self.close)
            return
        store = self._layout_store()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("state", self.saveState())
        store.setValue("tab", self.tabs.currentIndex())
        store.sync()
        super().closeEvent(event)
        self.has_closed = True
        self.closed.emit()
