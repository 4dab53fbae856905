"""The price editor: what remote models cost per million tokens, in prices.json.

Each cell is checked as it is typed: the price fields take digits and one point only, and a
row with a missing, duplicated or misplaced pattern, or a missing price, is marked where it is
and keeps Save disabled with a line saying why. The costs service reads and writes the file
off the event loop, replacing it atomically.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from purpose_desktop.engine.costs import Price, PriceTable, price_problem
from purpose_desktop.errors import UserError
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets.notice import notice_label, say

if TYPE_CHECKING:
    from purpose_desktop.services.costs import CostsService

COLUMNS = ("Model or pattern", "Input per million tokens", "Output per million tokens")
_AMOUNT = r"\d{0,9}(\.\d{0,6})?"  # no sign, no letters: a price is a plain amount
EXPLANATION = (
    "What remote models cost, in your currency per million tokens. Local models (bundled, "
    "GGUF files, Ollama) cost nothing and need no price. A pattern ending in * covers every "
    "model it starts, such as server:openrouter/*. New prices apply to runs started from now "
    "on; calls already recorded keep the price they were charged."
)


class _AmountDelegate(QtWidgets.QStyledItemDelegate):
    """Edits the price columns in a field that accepts only a plain non-negative amount."""

    def createEditor(
        self,
        parent: QtWidgets.QWidget,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
    ) -> QtWidgets.QWidget:
        editor = super().createEditor(parent, option, index)
        if index.column() > 0 and isinstance(editor, QtWidgets.QLineEdit):
            editor.setValidator(
                QtGui.QRegularExpressionValidator(QtCore.QRegularExpression(_AMOUNT), editor)
            )
        return editor


class PriceEditor(QtWidgets.QDialog):
    """Edits the price table of ``costs``; :attr:`saved` once it is written."""

    saved = Signal(object)
    """The :class:`PriceTable` just saved."""

    def __init__(
        self, parent: QtWidgets.QWidget | None, costs: CostsService, tasks: TaskKeeper
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Prices of remote models")
        self.setObjectName("priceEditor")
        self._costs = costs
        self._operations = Operations(tasks)
        intro = QtWidgets.QLabel(EXPLANATION)
        intro.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setItemDelegate(_AmountDelegate(self.table))
        describe(
            self.table,
            "Prices",
            "One price a row: a model reference or a pattern ending in *, then money per "
            "million tokens in and out",
        )
        self.add_button = QtWidgets.QPushButton("&Add price")
        self.remove_button = QtWidgets.QPushButton("&Remove")
        self.problem = notice_label()
        """The first problem of a cell."""
        self.notice = notice_label()
        """Why the file could not be read or written."""
        buttons = QtWidgets.QDialogButtonBox()
        self.save_button = buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Save)
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.problem)
        layout.addWidget(self.notice)
        layout.addWidget(buttons)
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self._remove_rows)
        self.table.itemChanged.connect(lambda _item: self.check())
        self.resize(660, 400)
        self._read = False  # Save waits for the file: it would replace what it holds
        self.save_button.setEnabled(False)
        self.loaded: asyncio.Task[None] = self._operations.run(
            "read prices", costs.prices, done=self._show, failed=self._unreadable
        )
        """Done once the file is read and shown."""

    def _unreadable(self, exc: UserError) -> None:
        say(self.notice, f"{exc} Saving replaces it.")
        self._show(PriceTable({}))

    def _show(self, prices: PriceTable) -> None:
        for pattern, price in sorted(prices.prices.items()):
            self.add_row(pattern, f"{price.input_per_million:g}", f"{price.output_per_million:g}")
        self._read = True
        self.check()

    # --- rows -----------------------------------------------------------------------------

    def add_row(self, pattern: str = "", input_price: str = "", output_price: str = "") -> int:
        """Add a row (blank, or with the values given) and return its number."""
        row = self.table.rowCount()
        items = [QtWidgets.QTableWidgetItem(text) for text in (pattern, input_price, output_price)]
        self.table.blockSignals(True)  # checked once, below, rather than once per cell
        self.table.insertRow(row)
        for column, item in enumerate(items):
            self.table.setItem(row, column, item)
        self.table.blockSignals(False)
        if not pattern:
            self.table.setCurrentItem(items[0])
            self.table.editItem(items[0])
        self.check()
        return row

    def _remove_rows(self) -> None:
        for row in sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)
        self.check()

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    # --- checking and saving --------------------------------------------------------------

    def problems(self) -> dict[tuple[int, int], str]:
        """What is wrong, by (row, column); rows left wholly blank are ignored."""
        found: dict[tuple[int, int], str] = {}
        seen: set[str] = set()
        for row in range(self.table.rowCount()):
            pattern, *amounts = (self._text(row, column) for column in range(3))
            if not (pattern or any(amounts)):
                continue
            if not pattern:
                found[row, 0] = "Name a model (server:name/model) or a pattern ending in *."
            elif "*" in pattern[:-1]:
                found[row, 0] = "A * may only end a pattern."
            elif pattern in seen:
                found[row, 0] = "This model is priced twice."
            seen.add(pattern)
            for column, amount in enumerate(amounts, start=1):
                problem = price_problem(amount)
                if problem is not None:
                    found[row, column] = problem
        return found

    def check(self) -> bool:
        """Mark every cell with a problem, say the first, and allow saving if there is
        none; whether there is none."""
        found = self.problems()
        tint = meaning_colour("error", self.palette())
        tint.setAlpha(70)
        self.table.blockSignals(True)  # marking a cell changes it: no checking it again
        for row in range(self.table.rowCount()):
            for column in range(len(COLUMNS)):
                item = self.table.item(row, column)
                if item is None:
                    continue
                problem = found.get((row, column))
                item.setBackground(tint if problem else QtGui.QBrush())
                item.setToolTip(problem or "")
        self.table.blockSignals(False)
        first = min(found.items()) if found else None
        say(
            self.problem,
            ""
            if first is None
            else f"Row {first[0][0] + 1}, {COLUMNS[first[0][1]].lower()}: {first[1]}",
        )
        self.save_button.setEnabled(not found and self._read)
        return not found

    def price_table(self) -> PriceTable:
        """The table as entered (call :meth:`check` first: it must have no problem)."""
        return PriceTable(
            {
                self._text(row, 0): Price(float(self._text(row, 1)), float(self._text(row, 2)))
                for row in range(self.table.rowCount())
                if self._text(row, 0)
            }
        )

    def save(self) -> None:
        if self.check():
            self.save_button.setEnabled(False)
            prices = self.price_table()
            self._operations.run(
                "save prices",
                lambda: self._costs.save_prices(prices),
                done=lambda _: self._saved(prices),
                failed=self._not_saved,
            )

    def _saved(self, prices: PriceTable) -> None:
        self.saved.emit(prices)
        self.accept()

    def _not_saved(self, exc: UserError) -> None:
        say(self.notice, str(exc))
        self.save_button.setEnabled(True)
