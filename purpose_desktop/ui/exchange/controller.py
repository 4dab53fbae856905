"""What the File menu's imports and exports do: ask for a file, hand the work to the service
the CLI uses for the same command (on worker threads, through :class:`Operations`), and say
what came of it in the status bar, in the CLI's words.

A failure (a malformed file, a run that is not there, a database another program holds) is
shown in the app's error dialog and the status bar with the service's message, the same the
CLI prints; an import checks the whole file before it writes anything, so nothing changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from purpose_desktop.errors import UserError
from purpose_desktop.services import exchange_text
from purpose_desktop.ui.error_dialog import error_box
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtWidgets, Signal
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.team.files import file_stem
from purpose_desktop.ui.widgets.file_dialogs import (
    MEMORY_FILE,
    REPORT_FILE,
    RUN_FILE,
    TEAM_FILE,
    FileKind,
    ask_to_open,
    ask_to_save,
)

if TYPE_CHECKING:
    import asyncio

    from purpose_desktop.engine.events import Event
    from purpose_desktop.engine.recording.run_records import RunSummary
    from purpose_desktop.engine.specs import LoadedTeam
    from purpose_desktop.services.front_end import Services
    from purpose_desktop.services.memory_files import MemoryFilesService
    from purpose_desktop.services.run_report import RunReportService
    from purpose_desktop.services.runs import RunsService
    from purpose_desktop.services.teams import TeamsService

T = TypeVar("T")

NOT_RECORDED = "Runs and memory are not kept in a database here, so there is nothing to {}."
NO_RUN = "No run to {}: run a task, or select one in the Run pane's Runs list."
NO_TEAM = "No team is open to export."


@dataclass(frozen=True)
class ExchangeServices:
    """The services the File menu's imports and exports go through, over one database."""

    runs: RunsService
    memory_files: MemoryFilesService
    teams: TeamsService
    reports: RunReportService

    @classmethod
    def over(cls, services: Services) -> ExchangeServices:
        from purpose_desktop.services.memory_files import MemoryFilesService
        from purpose_desktop.services.run_report import RunReportService
        from purpose_desktop.services.runs import RunsService
        from purpose_desktop.services.teams import TeamsService

        store = services.store
        return cls(
            RunsService(store),
            MemoryFilesService(store),
            TeamsService(store),
            RunReportService(store, services.costs),
        )


