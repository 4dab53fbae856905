"""Tables of memories a page at a time: the model that holds one page, the pager under it, and
:class:`PagedListing`, which keeps a table showing the page of a query that a service reads.

A team may have a hundred thousand memories; a table never holds more than one page of them,
so showing, sorting and searching cost the same at any size (the database does the work).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from purpose_desktop.engine.learning.memory import Experience, Heuristic
from purpose_desktop.engine.text import shorten
from purpose_desktop.services.memory import pages_for
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.theme import follow_font, meaning_colour

if TYPE_CHECKING:
    from purpose_desktop.services.memory import MemoryPage

#: Rows a table shows at once.
PAGE_SIZE = 200
#: Characters of a long text a cell shows; its tooltip holds all of it.
CELL_CHARACTERS = 160

Row = TypeVar("Row", Heuristic, Experience)
Role = QtCore.Qt.ItemDataRole
_ROOT = QtCore.QModelIndex()


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column: its title, the text of a row's cell, whether it holds a number (aligned
    right), what the cell's colour means, if anything (see ``theme.MEANING_COLOURS``), and
    whether it holds free text (the columns that share the table's width; the others are as
    wide as what they hold)."""

    title: str
    text: Callable[[Row], str]
    numeric: bool = False
    meaning: Callable[[Row], str | None] | None = None
    wide: bool = False


def _success(heuristic: Heuristic) -> str:
    rate = heuristic.success_rate
    return "" if rate is None else f"{rate:.0%}"


def _runs(heuristic: Heuristic) -> str:
    return str(len(heuristic.run_ids)) if heuristic.run_ids else ""


HEURISTIC_COLUMNS: tuple[Column[Heuristic], ...] = (
    Column(
        "Pinned",
        lambda h: "pinned" if h.pinned else "",
        meaning=lambda h: "info" if h.pinned else None,
    ),
    Column("Tier", lambda h: h.tier.value),
    Column("Pattern", lambda h: h.pattern, wide=True),
    Column("Strategy", lambda h: h.strategy, wide=True),
    Column("Q", lambda h: f"{h.q_value:.2f}", numeric=True),
    Column("Uses", lambda h: str(h.uses), numeric=True),
    Column("Success", _success, numeric=True),
    Column(
        "Source", lambda h: h.source, meaning=lambda h: "special" if h.source == "human" else None
    ),
    Column("Runs", _runs, numeric=True),
)

OUTCOME_MEANINGS = {"completed": "success", "failed": "error", "cancelled": "hint"}

EXPERIENCE_COLUMNS: tuple[Column[Experience], ...] = (
    Column("Task", lambda e: e.task, wide=True),
    Column("Outcome", lambda e: e.outcome, meaning=lambda e: OUTCOME_MEANINGS.get(e.outcome)),
    Column("Φ", lambda e: f"{e.final_phi:g}", numeric=True),
    Column("Steps", lambda e: str(e.steps), numeric=True),
    Column("Q", lambda e: f"{e.q_value:.2f}", numeric=True),
    Column("Run", lambda e: e.run_id[:8]),
    Column("Summary", lambda e: e.summary, wide=True),
)


