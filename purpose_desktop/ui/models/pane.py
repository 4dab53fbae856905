"""The models pane: every model the app can run with its state, the memory loaded models hold
against the budget, and the servers that offer models.

The pane only shows and asks: what it asks for goes out as signals, and
:mod:`purpose_desktop.ui.models.controller` does the work (reading files, loading, probing) off
the UI loop and tells the pane what came of it. Nothing here reads a file.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.models.references import BUNDLED_SCHEME
from purpose_desktop.ui.models.notes import Meaning, Note
from purpose_desktop.ui.models.parts import message_label, push_button
from purpose_desktop.ui.models.servers import ServersBox
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal, set_by_name
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets.builders import read_only_table
from purpose_desktop.ui.widgets.progress_row import ProgressRow

if TYPE_CHECKING:
    from purpose_desktop.models.base import ModelStatus
    from purpose_desktop.models.pool import LoadedModel
    from purpose_desktop.models.probe import BackendReport

COLUMNS = (
    "Model",
    "Backend",
    "Family",
    "Parameters",
    "Quantisation",
    "Context",
    "Size",
    "Est. memory",
    "Status",
)
STATUS_COLUMN = 8
MIB = 2**20
GGUF_FILTER = "GGUF models (*.gguf);;All files (*)"
FIND_SHORTCUT = "Ctrl+Shift+M"


def _size(size_bytes: int | None) -> str:
    return f"{size_bytes / MIB:.0f} MiB" if size_bytes else ""


def _parameters(count: int | None) -> str:
    if not count:
        return ""
    return f"{count / 1e9:.1f} B" if count >= 1e9 else f"{count / 1e6:.0f} M"


def _same_file(path: str | None) -> str:
    # The pool resolves links; the catalog lists paths as found. Compare them resolved.
    return os.path.realpath(path) if path else ""


@dataclass(frozen=True)
class _Row:
    """A row of the table: a catalog entry, or a model a server offers."""

    reference: str
    backend: str
    local: bool
    entry: CatalogEntry | None = None


_Cell = tuple[str, str, "Meaning | None"]
"""A table cell: its text, its tooltip and the meaning that colours it."""


class ModelsPane(QtWidgets.QWidget):
    """The catalog as a table, the memory in use against the budget, the servers."""

    files_chosen = Signal(list)
    """Paths (``pathlib.Path``) of GGUF files the person chose to add."""
    load_requested = Signal(str)
    """The reference of a local model to load now."""
    unload_requested = Signal(str)
    budget_requested = Signal(int)
    """A new memory budget for loaded models, in MiB."""
    cancel_requested = Signal()
    """Stop the file being added or the model being loaded."""
    first_shown = Signal()
    find_requested = Signal()
    """Open the dialog that finds models on the Hugging Face Hub or pulls them into Ollama."""
    """The pane is on screen for the first time: time to ask the servers what they offer."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = read_only_table(COLUMNS)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAccessibleName("Models")
        self.table.setAccessibleDescription(
            "Every model the app can run, with its size, the memory it needs and its status; "
            "double-click or Load to load the selected one"
        )
        # Columns fit their contents and the status, which says why a model cannot be used,
        # takes the room that is left. (resizeColumnsToContents() would undo the stretch
        # until the next resize.)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATUS_COLUMN, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._ask_for(self.load_requested))
        self.servers = ServersBox()
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self._header())
        layout.addLayout(self._memory())
        layout.addWidget(self._notes_area())
        layout.addWidget(self._progress_row())
        layout.addWidget(self.table, 1)
        layout.addWidget(self.servers)

        self._notes: list[Note] = []
        self._entries: list[CatalogEntry] = []
        self._remote: list[tuple[str, str]] = []  # (reference, backend) offered by servers
        self._loaded: dict[str, LoadedModel] = {}  # by resolved path
        self._loading: set[str] = set()  # model names, as the pool reports them
        self._failed: dict[str, str] = {}  # model name -> why it could not be loaded
        self._budget: int | None = None
        self._busy = False
        self._rows: list[_Row] = []
        self._file_dialog: QtWidgets.QFileDialog | None = None
        self._was_shown = False
        self._update_buttons()

    def _header(self) -> QtWidgets.QHBoxLayout:
        self.summary = QtWidgets.QLabel("Reading model files…")
        self.add_button = push_button(
            "Add model file…",
            "Copy a GGUF file into the models folder (or drop it anywhere on the window)",
            self._choose_files,
        )
        self.load_button = push_button(
            "Load",
            "Load the selected model now, so its first use does not wait",
            lambda: self._ask_for(self.load_requested),
        )
        self.unload_button = push_button(
            "Unload",
            "End the selected model's process and give its memory back",
            lambda: self._ask_for(self.unload_requested),
        )
        self.refresh_button = push_button("Refresh", "Read the model files again")
        self.find_button = push_button(
            "Find models…",
            f"Search the Hugging Face Hub for GGUF models and download one, or pull a model "
            f"into Ollama ({FIND_SHORTCUT})",
            self.find_requested.emit,
        )
        # By name: made before the window first appears (see ``set_by_name``).
        set_by_name(self.find_button, "shortcut", FIND_SHORTCUT)
        hint = QtWidgets.QLabel("Drop .gguf files anywhere on the window to add them.")
        hint.setForegroundRole(QtGui.QPalette.ColorRole.PlaceholderText)  # follows the theme
        hint.setWordWrap(True)  # in a narrow window, rather than widen the window
        header = QtWidgets.QHBoxLayout()
        header.addWidget(self.summary)
        header.addSpacing(12)
        header.addWidget(hint, 1)
        for button in (
            self.find_button,
            self.add_button,
            self.load_button,
            self.unload_button,
            self.refresh_button,
        ):
            header.addWidget(button)
        return header

    def _memory(self) -> QtWidgets.QHBoxLayout:
        self.memory_bar = QtWidgets.QProgressBar()
        self.memory_bar.setObjectName("modelMemory")
        self.memory_bar.setFormat("…")
        self.budget = QtWidgets.QSpinBox()
        self.budget.setRange(64, 1024 * 1024)
        self.budget.setSingleStep(256)
        self.budget.setSuffix(" MiB")
        self.budget.setSpecialValueText("…")  # shown until the budget in force is known
        self.budget.setToolTip(
            "How much memory loaded local models may use together; the "
            "least recently used idle ones are unloaded to stay within it"
        )
        self.budget_button = push_button(
            "Set budget",
            "Use this budget from now on",
            lambda: self.budget_requested.emit(self.budget.value()),
        )
        self.budget.setAccessibleName("Budget for models")
        for widget in (self.budget, self.budget_button):
            widget.setEnabled(False)  # until the budget in force is known
        memory = QtWidgets.QHBoxLayout()
        memory.addWidget(QtWidgets.QLabel("Memory for models:"))
        memory.addWidget(self.memory_bar, 1)
        memory.addWidget(QtWidgets.QLabel("Budget:"))
        memory.addWidget(self.budget)
        memory.addWidget(self.budget_button)
        return memory

    def _notes_area(self) -> QtWidgets.QFrame:
        self.notes = message_label("modelNotes")
        dismiss = QtWidgets.QToolButton()
        dismiss.setText("Dismiss")
        dismiss.setAutoRaise(True)
        dismiss.clicked.connect(lambda: self.show_notes([]))
        self.notes_frame = QtWidgets.QFrame()
        self.notes_frame.setObjectName("modelNotesFrame")
        self.notes_frame.setStyleSheet(
            "#modelNotesFrame { background: palette(alternate-base); "
            "border: 1px solid palette(mid); border-radius: 4px; }"
        )
        notes_layout = QtWidgets.QHBoxLayout(self.notes_frame)
        notes_layout.addWidget(self.notes, 1)
        # Kept at the top by a stretch below it rather than an alignment flag: the first use of
        # ``QtCore.Qt`` costs the window's start-up about 40 ms.
        dismiss_column = QtWidgets.QVBoxLayout()
        dismiss_column.addWidget(dismiss)
        dismiss_column.addStretch(1)
        notes_layout.addLayout(dismiss_column)
        self.notes_frame.hide()
        return self.notes_frame

    def _progress_row(self) -> QtWidgets.QWidget:
        self.progress_row = ProgressRow(
            "Stop it; nothing is left half done", self.cancel_requested.emit
        )
        self.progress_label = self.progress_row.label
        self.progress = self.progress_row.bar
        self.cancel_button = self.progress_row.cancel_button
        return self.progress_row

    # --- what the controller tells the pane ------------------------------------------

    def show_entries(self, entries: Sequence[CatalogEntry]) -> None:
        """The local models, as the catalog describes them."""
        self._entries = list(entries)
        usable = sum(1 for entry in entries if not entry.error)
        self.summary.setText(f"{usable} of {len(entries)} models available")
        self._render()

    def show_error(self, message: str) -> None:
        self.summary.setText(f"Could not read the models: {message}")

    def show_backends(self, reports: Sequence[BackendReport]) -> None:
        """What each backend offers, as just probed; the servers' models join the table."""
        self.servers.show_reports(reports)
        self._remote = [
            (reference, report.backend)
            for report in reports
            if report.backend != "llama.cpp"
            for reference in report.references
        ]
        self._render()

    def show_pool(self, loaded: Sequence[LoadedModel], in_use: int, budget: int) -> None:
        """The models loaded now and the memory they hold, against ``budget`` (bytes)."""
        self._loaded = {_same_file(model.path): model for model in loaded}
        first_budget = self._budget is None
        self._budget = budget
        self.memory_bar.setRange(0, max(1, budget // MIB))
        self.memory_bar.setValue(min(in_use, budget) // MIB)
        self.memory_bar.setFormat(
            f"{in_use / MIB:.0f} MiB of {budget // MIB} MiB in use (estimated)"
        )
        over = in_use > budget
        self.memory_bar.setToolTip(
            "The loaded models hold more than the budget; idle ones are unloaded as soon as "
            "room is needed."
            if over
            else "Estimated memory of the loaded local models"
        )
        if first_budget:
            self.budget.setSpecialValueText("")  # from now on the least is a real choice
            self.budget.setValue(budget // MIB)
            self.budget.setEnabled(True)
            self._update_buttons()
        self._render()

    def model_changed(self, status: ModelStatus) -> None:
        """A model began loading, became ready or unavailable, or was unloaded."""
        if status.state == "loading":
            self._loading.add(status.model)
            self._failed.pop(status.model, None)
        else:
            self._loading.discard(status.model)
        if status.state == "unavailable":
            self._failed[status.model] = status.detail
        elif status.state == "ready":
            self._failed.pop(status.model, None)
        self._render()

    def show_notes(self, notes: Sequence[Note]) -> None:
        """Say what came of the last thing asked, replacing what was said before; no notes
        hide the message area."""
        self._notes = list(notes)
        self._render_notes()

    def show_progress(self, text: str, done: int = 0, total: int = 0) -> None:
        """Work under way that can be cancelled; ``total`` 0 means its length is unknown."""
        self.progress_label.setText(text)
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * done / total))
            self.progress.setFormat(f"{done / MIB:.0f} of {total / MIB:.0f} MiB")
        else:
            self.progress.setRange(0, 0)  # moves to and fro: busy
        self.progress_row.show()
        self._set_busy(True)

    def hide_progress(self) -> None:
        self.progress_row.hide()
        self._set_busy(False)

    def status_of(self, reference: str) -> str:
        """The text in the status column of ``reference``'s row ("" without one)."""
        for row_index, row in enumerate(self._rows):
            if row.reference == reference:
                item = self.table.item(row_index, STATUS_COLUMN)
                return item.text() if item is not None else ""
        return ""

    def select(self, reference: str) -> None:
        """Select the row of ``reference``."""
        for row_index, row in enumerate(self._rows):
            if row.reference == reference:
                self.table.selectRow(row_index)
                return
        raise KeyError(reference)

    @property
    def notes_text(self) -> str:
        """What the message area says, as plain text."""
        return "\n".join(note.text for note in self._notes)

    # --- the table -------------------------------------------------------------------

    def _render(self) -> None:
        selected = self.selected_reference()
        rows = [
            _Row(entry.reference, entry.backend, local=True, entry=entry) for entry in self._entries
        ]
        known = {row.reference for row in rows}
        rows += [
            _Row(reference, backend, local=False)
            for reference, backend in self._remote
            if reference not in known
        ]
        self._rows = rows
        colours = self.palette()
        self.table.setRowCount(len(rows))
        for row_index, row in enumerate(rows):
            for column, (text, tip, meaning) in enumerate(self._cells(row)):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(tip)
                if meaning is not None:
                    item.setForeground(QtGui.QBrush(meaning_colour(meaning, colours)))
                self.table.setItem(row_index, column, item)
            if row.reference == selected:
                self.table.selectRow(row_index)
        self._update_buttons()

    def _cells(self, row: _Row) -> list[_Cell]:
        entry = row.entry
        if entry is None:
            where = f"Offered by {row.backend}"
            return [
                (row.reference, where, None),
                (row.backend, where, None),
                *[("", "", None)] * 6,
                self._status(row),
            ]
        tip = entry.path or entry.title
        values = (
            entry.reference,
            entry.backend,
            entry.family or "",
            _parameters(entry.parameters),
            entry.quantisation or "",
            str(entry.context_length or ""),
            _size(entry.size_bytes),
        )
        return [
            *((value, tip, None) for value in values),
            self._memory_cell(entry),
            self._status(row),
        ]

    def _memory_cell(self, entry: CatalogEntry) -> _Cell:
        text = _size(entry.memory_bytes)
        budget = self._budget
        if entry.memory_bytes is not None and budget is not None and entry.memory_bytes > budget:
            return (
                text,
                f"More than the memory budget ({budget / MIB:.0f} MiB): raise the "
                "budget to load it.",
                "warning",
            )
        return text, f"Estimated memory once loaded; {entry.title}", None

    def _status(self, row: _Row) -> _Cell:
        entry = row.entry
        if entry is None:
            return "available", f"Offered by {row.backend}; it loads when an agent uses it", None
        name = _pool_name(entry.reference)
        loaded = None if entry.error else self._loaded.get(_same_file(entry.path))
        if loaded is not None:
            in_use = ", in use by a run" if loaded.in_use else ""
            return (
                f"loaded{in_use}",
                f"Holds about {loaded.memory_bytes / MIB:.0f} MiB",
                "success",
            )
        if not entry.error and name in self._loading:
            return "loading…", "Starting its worker process", "info"
        problem = entry.error or self._failed.get(name)
        if problem:
            return "error", problem, "error"
        if not entry.instruction_tuned:
            return (
                "available (base model)",
                "A base model continues text rather than "
                "following instructions; prefer an instruction-tuned one for agents",
                None,
            )
        return "available", "Loads when an agent uses it, or now with Load", None

    def selected_reference(self) -> str | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return self._rows[min(rows)].reference if rows and min(rows) < len(self._rows) else None

    def _selected_row(self) -> _Row | None:
        reference = self.selected_reference()
        return next((row for row in self._rows if row.reference == reference), None)

    def _update_buttons(self) -> None:
        row = self._selected_row()
        local = row is not None and row.local and row.entry is not None and not row.entry.error
        loaded = (
            local
            and row is not None
            and row.entry is not None
            and (_same_file(row.entry.path) in self._loaded)
        )
        self.load_button.setEnabled(local and not loaded and not self._busy)
        self.unload_button.setEnabled(loaded and not self._busy)
        self.add_button.setEnabled(True)  # files dropped while busy wait their turn
        self.budget_button.setEnabled(self._budget is not None and not self._busy)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _ask_for(self, signal: QtCore.SignalInstance) -> None:
        row = self._selected_row()
        if row is not None and row.local and not self._busy:
            signal.emit(row.reference)

    # --- notes -----------------------------------------------------------------------

    def _render_notes(self) -> None:
        if not self._notes:
            self.notes_frame.hide()
            return
        colours = self.palette()
        self.notes.setText(
            "".join(
                f'<p style="margin: 2px 0; color: {meaning_colour(note.meaning, colours).name()}">'
                f"{_lines(note.text)}</p>"
                for note in self._notes
            )
        )
        self.notes_frame.show()

    # --- events ----------------------------------------------------------------------

    def _choose_files(self) -> None:
        dialog = QtWidgets.QFileDialog(self, "Add model files", "", GGUF_FILTER)
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(
            lambda names: self.files_chosen.emit([Path(name) for name in names])
        )
        self._file_dialog = dialog
        dialog.open()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if not self._was_shown:
            self._was_shown = True
            self.first_shown.emit()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.PaletteChange:
            # The meaning colours differ between light and dark: paint them again.
            self._render()
            self._render_notes()


def _pool_name(reference: str) -> str:
    """The name the pool gives the model of a catalog reference."""
    return reference.removeprefix(BUNDLED_SCHEME)


def _lines(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.splitlines())
