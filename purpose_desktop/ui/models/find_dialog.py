"""The "Find models" dialog: GGUF models searched for on the Hugging Face Hub, a
repository's files with their quantisation, size and the memory each needs, downloaded into
the models folder with progress and a way to stop; and models pulled into Ollama.

:class:`FindModelsDialog` shows and asks through signals; :class:`FindModelsController` does
the work through :class:`ModelDownloadsService`, off the UI loop, and tells the dialog what
came of it. One download or pull runs at a time.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from purpose_desktop.config import Settings
from purpose_desktop.errors import UserError
from purpose_desktop.services.model_downloads import ModelDownloadsService
from purpose_desktop.ui.models.notes import Meaning
from purpose_desktop.ui.models.parts import message_label, push_button
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets.builders import read_only_table
from purpose_desktop.ui.widgets.progress_row import ProgressRow

if TYPE_CHECKING:
    from purpose_desktop.models.hub import HubFile, HubRepo, RepoListing
    from purpose_desktop.models.ollama_backend import PullProgress
    from purpose_desktop.services.models import AddedModel

MIB = 2**20
REPO_COLUMNS = ("Repository", "Downloads", "Likes")
FILE_COLUMNS = ("File", "Quantisation", "Size", "Est. memory", "Fits")


def _mib(size: int) -> str:
    return f"{size / MIB:,.0f} MiB"


class FindModelsDialog(QtWidgets.QDialog):
    """Opened with ``open()``; the work it asks for goes out as signals."""

    search_requested = Signal(str)
    repo_chosen = Signal(str)
    """The repository whose files to list."""
    download_requested = Signal(object)
    """The :class:`HubFile` to download and add."""
    pull_requested = Signal(str)
    """The Ollama model to pull."""
    cancel_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find models")
        self.setObjectName("findModelsDialog")
        self._repos: list[HubRepo] = []
        self._listing: RepoListing | None = None
        self._busy = False
        self._message_text = ""
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self._hub_tab(), "&Hugging Face")
        self.tabs.addTab(self._ollama_tab(), "&Ollama")
        self.message = message_label("findModelsMessage")
        self.progress_row = ProgressRow(
            "Stop it; what was downloaded is kept to go on from", self._cancel
        )
        self.progress_label = self.progress_row.label
        self.progress = self.progress_row.bar
        self.cancel_button = self.progress_row.cancel_button
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.progress_row)
        layout.addWidget(buttons)
        self.resize(980, 580)
        self._update_buttons()
        self.search_edit.setFocus()  # typing starts a search, as in every search box

    # --- building -----------------------------------------------------------------------

    def _hub_tab(self) -> QtWidgets.QWidget:
        self.search_edit = QtWidgets.QLineEdit()
        self.search_edit.setPlaceholderText("Part of a model's name, such as smollm2 or qwen3")
        self.search_edit.setAccessibleName("Search the Hugging Face Hub")
        self.search_edit.setAccessibleDescription(
            "Part of a model's name; Enter lists the repositories of GGUF models that have it"
        )
        self.search_edit.returnPressed.connect(self._search)
        self.search_edit.textChanged.connect(self._update_buttons)
        self.search_button = push_button(
            "&Search", "Search the Hugging Face Hub for GGUF models", self._search
        )
        search_row = QtWidgets.QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.search_button)
        self.repo_table = read_only_table(REPO_COLUMNS)
        self.repo_table.setAccessibleName("Repositories found")
        self.repo_table.setAccessibleDescription(
            "Repositories with GGUF files, most downloaded first; choose one to list its files"
        )
        self.repo_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.repo_table.itemSelectionChanged.connect(self._repo_selected)
        self.file_table = read_only_table(FILE_COLUMNS)
        self.file_table.setAccessibleName("GGUF files of the repository")
        self.file_table.setAccessibleDescription(
            "Each file's quantisation, size and estimated memory; the largest that fits the "
            "memory budget is chosen"
        )
        self.file_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.file_table.itemSelectionChanged.connect(self._update_buttons)
        self.file_table.itemDoubleClicked.connect(lambda _item: self._download())
        for table in (self.repo_table, self.file_table):
            # Names stay on one line, shortened in the middle (the tooltip has all of it),
            # and the name column takes the room the others leave.
            table.setWordWrap(False)
            table.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
            table.horizontalHeader().setStretchLastSection(False)
            table.horizontalHeader().setSectionResizeMode(
                QtWidgets.QHeaderView.ResizeMode.ResizeToContents
            )
        self.repo_table.horizontalHeader().setSectionResizeMode(
            0, QtWidgets.QHeaderView.ResizeMode.Stretch
        )
        self.file_table.horizontalHeader().setSectionResizeMode(
            0, QtWidgets.QHeaderView.ResizeMode.Stretch
        )
        self.files_note = QtWidgets.QLabel("Choose a repository to see its GGUF files.")
        self.files_note.setWordWrap(True)
        self.download_button = push_button(
            "&Download", "Download the chosen file and add it to the models folder", self._download
        )
        files_box = QtWidgets.QWidget()
        files_layout = QtWidgets.QVBoxLayout(files_box)
        files_layout.setContentsMargins(0, 0, 0, 0)
        files_layout.addWidget(self.file_table, 1)
        files_layout.addWidget(self.files_note)
        download_row = QtWidgets.QHBoxLayout()
        download_row.addStretch(1)
        download_row.addWidget(self.download_button)
        files_layout.addLayout(download_row)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(self.repo_table)
        splitter.addWidget(files_box)
        splitter.setSizes([400, 560])
        tab = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(tab)
        layout.addLayout(search_row)
        layout.addWidget(splitter, 1)
        return tab

    def _ollama_tab(self) -> QtWidgets.QWidget:
        self.ollama_edit = QtWidgets.QLineEdit()
        self.ollama_edit.setPlaceholderText("qwen3:0.6b")
        self.ollama_edit.setAccessibleName("Ollama model to pull")
        self.ollama_edit.setAccessibleDescription(
            "A name from Ollama's library, such as qwen3:0.6b"
        )
        self.ollama_edit.returnPressed.connect(self._pull)
        self.ollama_edit.textChanged.connect(self._update_buttons)
        self.pull_button = push_button(
            "&Pull", "Have Ollama download this model (ollama pull)", self._pull
        )
        self.ollama_note = QtWidgets.QLabel(
            "Ollama downloads the model itself; once pulled, agents name it as "
            "ollama:NAME. Names are those of the Ollama library, such as qwen3:0.6b."
        )
        self.ollama_note.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Model:"))
        row.addWidget(self.ollama_edit, 1)
        row.addWidget(self.pull_button)
        tab = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(tab)
        layout.addLayout(row)
        layout.addWidget(self.ollama_note)
        layout.addStretch(1)
        return tab

    # --- what the controller tells the dialog -----------------------------------------

    def show_searching(self, query: str) -> None:
        self.show_message("info", f"Searching the Hub for '{query}'…")

    def show_repos(self, repos: Sequence[HubRepo]) -> None:
        """The repositories a search found; the first is chosen."""
        self._repos = list(repos)
        self._listing = None
        self.file_table.setRowCount(0)
        self.repo_table.setRowCount(len(repos))
        for row, repo in enumerate(repos):
            for column, text in enumerate((repo.repo_id, f"{repo.downloads:,}", f"{repo.likes:,}")):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(repo.repo_id)
                self.repo_table.setItem(row, column, item)
        if repos:
            found = "1 repository" if len(repos) == 1 else f"{len(repos)} repositories"
            self.show_message("info", f"{found} with GGUF files.")
            self.repo_table.selectRow(0)
        else:
            self.show_message("warning", "No repository with GGUF files has that in its name.")
            self.files_note.setText("")
        self._update_buttons()

    def show_listing_wait(self, repo_id: str) -> None:
        self._listing = None
        self.file_table.setRowCount(0)
        self.files_note.setText(f"Reading the files of {repo_id}…")
        self._update_buttons()

    def show_listing(self, listing: RepoListing) -> None:
        """A repository's files; the default choice is selected."""
        self._listing = listing
        self.file_table.setRowCount(len(listing.options))
        colours = self.palette()
        for row, option in enumerate(listing.options):
            file = option.file
            cells = (
                file.name,
                file.quantisation or "?",
                _mib(file.size_bytes),
                _mib(option.memory_bytes),
                "yes" if option.fits else "no, over budget",
            )
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(file.filename)
                if not option.fits and column == len(cells) - 1:
                    item.setForeground(QtGui.QBrush(meaning_colour("warning", colours)))
                self.file_table.setItem(row, column, item)
        budget = f"{listing.budget_bytes // MIB:,} MiB"
        if not listing.options:
            note = f"{listing.repo_id} has no GGUF file that can be used by itself."
        elif listing.default is not None and listing.options[listing.default].fits:
            note = (
                f"Memory is estimated at a context of {listing.context_size} tokens; the "
                f"largest file that fits the budget ({budget}) is chosen."
            )
        else:
            note = (
                f"No file fits the memory budget ({budget}); the smallest is chosen. Raise "
                "the budget in the Models pane to load it."
            )
        if listing.skipped:
            note += " Not listed: " + "; ".join(listing.skipped) + "."
        self.files_note.setText(note)
        if listing.default is not None:
            self.file_table.selectRow(listing.default)
        self._update_buttons()

    def show_message(self, meaning: Meaning, text: str) -> None:
        colour = meaning_colour(meaning, self.palette()).name()
        lines = "<br>".join(html.escape(line) for line in text.splitlines())
        self.message.setText(f'<span style="color: {colour}">{lines}</span>')
        self._message_text = text

    @property
    def message_text(self) -> str:
        """What the message line says, as plain text."""
        return self._message_text

    def show_progress(self, text: str, done: int = 0, total: int = 0) -> None:
        """Work under way that can be cancelled; ``total`` 0 means its length is unknown."""
        self.progress_label.setText(text)
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * done / total))
            self.progress.setFormat(f"{done / MIB:,.0f} of {total / MIB:,.0f} MiB")
        else:
            self.progress.setRange(0, 0)
        self.progress_row.show()
        self._busy = True
        self._update_buttons()

    def hide_progress(self) -> None:
        self.progress_row.hide()
        self._busy = False
        self._update_buttons()

    def chosen_file(self) -> HubFile | None:
        rows = {index.row() for index in self.file_table.selectionModel().selectedRows()}
        if self._listing is None or not rows or min(rows) >= len(self._listing.options):
            return None
        return self._listing.options[min(rows)].file

    def chosen_repo(self) -> str | None:
        rows = {index.row() for index in self.repo_table.selectionModel().selectedRows()}
        return self._repos[min(rows)].repo_id if rows and min(rows) < len(self._repos) else None

    # --- events -----------------------------------------------------------------------

    def _update_buttons(self) -> None:
        self.search_button.setEnabled(bool(self.search_edit.text().strip()))
        self.download_button.setEnabled(self.chosen_file() is not None and not self._busy)
        self.pull_button.setEnabled(bool(self.ollama_edit.text().strip()) and not self._busy)

    def _search(self) -> None:
        query = self.search_edit.text().strip()
        if query:
            self.search_requested.emit(query)

    def _repo_selected(self) -> None:
        repo = self.chosen_repo()
        if repo is not None:
            self.repo_chosen.emit(repo)

    def _download(self) -> None:
        file = self.chosen_file()
        if file is not None and not self._busy:
            self.download_requested.emit(file)

    def _pull(self) -> None:
        name = self.ollama_edit.text().strip()
        if name and not self._busy:
            self.pull_requested.emit(name)

    def _cancel(self) -> None:
        self.cancel_requested.emit()