class PageModel(QtCore.QAbstractTableModel, Generic[Row]):
    """The rows of one page, read-only."""

    def __init__(
        self, columns: Sequence[Column[Row]], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._columns: tuple[Column[Row], ...] = tuple(columns)
        self._rows: list[Row] = []

    @property
    def columns(self) -> tuple[Column[Row], ...]:
        return self._columns

    @property
    def rows(self) -> list[Row]:
        return list(self._rows)

    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, index: int) -> Row:
        return self._rows[index]

    def row_of(self, memory_id: int) -> int | None:
        """Where the memory with this id is on the page, if it is."""
        return next((i for i, row in enumerate(self._rows) if row.id == memory_id), None)

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: QtCore.Qt.Orientation, role: int = Role.DisplayRole
    ) -> Any:
        if orientation == QtCore.Qt.Orientation.Horizontal and role == Role.DisplayRole:
            return self._columns[section].title
        return None

    def data(
        self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = Role.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        column, row = self._columns[index.column()], self._rows[index.row()]
        if role == Role.DisplayRole:
            return shorten(column.text(row), CELL_CHARACTERS)
        if role == Role.ToolTipRole:
            full = column.text(row)
            return full if len(full) > CELL_CHARACTERS or "\n" in full else None
        if role == Role.TextAlignmentRole and column.numeric:
            return QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        if role == Role.ForegroundRole and column.meaning is not None:
            meaning = column.meaning(row)
            return None if meaning is None else QtGui.QBrush(meaning_colour(meaning))
        return None


def counted(number: int, noun: str) -> str:
    """``"1 heuristic"``, ``"5,000 heuristics"``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


class Pager(QtWidgets.QWidget):
    """Previous and next buttons around "Page 2 of 25 · 5,000 heuristics"."""

    page_requested = Signal(int)

    def __init__(self, noun: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._noun = noun
        self.page = 0
        self.pages = 0
        self.previous_button = QtWidgets.QPushButton("◀ Previous")
        self.next_button = QtWidgets.QPushButton("Next ▶")
        # Without the arrows, which a screen reader would read out as triangles.
        self.previous_button.setAccessibleName(f"Previous page of {noun}s")
        self.next_button.setAccessibleName(f"Next page of {noun}s")
        self.label = QtWidgets.QLabel("")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.label)
        layout.addWidget(self.next_button)
        self.previous_button.clicked.connect(lambda: self.page_requested.emit(self.page - 1))
        self.next_button.clicked.connect(lambda: self.page_requested.emit(self.page + 1))
        self.show_page(0, 0)

    def show_page(self, page: int, total: int) -> None:
        self.page = page
        self.pages = pages_for(total, PAGE_SIZE)
        self.label.setText(f"Page {page + 1} of {self.pages} · {counted(total, self._noun)}")
        self.previous_button.setEnabled(page > 0)
        self.next_button.setEnabled(page + 1 < self.pages)


Fetch = Callable[[Any, str, int, "int | None"], Awaitable["MemoryPage[Any]"]]
"""A page of what a query finds: given the query, the order, the page number and the total
when it is known (``None``: count it)."""


class PagedListing(QtCore.QObject):
    """Keeps a table showing one page of what a query finds, read by ``fetch``.

    A new query (or order) starts again from the first page. A newer load always wins: the
    one under way is cancelled and its answer never shown, so typing fast in a search box
    never leaves an older search's rows on screen.
    """

    loaded = Signal()
    failed = Signal(str)

    def __init__(
        self,
        operations: Operations,
        name: str,
        fetch: Fetch,
        *,
        model: PageModel[Any],
        pager: Pager,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._operations = operations
        self._name = name
        self._fetch = fetch
        self.model = model
        self.pager = pager
        self.query: Any = None
        self.order = ""
        self.total = 0
        self._counted = False  # whether ``total`` is the current query's
        self.selected_ids: tuple[int, ...] = ()
        """The ids the last load was asked to keep selected (the view selects them)."""
        pager.page_requested.connect(self.go_to)

    @property
    def loading(self) -> bool:
        return self._operations.busy(self._name)

    def show(self, query: Any, order: str) -> asyncio.Task[None] | None:
        """Show the first page of what ``query`` finds in ``order``."""
        self.query, self.order = query, order
        self._counted = False
        return self._load(0, recount=True, keep=())

    def go_to(self, page: int) -> asyncio.Task[None] | None:
        return self._load(page, recount=False, keep=())

    def reload(self, keep: Sequence[int] = ()) -> asyncio.Task[None] | None:
        """Count and show the current page again (after a change), selecting the memories
        with the ids in ``keep`` that are still on it."""
        return self._load(self.pager.page, recount=True, keep=keep)

    def _load(self, page: int, *, recount: bool, keep: Sequence[int]) -> asyncio.Task[None] | None:
        if self.query is None:
            return None
        query, order, fetch = self.query, self.order, self._fetch
        total = None if recount or not self._counted else self.total
        kept = tuple(keep)
        return self._operations.run(
            self._name,
            lambda: fetch(query, order, page, total),
            done=lambda found: self._show(found, kept),
            failed=lambda exc: self.failed.emit(str(exc)),
            latest=True,
        )

    def _show(self, found: MemoryPage[Any], keep: tuple[int, ...]) -> None:
        self.total, self._counted = found.total, True
        self.model.set_rows(found.rows)
        self.pager.show_page(found.page, found.total)
        self.selected_ids = keep
        self.loaded.emit()


def select_ids(view: QtWidgets.QTableView, model: PageModel[Any], ids: Sequence[int]) -> None:
    """Select the rows of the memories with these ids that the page holds; the first becomes
    current."""
    selection = view.selectionModel()
    selection.clearSelection()
    flags = (
        QtCore.QItemSelectionModel.SelectionFlag.Select
        | QtCore.QItemSelectionModel.SelectionFlag.Rows
    )
    first = True
    for memory_id in ids:
        row = model.row_of(memory_id)
        if row is None:
            continue
        index = model.index(row, 0)
        if first:
            selection.setCurrentIndex(index, flags)
            view.scrollTo(index)
            first = False
        else:
            selection.select(index, flags)


def memory_table(model: PageModel[Any]) -> QtWidgets.QTableView:
    """A table view of whole-row selections (several at once) over one page."""
    view = QtWidgets.QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    rows = view.verticalHeader()
    follow_font(view, lambda: rows.setDefaultSectionSize(view.fontMetrics().height() + 8))
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    modes = QtWidgets.QHeaderView.ResizeMode
    for number, column in enumerate(model.columns):
        header.setSectionResizeMode(
            number, modes.Stretch if column.wide else modes.ResizeToContents
        )
    return view


def selected_rows(view: QtWidgets.QTableView, model: PageModel[Row]) -> list[Row]:
    """The selected memories, top to bottom."""
    rows = sorted({index.row() for index in view.selectionModel().selectedRows()})
    return [model.row(r) for r in rows if r < model.rowCount()]
