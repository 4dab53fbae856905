"""What the models pane asks for, done off the UI loop: adding GGUF files (dropped on the
window, chosen in a dialog or opened with the app), loading and unloading, the memory budget,
the Ollama host and the servers, and probing them.

One piece of long work runs at a time and shows its progress in the pane with a Cancel
button; files dropped meanwhile wait their turn. A file is checked before anything is copied
(its header, then llama.cpp reading its architecture in a worker process), so a bad file is
refused with the reason and never reaches the models folder.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.config import ServerSetting, Settings
from purpose_desktop.errors import ModelError, UserError
from purpose_desktop.services.models import KeyNotKept, ModelsService
from purpose_desktop.ui.models.notes import Note
from purpose_desktop.ui.on_loop import loop_running
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.models.base import ModelStatus
    from purpose_desktop.models.pool import LocalModelPool
    from purpose_desktop.ui.models.find_dialog import FindModelsController, FindModelsDialog
    from purpose_desktop.ui.models.pane import ModelsPane
    from purpose_desktop.ui.models.server_dialog import ServerDialog

MIB = 2**20

ChangeSettings = Callable[..., object]
"""Replaces some settings (as keyword arguments) and saves them."""


def dropped_files(mime: QtCore.QMimeData) -> list[Path]:
    """The local files in a drag, in the order given."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class ModelsController(QtCore.QObject):
    """Does what :class:`ModelsPane` asks, through ``service``; accepts GGUF files dropped
    anywhere on ``window``.

    Without a model manager in ``service`` (some tests), files can still be added, but nothing
    can be loaded and servers are not told of new settings.
    """

    wants_attention = Signal()
    """Files are being added: the pane, where that shows, should be in front."""

    def __init__(
        self,
        pane: Callable[[], ModelsPane],
        *,
        window: QtWidgets.QWidget,
        service: ModelsService,
        settings: Callable[[], Settings],
        change_settings: ChangeSettings,
        refresh: Callable[[], object],
        tasks: TaskKeeper,
    ) -> None:
        """``pane`` gives the pane, made when first asked for (and handed to
        :meth:`attach`)."""
        super().__init__(window)
        self._make_pane = pane
        self._pane: ModelsPane | None = None
        self._service = service
        self._settings = settings
        self._change_settings = change_settings
        self._refresh = refresh
        self._operations = Operations(tasks)
        self._pending: list[Path] = []
        self._job: asyncio.Task[None] | None = None
        self._stop_copy = threading.Event()
        self._copying = False
        self._dialog: ServerDialog | None = None
        self._tasks = tasks
        self._find: FindModelsController | None = None
        self._started = False
        self._pane_seen = False
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    @property
    def pane(self) -> ModelsPane:
        """The pane, made now if it was not yet."""
        return self._pane if self._pane is not None else self._make_pane()

    def attach(self, pane: ModelsPane) -> None:
        """Take ``pane``'s requests, and show it what is known already."""
        self._pane = pane
        pane.files_chosen.connect(self.add_files)
        pane.load_requested.connect(self.load)
        pane.unload_requested.connect(self.unload)
        pane.budget_requested.connect(self.set_budget)
        pane.cancel_requested.connect(self.cancel)
        pane.first_shown.connect(self._pane_shown)
        pane.find_requested.connect(self.open_find_dialog)
        pane.servers.ollama_host_requested.connect(self.set_ollama_host)
        pane.servers.add_server_requested.connect(self.open_server_dialog)
        pane.servers.probe_requested.connect(self.probe)
        pane.servers.set_ollama_host(self._settings().ollama_host)
        if self._started:
            self._show_pool()

    @property
    def _pool(self) -> LocalModelPool | None:
        return self._service.pool

    def start(self) -> None:
        """Show the memory budget and follow the pool (the window's background work); probe
        the servers if the pane is on screen already."""
        self._started = True
        if self._pool is not None:
            self._pool.watch(self._pool_changed)
        self._operations.run(
            "read the memory budget",
            self._service.memory_budget,
            done=lambda _budget: self._show_pool(),
            failed=self._say_error,
        )
        if self._pane_seen:
            self.probe()

    def _pane_shown(self) -> None:
        # Servers are asked once the pane is seen and the window's background work has begun,
        # from within the event loop: the pane can be shown (a restored tab) before the loop
        # runs, and a task started then would belong to no loop.
        self._pane_seen = True
        if self._started and loop_running():
            self.probe()

    # --- files -------------------------------------------------------------------------

    def add_files(self, paths: Sequence[Path]) -> None:
        """Check each file and copy it into the models folder, one after the other."""
        self.wants_attention.emit()
        self._pending.extend(paths)
        if paths and self._job is None:
            self._run(self._add_pending, "Adding model files…")

    async def _add_pending(self) -> None:
        notes: list[Note] = []
        added = False
        try:
            while self._pending:
                note = await self._add(self._pending.pop(0))
                added = added or note.meaning == "success"
                notes.append(note)
                self.pane.show_notes(notes)
        except asyncio.CancelledError:
            self.pane.show_notes([*notes, Note("info", "Adding model files was cancelled.")])
            raise
        finally:
            self._pending.clear()
            if added:
                self._refresh()

    async def _add(self, path: Path) -> Note:
        from purpose_desktop.models.library import CopyCancelled

        if path.suffix.lower() != ".gguf":
            return Note(
                "error", f"{path.name} was not added: only GGUF model files (.gguf) can be added."
            )
        self.pane.show_progress(f"Checking {path.name}…")
        try:
            await self._service.check_file(path)
            self._stop_copy.clear()
            self._copying = True
            added = await self._service.copy_file(
                path,
                lambda done, total: self.pane.show_progress(f"Copying {path.name}…", done, total),
                self._stop_copy,
            )
        except CopyCancelled:
            return Note("info", f"Adding {path.name} was cancelled; nothing was added.")
        except ModelError as exc:
            return Note("error", f"{path.name} was not added. {exc}")
        finally:
            self._copying = False
        if not added.new:
            return Note("info", f"{path.name} is already in the models folder.")
        return Note("success", f"Added {path.name} ({added.metadata.name}) to the models folder.")

    # --- loading -----------------------------------------------------------------------

    def load(self, reference: str) -> None:
        self._run(lambda: self._load(reference), f"Loading {reference}…")

    async def _load(self, reference: str) -> None:
        pool = self._need_pool()
        try:
            loaded = await pool.load(reference, self._service.models_dir, _ignore)
        except ModelError as exc:
            self.pane.show_notes([Note("error", str(exc))])
            return
        except asyncio.CancelledError:
            self.pane.show_notes([Note("info", f"Loading {reference} was cancelled.")])
            raise
        self.pane.show_notes(
            [
                Note(
                    "success",
                    f"{reference} is loaded and holds about {loaded.memory_bytes / MIB:.0f} MiB.",
                )
            ]
        )

    def unload(self, reference: str) -> None:
        self._run(lambda: self._unload(reference), f"Unloading {reference}…")

    async def _unload(self, reference: str) -> None:
        pool = self._need_pool()
        try:
            await pool.unload(reference)
        except ModelError as exc:
            self.pane.show_notes([Note("error", str(exc))])
            return
        self.pane.show_notes([Note("success", f"{reference} is unloaded.")])

    def set_budget(self, mib: int) -> None:
        self._run(lambda: self._set_budget(mib), "Changing the memory budget…")

    async def _set_budget(self, mib: int) -> None:
        unloaded: list[str] = []

        def note_unloaded(status: ModelStatus) -> None:
            if status.state == "unloaded":
                unloaded.append(status.model)

        if self._pool is not None:
            await self._pool.set_memory_budget(mib * MIB, note_unloaded)
        self._change_settings(model_memory_mib=mib)
        notes = [Note("success", f"Loaded local models may now use {mib} MiB together.")]
        if unloaded:
            notes.append(Note("info", f"Unloaded {', '.join(unloaded)} to keep within it."))
        self.pane.show_notes(notes)
        self._show_pool()
        self._refresh()  # the team pane says which models fit the budget

    def cancel(self) -> None:
        """Stop the work under way: a copy stops at its next piece and removes what it
        wrote; a check or a load ends its worker process."""
        self._pending.clear()
        self._stop_copy.set()
        if self._job is not None and not self._copying:
            self._job.cancel()

    # --- servers -----------------------------------------------------------------------

    def probe(self) -> None:
        """Ask every backend what it offers; a newer probe replaces one under way."""
        self.pane.servers.show_probing()
        settings = self._settings()
        self._operations.run(
            "probe the model servers",
            lambda: self._service.probe(settings.ollama_host, settings.servers),
            done=self.pane.show_backends,
            failed=self._say_error,
            latest=True,
        )

    def set_ollama_host(self, host: str) -> None:
        self._operations.run(
            "set the Ollama host",
            lambda: self._service.ollama_address(host or None),
            done=lambda address: self._ollama_host_set(host, address),
            failed=self._say_error,
        )

    def _ollama_host_set(self, host: str, address: str) -> None:
        self._use_servers(ollama_host=host or None)
        self.pane.show_notes([Note("success", f"Ollama is looked for at {address}.")])
        self.probe()

    def open_find_dialog(self) -> FindModelsDialog:
        """Open the dialog that finds models on the Hub and pulls them into Ollama: the same
        one each time, with what it last showed and any download still under way."""
        from purpose_desktop.services.model_downloads import ModelDownloadsService
        from purpose_desktop.ui.models.find_dialog import FindModelsController, FindModelsDialog

        if self._find is None:
            self._find = FindModelsController(
                FindModelsDialog(self.pane),
                service=ModelDownloadsService(self._service),
                settings=self._settings,
                tasks=self._tasks,
                added=self._model_found,
            )
        self._find.dialog.open()
        return self._find.dialog

    def _model_found(self, where: str) -> None:
        # A file joins the catalog; what each backend offers (a model Ollama pulled, the
        # files in the models folder) shows once the backends are asked again.
        if where == "file":
            self._refresh()
        self.probe()

    def open_server_dialog(self) -> None:
        taken = [server.name for server in self._settings().servers]
        from purpose_desktop.ui.models.server_dialog import ServerDialog

        dialog = ServerDialog(taken, self.pane)
        dialog.server_entered.connect(self._add_server)
        if self._dialog is not None:
            self._dialog.deleteLater()  # the one opened before, closed by now
        self._dialog = dialog
        dialog.open()
        self._operations.run(
            "look for the keyring",
            self._service.keyring_status,
            done=lambda status: dialog.show_keyring(
                status.available, status.backend, status.reason
            ),
            failed=self._say_error,
        )

    def _add_server(self, name: str, url: str, key: str) -> None:
        self._use_servers(servers=(*self._settings().servers, ServerSetting(name, url)))
        added = Note("success", f"Added the server '{name}' at {url}.")
        if not key:
            self._server_added([added])
            return
        self._operations.run(
            f"add the server {name}",
            lambda: self._service.save_api_key(name, key),
            done=lambda _saved: self._server_added(
                [added, Note("success", "Its API key is saved in the system keyring.")]
            ),
            failed=lambda exc: self._server_added([added, _key_not_saved(exc)]),
        )

    def _server_added(self, notes: list[Note]) -> None:
        self.pane.show_notes(notes)
        self.probe()

    def _use_servers(self, **changes: Any) -> None:
        self._change_settings(**changes)
        settings = self._settings()
        self._service.use_servers(settings.ollama_host, settings.servers)

    # --- the pool ----------------------------------------------------------------------

    def _pool_changed(self, status: ModelStatus) -> None:
        if self._pane is not None:  # otherwise the pane shows the pool when it is made
            self._pane.model_changed(status)
            self._show_pool()

    def _show_pool(self) -> None:
        if self._pool is not None and self._pane is not None:
            self.pane.show_pool(
                self._pool.loaded(), self._pool.memory_in_use, self._pool.memory_budget
            )

    def _need_pool(self) -> LocalModelPool:
        if self._pool is None:
            raise ModelError("Models cannot be loaded here: there is no model manager.")
        return self._pool

    def _run(self, work: Callable[[], Awaitable[None]], doing: str) -> None:
        """Start ``work``, saying at once what is being done (the pane's buttons wait)."""
        if self._job is not None:
            self.pane.show_notes(
                [Note("warning", "Wait for the work under way to finish, or cancel it.")]
            )
            return
        self.pane.show_progress(doing)
        self._job = self._operations.run(
            doing,
            lambda: self._one_at_a_time(work),
            done=lambda _none: None,
            failed=self._say_error,
        )

    async def _one_at_a_time(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        finally:
            self._job = None
            self.pane.hide_progress()
            if self._pending:  # dropped while something else was under way
                self._run(self._add_pending, "Adding model files…")

    def _say_error(self, exc: UserError) -> None:
        self.pane.show_notes([Note("error", str(exc))])

    # --- drops on the window -----------------------------------------------------------

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        kind = event.type()
        if kind in (QtCore.QEvent.Type.DragEnter, QtCore.QEvent.Type.DragMove):
            assert isinstance(event, QtGui.QDragMoveEvent)  # a DragEnter is one too
            if dropped_files(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QtCore.QEvent.Type.Drop:
            assert isinstance(event, QtGui.QDropEvent)
            files = dropped_files(event.mimeData())
            if files:
                event.acceptProposedAction()
                self.add_files(files)
                return True
        return super().eventFilter(watched, event)


def _key_not_saved(exc: UserError) -> Note:
    if isinstance(exc, KeyNotKept):
        return Note(
            "warning",
            f"Its API key was not saved: {exc} It was not written anywhere else either; add "
            "the server again once a keyring is available.",
        )
    return Note("warning", f"Its API key was not saved. {exc}")


def _ignore(status: ModelStatus) -> None:
    """The pool's statuses reach the pane through its watcher; nothing more to do."""
