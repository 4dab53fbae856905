"""The models pane: the models the app can run, read from their files without loading them."""

from __future__ import annotations

from collections.abc import Sequence

from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.widgets import read_only_table

COLUMNS = ("Model", "Backend", "Family", "Parameters", "Quantisation", "Context", "Size",
           "Est. memory", "Status")


def _size(size_bytes: int | None) -> str:
    return f"{size_bytes / 2**20:.0f} MiB" if size_bytes else ""


def _parameters(count: int | None) -> str:
    if not count:
        return ""
    return f"{count / 1e9:.1f} B" if count >= 1e9 else f"{count / 1e6:.0f} M"


def _status(entry: CatalogEntry) -> str:
    if entry.error:
        return f"unusable: {entry.error}"
    return "available" if entry.instruction_tuned else "available (base model, not for chat)"


class ModelsPane(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.summary = QtWidgets.QLabel("Reading model files…")
        self.table = read_only_table(COLUMNS)
        header = QtWidgets.QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.refresh_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.table, 1)

    def show_entries(self, entries: Sequence[CatalogEntry]) -> None:
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            values = (
                entry.reference,
                entry.backend,
                entry.family or "",
                _parameters(entry.parameters),
                entry.quantisation or "",
                str(entry.context_length or ""),
                _size(entry.size_bytes),
                _size(entry.memory_bytes),
                _status(entry),
            )
            for column, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                item.setToolTip(entry.error or entry.path or entry.title)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        usable = sum(1 for entry in entries if not entry.error)
        self.summary.setText(f"{usable} of {len(entries)} models available")

    def show_error(self, message: str) -> None:
        self.summary.setText(f"Could not read the models: {message}")