class FindModelsController(QtCore.QObject):
    """Does what :class:`FindModelsDialog` asks through ``service``; ``added`` is called
    once a model was added (a file to the models folder, or a model to Ollama)."""

    def __init__(
        self,
        dialog: FindModelsDialog,
        *,
        service: ModelDownloadsService,
        settings: Callable[[], Settings],
        tasks: TaskKeeper,
        added: Callable[[str], object],
    ) -> None:
        """``added`` gets "file" or "ollama": what to read again to show the new model."""
        super().__init__(dialog)
        self.dialog = dialog
        self._service = service
        self._settings = settings
        self._operations = Operations(tasks)
        self._added = added
        self._stop = threading.Event()
        self._job: asyncio.Task[None] | None = None
        self._pulling = False
        dialog.search_requested.connect(self.search)
        dialog.repo_chosen.connect(self.list_files)
        dialog.download_requested.connect(self.download)
        dialog.pull_requested.connect(self.pull)
        dialog.cancel_requested.connect(self.cancel)
        # Closing the dialog leaves a download going: the pane shows the model once it is
        # added, and the dialog opened again shows its progress.

    def search(self, query: str) -> None:
        self.dialog.show_searching(query)
        self._operations.run(
            "search the Hub",
            lambda: self._service.search(query),
            done=self.dialog.show_repos,
            failed=self._failed,
            latest=True,
        )

    def list_files(self, repo_id: str) -> None:
        self.dialog.show_listing_wait(repo_id)
        settings = self._settings()
        self._operations.run(
            "list a repository's files",
            lambda: self._service.listing(
                repo_id, settings.context_size, settings.model_memory_mib
            ),
            done=self.dialog.show_listing,
            failed=self._failed,
            latest=True,
        )

    def download(self, file: HubFile) -> None:
        from purpose_desktop.models.library import CopyCancelled

        if self._job is not None:
            return
        self._stop.clear()
        self.dialog.show_progress(f"Downloading {file.name}…")

        async def work() -> None:
            try:
                added = await self._service.download(
                    file,
                    lambda done, total: self.dialog.show_progress(
                        f"Downloading {file.name}…", done, total
                    ),
                    self._stop,
                )
            except CopyCancelled as exc:
                self.dialog.show_message("info", str(exc))
                return
            self._downloaded(file, added)

        self._start(work, f"download {file.name}", pulling=False)

    def _downloaded(self, file: HubFile, added: AddedModel) -> None:
        if added.new:
            self.dialog.show_message(
                "success",
                f"Added {file.name} ({added.metadata.name}) to the models folder. Agents name "
                f"it as  model: {file.name}",
            )
            self._added("file")
        else:
            self.dialog.show_message("info", f"{file.name} is already in the models folder.")

    def pull(self, name: str) -> None:
        if self._job is not None:
            return
        self.dialog.show_progress(f"Pulling {name} into Ollama…")

        def show(line: PullProgress) -> None:
            self.dialog.show_progress(
                f"Ollama: {line.status or 'working'}…", line.completed, line.total
            )

        async def work() -> None:
            try:
                pulled = await self._service.pull_ollama(name, self._settings().ollama_host, show)
            except asyncio.CancelledError:
                self.dialog.show_message(
                    "info", f"Pulling {name} was cancelled; Ollama keeps what it fetched."
                )
                raise
            self.dialog.show_message(
                "success", f"Ollama has {pulled} now. Agents name it as  model: ollama:{pulled}"
            )
            self._added("ollama")

        self._start(work, f"pull {name}", pulling=True)

    def cancel(self) -> None:
        """Stop the download (at its next piece; what was fetched is kept) or the pull."""
        self._stop.set()
        if self._job is not None and self._pulling:
            # The pull waits on the connection, which cancelling closes; a download's thread
            # sees the stop at its next piece and removes nothing it must not.
            self._job.cancel()

    def _start(self, work: Callable[[], Awaitable[None]], name: str, *, pulling: bool) -> None:
        self._pulling = pulling

        async def one_at_a_time() -> None:
            try:
                await work()
            finally:
                self._job = None
                self.dialog.hide_progress()

        self._job = self._operations.run(
            name, one_at_a_time, done=lambda _none: None, failed=self._failed
        )

    def _failed(self, exc: UserError) -> None:
        self.dialog.show_message("error", str(exc))
