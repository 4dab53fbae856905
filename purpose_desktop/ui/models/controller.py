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
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.config import ServerSetting, Settings
from purpose_desktop.errors import ModelError
from purpose_desktop.ui.models.notes import Note
from purpose_desktop.ui.on_loop import loop_running
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.models.base import ModelStatus
    from purpose_desktop.models.pool import LocalModelPool
    from purpose_desktop.models.router import ModelRouter
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
    """Does what :class:`ModelsPane` asks; accepts GGUF files dropped anywhere on ``window``.

    ``models`` is ``None`` where there is no model manager (some tests): files can still be
    added, but nothing can be loaded and servers are not told of new settings.
    """

    wants_attention = Signal()
    """Files are being added: the pane, where that shows, should be in front."""

    def __init__(
        self,
        pane: Callable[[], ModelsPane],
        *,
        window: QtWidgets.QWidget,
        models_dir: Path,
        settings: Callable[[], Settings],
        change_settings: ChangeSettings,
        refresh: Callable[[], object],
        tasks: TaskKeeper,
        models: Callable[[], ModelRouter] | None,
    ) -> None:
        """``pane`` gives the pane, made when first asked for (and handed to :meth:`attach`);
        ``models`` gives the model manager, made when first asked for."""
        super().__init__(window)
        self._make_pane = pane
        self._pane: ModelsPane | None = None
        self._models_dir = models_dir
        self._settings = settings
        self._change_settings = change_settings
        self._refresh = refresh
        self._tasks = tasks
        self._models = models
        self._pending: list[Path] = []
        self._job: asyncio.Task[None] | None = None
        self._stop_copy = threading.Event()
        self._copying = False
        self._dialog: ServerDialog | None = None
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
        pane.servers.ollama_host_requested.connect(self.set_ollama_host)
        pane.servers.add_server_requested.connect(self.open_server_dialog)
        pane.servers.probe_requested.connect(self.probe)
        pane.servers.set_ollama_host(self._settings().ollama_host)
        if self._started:
            self._show_pool()

    @property
    def _router(self) -> ModelRouter | None:
        return None if self._models is None else self._models()

    @property
    def _pool(self) -> LocalModelPool | None:
        router = self._router
        return None if router is None else router.pool

    def start(self) -> None:
        """Show the memory budget and follow the pool (the window's background work); probe
        the servers if the pane is on screen already."""
        self._started = True
        if self._pool is not None:
            self._pool.watch(self._pool_changed)
        self._tasks.start(self._show_budget(), "read the memory budget")
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
            self._run(self._add_pending(), "Adding model files…")

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
        from purpose_desktop.models.library import CopyCancelled, add_model_file

        if path.suffix.lower() != ".gguf":
            return Note(
                "error", f"{path.name} was not added: only GGUF model files (.gguf) can be added."
            )
        self.pane.show_progress(f"Checking {path.name}…")
        target = self._models_dir / path.name
        try:
            if self._pool is not None:
                await self._pool.check_file(path)
            there_before = await asyncio.to_thread(target.exists)
            self._stop_copy.clear()
            self._copying = True
            loop = asyncio.get_running_loop()

            def progress(done: int, total: int) -> bool:
                loop.call_soon_threadsafe(
                    self.pane.show_progress, f"Copying {path.name}…", done, total
                )
                return not self._stop_copy.is_set()

            metadata = await asyncio.to_thread(
                add_model_file, path, self._models_dir, progress=progress
            )
        except CopyCancelled:
            return Note("info", f"Adding {path.name} was cancelled; nothing was added.")
        except ModelError as exc:
            return Note("error", f"{path.name} was not added. {exc}")
        finally:
            self._copying = False
        if there_before:
            return Note("info", f"{path.name} is already in the models folder.")
        return Note("success", f"Added {path.name} ({metadata.name}) to the models folder.")

    # --- loading -----------------------------------------------------------------------

    def load(self, reference: str) -> None:
        self._run(self._load(reference), f"Loading {reference}…")

    async def _load(self, reference: str) -> None:
        pool = self._need_pool()
        try:
            loaded = await pool.load(reference, self._models_dir, _ignore)
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
        self._run(self._unload(reference), f"Unloading {reference}…")

    async def _unload(self, reference: str) -> None:
        pool = self._need_pool()
        try:
            await pool.unload(reference)
        except ModelError as exc:
            self.pane.show_notes([Note("error", str(exc))])
            return
        self.pane.show_notes([Note("success", f"{reference} is unloaded.")])

    def set_budget(self, mib: int) -> None:
        self._run(self._set_budget(mib), "Changing the memory budget…")

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
        self._tasks.start(self._probe(), "probe the model servers")

    async def _probe(self) -> None:
        self.pane.servers.show_probing()
        await asyncio.to_thread(_import_clients)
        from purpose_desktop.models.probe import probe_backends

        settings = self._settings()
        reports = await probe_backends(self._models_dir, settings.ollama_host, settings.servers)
        self.pane.show_backends(reports)

    def set_ollama_host(self, host: str) -> None:
        self._tasks.start(self._set_ollama_host(host), "set the Ollama host")

    async def _set_ollama_host(self, host: str) -> None:
        await asyncio.to_thread(_import_clients)
        from purpose_desktop.models.ollama_backend import ollama_host

        try:
            address = ollama_host(host or None)
        except ModelError as exc:
            self.pane.show_notes([Note("error", str(exc))])
            return
        self._use_servers(ollama_host=host or None)
        self.pane.show_notes([Note("success", f"Ollama is looked for at {address}.")])
        await self._probe()

    def open_server_dialog(self) -> None:
        taken = [server.name for server in self._settings().servers]
        from purpose_desktop.ui.models.server_dialog import ServerDialog

        dialog = ServerDialog(taken, self.pane)
        dialog.server_entered.connect(
            lambda name, url, key: self._tasks.start(
                self._add_server(name, url, key), f"add the server {name}"
            )
        )
        if self._dialog is not None:
            self._dialog.deleteLater()  # the one opened before, closed by now
        self._dialog = dialog
        dialog.open()
        self._tasks.start(self._show_keyring(dialog), "look for the keyring")

    async def _show_keyring(self, dialog: ServerDialog) -> None:
        await asyncio.to_thread(_import_clients)
        from purpose_desktop.secrets import keyring_status

        status = await asyncio.to_thread(keyring_status)
        dialog.show_keyring(status.available, status.backend, status.reason)

    async def _add_server(self, name: str, url: str, key: str) -> None:
        from purpose_desktop.secrets import KeyringUnavailableError, keyring_status, save_api_key

        self._use_servers(servers=(*self._settings().servers, ServerSetting(name, url)))
        notes = [Note("success", f"Added the server '{name}' at {url}.")]
        if key:
            try:
                await asyncio.to_thread(save_api_key, name, key)
            except KeyringUnavailableError:
                status = await asyncio.to_thread(keyring_status)
                notes.append(
                    Note(
                        "warning",
                        f"Its API key was not saved: {status.reason} "
                        "It was not written anywhere else either; add the server "
                        "again once a keyring is available.",
                    )
                )
            except ModelError as exc:
                notes.append(Note("warning", f"Its API key was not saved. {exc}"))
            else:
                notes.append(Note("success", "Its API key is saved in the system keyring."))
        self.pane.show_notes(notes)
        await self._probe()

    def _use_servers(self, **changes: Any) -> None:
        self._change_settings(**changes)
        settings = self._settings()
        if self._router is not None:
            self._router.configure_remote(settings.ollama_host, settings.servers)

    # --- the pool ----------------------------------------------------------------------

    async def _show_budget(self) -> None:
        if self._pool is None:
            return
        pool = self._pool
        # The first read of the default budget asks the system how much memory it has.
        await asyncio.to_thread(lambda: pool.memory_budget)
        self._show_pool()

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

    def _run(self, work: Coroutine[Any, Any, None], doing: str) -> None:
        """Start ``work``, saying at once what is being done (the pane's buttons wait)."""
        if self._job is not None:
            work.close()
            self.pane.show_notes(
                [Note("warning", "Wait for the work under way to finish, or cancel it.")]
            )
            return
        self.pane.show_progress(doing)
        self._job = self._tasks.start(self._one_at_a_time(work), doing)

    async def _one_at_a_time(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        finally:
            self._job = None
            self.pane.hide_progress()
            if self._pending:  # dropped while something else was under way
                self._run(self._add_pending(), "Adding model files…")

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


def _import_clients() -> None:
    """Import the servers' clients and the keyring on a worker thread: about a quarter of a
    second the first time (most of it the ollama package), which the UI loop must not wait
    for. Imported modules then come from ``sys.modules`` at once."""
    import purpose_desktop.models.ollama_backend
    import purpose_desktop.models.openai_backend
    import purpose_desktop.models.probe
    import purpose_desktop.secrets  # noqa: F401


def _ignore(status: ModelStatus) -> None:
    """The pool's statuses reach the pane through its watcher; nothing more to do."""