class Exchange(QtCore.QObject):
    """The imports and exports of one window. What to export comes from ``chosen_run`` (the
    run selected in the Runs list, if any), the run last shown (:meth:`follow`), the current
    team (:meth:`set_team`) and ``memory_team`` (the team the Memory pane shows); what was
    imported is announced through the signals, for the panes to show it."""

    run_imported = Signal(object)
    """The :class:`RunSummary` of a run just imported."""
    memory_imported = Signal()
    team_imported = Signal(object)
    """The :class:`Path` of a team file just imported (saved in the database)."""

    def __init__(
        self,
        window: QtWidgets.QMainWindow,
        tasks: TaskKeeper,
        services: ExchangeServices | None,
        *,
        log_file: Path,
        chosen_run: Callable[[], str | None],
        memory_team: Callable[[], str | None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._operations = Operations(tasks)
        self._services = services
        self._log_file = log_file
        self._chosen_run = chosen_run
        self._memory_team = memory_team
        self._team: LoadedTeam | None = None
        self._shown_run: str | None = None
        self.folder = Path.home()
        """Where the next dialog starts: the folder of the file last chosen."""
        self.file_dialog: QtWidgets.QFileDialog | None = None
        """The dialog open now (or last), kept alive while it is open."""
        self.error_dialog: QtWidgets.QMessageBox | None = None
        """The last failure shown."""

    @property
    def recording(self) -> bool:
        """Whether there is a database to import into and export from."""
        return self._services is not None

    def follow(self, event: Event) -> None:
        """Take in an event of the run being shown (live or replayed): that run is the one
        exported when none is selected in the Runs list."""
        if event.run_id:
            self._shown_run = event.run_id

    def set_team(self, team: LoadedTeam) -> None:
        """The current team, which Export team… writes."""
        self._team = team

    def run_to_export(self) -> str | None:
        """The run selected in the Runs list, else the run shown last."""
        return self._chosen_run() or self._shown_run

    # --- runs -------------------------------------------------------------------------------

    def import_run(self) -> None:
        """Ask for a run file and add its run, as ``runs import`` does."""
        if (services := self._need_services("import")) is not None:
            self._open("Import run", RUN_FILE, lambda path: self._import_run_file(services, path))

    def _import_run_file(self, services: ExchangeServices, path: Path) -> asyncio.Task[None]:
        def imported(run: RunSummary) -> None:
            self._say(exchange_text.run_imported(run))
            self.run_imported.emit(run)

        return self._work(
            f"Importing the run in {path}", lambda: services.runs.import_file(path), imported
        )

    def export_run(self) -> None:
        """Ask where to write the run to export, as ``runs export`` writes it."""
        services = self._need_services("export")
        run_id = None if services is None else self._need_run("export")
        if services is None or run_id is None:
            return
        self._save(
            "Export run",
            f"run-{run_id[:8]}",
            RUN_FILE,
            lambda path: self._work(
                f"Exporting run {run_id[:8]} to {path}",
                lambda: services.runs.export(run_id, path),
                lambda exported: self._say(exchange_text.run_exported(exported, path)),
            ),
        )

    def save_report(self) -> None:
        """Ask where to save the run to export as an HTML report, as ``runs report`` does."""
        services = self._need_services("report on")
        run_id = None if services is None else self._need_run("save as a report")
        if services is None or run_id is None:
            return
        self._save(
            "Save run as report",
            f"run-{run_id[:8]}-report",
            REPORT_FILE,
            lambda path: self._work(
                f"Saving the report of run {run_id[:8]} to {path}",
                lambda: services.reports.save(run_id, path),
                lambda saved: self._say(exchange_text.report_saved(saved)),
            ),
        )

    # --- memory -----------------------------------------------------------------------------

    def import_memory(self) -> None:
        """Ask for a memory file and merge it into the memory, as ``memory import`` does."""
        if (services := self._need_services("import")) is not None:
            self._open(
                "Import memory", MEMORY_FILE, lambda path: self._import_memory_file(services, path)
            )

    def _import_memory_file(self, services: ExchangeServices, path: Path) -> asyncio.Task[None]:
        return self._work(
            f"Importing the memory in {path}",
            lambda: services.memory_files.import_file(path),
            lambda done: self._announce(
                exchange_text.memory_imported(done, path), self.memory_imported.emit
            ),
        )

    def export_memory(self, *, every_team: bool = False) -> None:
        """Ask where to write the memory of the team the Memory pane shows (or the current
        team's), or of ``every_team``, as ``memory export`` writes it."""
        if (services := self._need_services("export")) is not None:
            team = None if every_team else self._memory_team()
            if team is None and not every_team and self._team is not None:
                team = self._team.spec.name
            self._save(
                "Export memory",
                "memory-" + ("all-teams" if team is None else file_stem(team)),
                MEMORY_FILE,
                lambda path: self._work(
                    f"Exporting memory to {path}",
                    lambda: services.memory_files.export(path, team),
                    lambda counts: self._say(exchange_text.memory_exported(counts, path, team)),
                ),
            )

    # --- teams ------------------------------------------------------------------------------

    def import_team(self) -> None:
        """Ask for a team file, check it and save it in the database, as ``teams save``
        does; then the window opens it (:attr:`team_imported`)."""
        if (services := self._need_services("import")) is not None:
            self._open(
                "Import team", TEAM_FILE, lambda path: self._import_team_file(services, path)
            )

    def _import_team_file(self, services: ExchangeServices, path: Path) -> asyncio.Task[None]:
        return self._work(
            f"Importing the team in {path}",
            lambda: services.teams.save(path),
            lambda saved: self._announce(
                exchange_text.team_saved(saved, path), lambda: self.team_imported.emit(path)
            ),
        )

    def export_team(self) -> None:
        """Ask where to write the current team as a team file, as ``teams export`` writes a
        saved one."""
        from purpose_desktop.services.teams import export_team_file

        team = self._team
        if team is None:
            self._say(NO_TEAM)
            return
        name = team.spec.name
        self._save(
            "Export team",
            file_stem(name),
            TEAM_FILE,
            lambda path: self._work(
                f"Exporting team {name} to {path}",
                lambda: export_team_file(team, path),
                lambda _none: self._say(exchange_text.team_exported(name, path)),
            ),
        )

    # --- helpers ----------------------------------------------------------------------------

    def _need_services(self, verb: str) -> ExchangeServices | None:
        if self._services is None:
            self._say(NOT_RECORDED.format(verb))
        return self._services

    def _need_run(self, verb: str) -> str | None:
        run_id = self.run_to_export()
        if run_id is None:
            self._say(NO_RUN.format(verb))
        return run_id

    def _open(self, title: str, kind: FileKind, chosen: Callable[[Path], object]) -> None:
        self.file_dialog = ask_to_open(
            self._window, f"{title}…", self.folder, kind, lambda path: self._chosen(path, chosen)
        )

    def _save(
        self, title: str, stem: str, kind: FileKind, chosen: Callable[[Path], object]
    ) -> None:
        suggested = self.folder / f"{stem}.{kind.suffix}"
        self.file_dialog = ask_to_save(
            self._window, f"{title}…", suggested, kind, lambda path: self._chosen(path, chosen)
        )

    def _chosen(self, path: Path, then: Callable[[Path], object]) -> None:
        self.folder = path.parent
        then(path)

    def _work(
        self, doing: str, work: Callable[[], Awaitable[T]], done: Callable[[T], None]
    ) -> asyncio.Task[None]:
        self._say(f"{doing}…", timeout=0)  # until it is done or has failed
        return self._operations.run(doing, work, done=done, failed=self._failed)

    def _announce(self, text: str, then: Callable[[], None]) -> None:
        self._say(text)
        then()

    def _failed(self, error: UserError) -> None:
        """The service's message, as the CLI prints it, where the person looks."""
        self._say(str(error))
        box = error_box(self._window, error, self._log_file)
        box.finished.connect(lambda _result: box.deleteLater())
        self.error_dialog = box
        box.open()  # not exec(): the event loop, and any run, go on

    def _say(self, text: str, timeout: int = 15000) -> None:
        self._window.statusBar().showMessage(text, timeout)
