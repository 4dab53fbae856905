"""Choosing a model from the catalog, with its size, context and memory fit beside it."""

from __future__ import annotations

import html
from collections.abc import Sequence

from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.widgets.field_marks import ERROR_COLOUR, FieldMark

FITS_COLOUR = "#2e7d32"


def size_text(size_bytes: int) -> str:
    """``98362432`` as ``94 MiB``; sizes of a gibibyte and more as ``1.5 GiB``."""
    mib = size_bytes / 2**20
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"


def fits(entry: CatalogEntry, budget_bytes: int) -> bool:
    """Whether the model, loaded, stays within the memory budget for models."""
    return entry.memory_bytes is not None and entry.memory_bytes <= budget_bytes


def describe_entry(entry: CatalogEntry, budget_bytes: int) -> str:
    """A line of rich text: file size, context length and whether it fits in memory."""
    if entry.error:
        return _coloured(f"Cannot be used: {entry.error}", ERROR_COLOUR)
    parts = [html.escape(entry.reference)]
    if entry.size_bytes:
        parts.append(f"{size_text(entry.size_bytes)} file")
    if entry.context_length:
        parts.append(f"context {entry.context_length:,} tokens")
    if entry.memory_bytes is not None:
        budget = size_text(budget_bytes)
        needs = f"needs {size_text(entry.memory_bytes)}"
        parts.append(
            _coloured(f"{needs}: fits in memory ({budget} for models)", FITS_COLOUR)
            if fits(entry, budget_bytes)
            else _coloured(f"{needs}: more than the {budget} for models", ERROR_COLOUR)
        )
    if entry.instruction_tuned is False:
        parts.append("a base model, not tuned to follow instructions")
    return " · ".join(parts)


def suggested_model(entries: Sequence[CatalogEntry], budget_bytes: int) -> str:
    """The model a new agent starts on: the first usable chat model that fits in memory,
    else the first usable one, else none (``""``)."""
    usable = [entry for entry in entries if not entry.error]
    chat = [e for e in usable if e.instruction_tuned is not False and fits(e, budget_bytes)]
    return next((entry.reference for entry in (*chat, *usable)), "")


def _coloured(text: str, colour: str) -> str:
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


CHOOSE_A_MODEL = "A model of the catalog: bundled, a GGUF file, Ollama's or a server's"


class ModelChoice(QtWidgets.QWidget):
    """A drop-down of the catalog's models, and a line describing the chosen one; ``mark``
    marks the drop-down when the choice is not valid.

    A reference the catalog does not hold (a GGUF path, a server's model) stays choosable,
    marked as not in the catalog, so opening and saving a team never changes its models.
    """

    changed = Signal()
    """The person chose another model."""

    def __init__(self, placeholder: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = placeholder
        self._entries: dict[str, CatalogEntry] = {}
        self._budget = 0
        self._catalog_known = False
        self.combo = QtWidgets.QComboBox()
        self.combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(24)
        self.mark = FieldMark(self.combo, CHOOSE_A_MODEL)
        self.details = QtWidgets.QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextFormat(QtCore.Qt.TextFormat.RichText)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.mark.frame)
        layout.addWidget(self.mark.message)
        layout.addWidget(self.details)
        self.combo.currentIndexChanged.connect(self._chosen)
        self._fill("")

    def reference(self) -> str:
        """The chosen model's reference, or ``""`` while none is chosen."""
        return str(self.combo.currentData() or "")

    def set_reference(self, reference: str) -> None:
        """Show ``reference`` as chosen, without emitting :attr:`changed`."""
        self._fill(reference)

    def set_catalog(self, entries: Sequence[CatalogEntry], budget_bytes: int) -> None:
        """Offer ``entries``; "fits in memory" is measured against ``budget_bytes``."""
        self._entries = {entry.reference: entry for entry in entries}
        self._budget = budget_bytes
        self._catalog_known = True
        self._fill(self.reference())

    def _fill(self, chosen: str) -> None:
        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            self.combo.addItem(self._placeholder, "")
            for entry in self._entries.values():
                self._add_entry(entry)
            if chosen and chosen not in self._entries:
                unknown = " (not in the catalog)" if self._catalog_known else ""
                self.combo.addItem(chosen + unknown, chosen)
            self.combo.setCurrentIndex(max(0, self.combo.findData(chosen)))
        finally:
            self.combo.blockSignals(False)
        self._describe()

    def _add_entry(self, entry: CatalogEntry) -> None:
        title = entry.title
        if entry.error:
            title += " (cannot be used)"
        elif not fits(entry, self._budget):
            title += " (too large for memory)"
        self.combo.addItem(title, entry.reference)
        index = self.combo.count() - 1
        self.combo.setItemData(
            index, entry.error or entry.path or entry.reference, QtCore.Qt.ItemDataRole.ToolTipRole
        )
        model = self.combo.model()
        if entry.error and isinstance(model, QtGui.QStandardItemModel):
            # Listed, so the person sees the file and why it cannot be used, but not choosable.
            model.item(index).setEnabled(False)

    def _chosen(self) -> None:
        self._describe()
        self.changed.emit()

    def _describe(self) -> None:
        reference = self.reference()
        entry = self._entries.get(reference)
        if entry is not None:
            text = describe_entry(entry, self._budget)
        elif not reference:
            text = ""
        elif self._catalog_known:
            text = html.escape(f"{reference}: not in the catalog (a file or a server's model)")
        else:
            text = "Reading the models…"
        self.details.setText(text)
        self.details.setVisible(bool(text))
        # A screen reader hears about the chosen model what the line under it says.
        plain = QtGui.QTextDocumentFragment.fromHtml(text).toPlainText()
        self.mark.description = plain or CHOOSE_A_MODEL
        self.combo.setAccessibleDescription(self.mark.description)
