"""The memory browser's view: a team's heuristics and experiences a page at a time, with the
search, filters and sort that choose them, the selected memory in full, the actions on the
selection, and the memories each step of a recorded run was given.

It shows what it is given and says what the person asks for through its signals; the
:class:`~purpose_desktop.ui.memory.controller.MemoryController` reads and writes the memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.memory.details import experience_detail, heuristic_detail
from purpose_desktop.ui.memory.retrieved import RetrievedView
from purpose_desktop.ui.memory.table import (
    EXPERIENCE_COLUMNS,
    HEURISTIC_COLUMNS,
    PageModel,
    Pager,
    memory_table,
    selected_rows,
)
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.theme import meaning_colour

if TYPE_CHECKING:
    from purpose_desktop.engine.recording.run_records import RunDetail
    from purpose_desktop.services.memory import ExperienceOrder, HeuristicOrder

#: How long typing must pause before the search runs.
SEARCH_DELAY_MS = 250
HEURISTIC_ORDERS: tuple[tuple[str, HeuristicOrder], ...] = (
    ("Q-value", "q_value"),
    ("Uses", "uses"),
    ("Newest", "newest"),
)
EXPERIENCE_ORDERS: tuple[tuple[str, ExperienceOrder], ...] = (
    ("Q-value", "q_value"),
    ("Newest", "newest"),
)
NOTHING_LEARNED = (
    "Nothing learned yet. Heuristics and past experiences the team gathers from "
    "its runs will be listed here."
)
NOT_RECORDED_HERE = (
    "The run this experience came from is not recorded in this database (its memory was "
    "imported, or the run was deleted)."
)


class MemoryBrowser(QtWidgets.QWidget):
    """The widgets of the Memory pane. Actions on memories are enabled once
    :meth:`set_writable` says the memory can be changed."""

    search_requested = Signal()
    """The search text (once typing pauses, or at Enter) or the team changed."""
    heuristic_filters_changed = Signal()
    experience_filters_changed = Signal()
    experience_chosen = Signal(object)
    """Another experience became the first selected: its run's trajectory is wanted
    (:meth:`show_trajectory`)."""
    retrieved_shown = Signal()
    """The "Retrieved for a step" tab was brought to the front."""
    edit_requested = Signal()
    inject_requested = Signal()
    pin_requested = Signal()
    delete_requested = Signal()
    """Delete the selected memories of the tab shown (the Delete key, or a Delete button)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.writable = False
        self._trajectory_of: int | None = None  # the experience whose detail is shown
        self._build_top()
        self._build_heuristics()
        self._build_experiences()
        self.retrieved = RetrievedView()
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.heuristics_page, "&Heuristics")
        self.tabs.addTab(self.experiences_page, "E&xperiences")
        self.tabs.addTab(self.retrieved, "Retrieved for a &step")
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self.top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status_line)
        self._connect()
        self.update_buttons()

    # --- building -------------------------------------------------------------------------

    def _build_top(self) -> None:
        self.team_box = QtWidgets.QComboBox()
        self.team_box.setMinimumContentsLength(16)
        self.search_box = QtWidgets.QLineEdit()
        self.search_box.setObjectName("memorySearch")
        self.search_box.setPlaceholderText(
            "Search patterns, strategies, tasks and summaries (Ctrl+F)"
        )
        self.search_box.setClearButtonEnabled(True)
        self.search_timer = QtCore.QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.status_line = QtWidgets.QLabel("")
        self.status_line.setObjectName("memoryStatus")
        self.status_line.setWordWrap(True)
        self.refresh_button = _button(
            "Re&fresh",
            "Read the memory again: runs, and other programs sharing the database, change it",
        )
        team_label = QtWidgets.QLabel("Te&am")
        team_label.setBuddy(self.team_box)
        describe(self.team_box, "Team", "The team whose memory is shown")
        describe(
            self.search_box,
            "Search memory",
            "Words to look for in patterns, strategies, tasks and summaries (Ctrl+F)",
        )
        self.top = QtWidgets.QHBoxLayout()
        self.top.addWidget(team_label)
        self.top.addWidget(self.team_box)
        self.top.addWidget(self.search_box, 1)
        self.top.addWidget(self.refresh_button)

    def _build_heuristics(self) -> None:
        self.tier_box = _choices([("All tiers", None)] + [(t.value.capitalize(), t) for t in Tier])
        self.source_box = _choices(
            [("Any source", None), ("Distilled", "distilled"), ("Human", "human")]
        )
        self.min_q, self.max_q = _q_box("Q from ", 0.0), _q_box("to ", 1.0)
        self.heuristic_order = _choices(HEURISTIC_ORDERS)
        self.heuristic_model: PageModel[Heuristic] = PageModel(HEURISTIC_COLUMNS, self)
        self.heuristic_view = memory_table(self.heuristic_model)
        self.heuristic_view.setObjectName("heuristicTable")
        self.heuristic_pager = Pager("heuristic")
        self.heuristic_detail = _detail_view()
        describe(self.tier_box, "Tier", "Show the heuristics of one tier, or of all")
        describe(
            self.source_box, "Source", "Show distilled heuristics, those written by hand, or both"
        )
        describe(self.min_q, "Least Q-value", "Show heuristics whose Q-value is at least this")
        describe(self.max_q, "Greatest Q-value", "Show heuristics whose Q-value is at most this")
        describe(self.heuristic_order, "Sort heuristics by", "The order of the heuristics")
        describe(
            self.heuristic_view,
            "Heuristics",
            "The team's heuristics, one page at a time; Enter edits the selected one, Delete "
            "deletes the selected ones",
        )
        describe(self.heuristic_detail, "Heuristic", "All of the selected heuristic")
        self.inject_button = _button(
            "Inject heuristic…", "Write a heuristic for the team by hand (source: human)"
        )
        self.edit_button = _button("Edit…", "Edit the selected heuristic (Enter)")
        self.pin_button = _button("Pin", "Pinned heuristics come first whenever they fit a step")
        self.delete_heuristics_button = _button(
            "Delete…", "Delete the selected heuristics (Delete)"
        )
        filters = _row(
            _labelled("&Tier", self.tier_box),
            _labelled("S&ource", self.source_box),
            self.min_q,
            self.max_q,
            1,
            _labelled("Sort &by", self.heuristic_order),
        )
        actions = _row(
            self.inject_button,
            self.edit_button,
            self.pin_button,
            self.delete_heuristics_button,
            1,
            self.heuristic_pager,
        )
        self.heuristics_page = _page(
            filters, self.heuristic_view, self.heuristic_detail, actions, detail_share=1
        )

    def _build_experiences(self) -> None:
        self.outcome_box = _choices(
            [
                ("Any outcome", None),
                ("Completed", "completed"),
                ("Failed", "failed"),
                ("Cancelled", "cancelled"),
            ]
        )
        self.experience_min_q = _q_box("Q from ", 0.0)
        self.experience_order = _choices(EXPERIENCE_ORDERS)
        self.experience_model: PageModel[Experience] = PageModel(EXPERIENCE_COLUMNS, self)
        self.experience_view = memory_table(self.experience_model)
        self.experience_view.setObjectName("experienceTable")
        self.experience_pager = Pager("experience")
        self.experience_detail = _detail_view()
        describe(self.outcome_box, "Outcome", "Show the experiences of runs that ended this way")
        describe(
            self.experience_min_q,
            "Least Q-value",
            "Show experiences whose Q-value is at least this",
        )
        describe(self.experience_order, "Sort experiences by", "The order of the experiences")
        describe(
            self.experience_view,
            "Experiences",
            "The team's past experiences, one page at a time; Delete deletes the selected ones",
        )
        describe(
            self.experience_detail,
            "Experience",
            "The selected experience, with the trajectory of its run",
        )
        self.delete_experiences_button = _button(
            "Delete…", "Delete the selected experiences (Delete)"
        )
        filters = _row(
            _labelled("&Outcome", self.outcome_box),
            self.experience_min_q,
            1,
            _labelled("Sort &by", self.experience_order),
        )
        actions = _row(self.delete_experiences_button, 1, self.experience_pager)
        # More room for the detail: it holds the run's trajectory.
        self.experiences_page = _page(
            filters, self.experience_view, self.experience_detail, actions, detail_share=2
        )

    def _connect(self) -> None:
        self.search_box.textChanged.connect(lambda _text: self.search_timer.start())
        self.search_box.returnPressed.connect(self._search)
        self.search_timer.timeout.connect(self._search)
        self.team_box.currentIndexChanged.connect(lambda _i: self._search())
        for box in (self.tier_box, self.source_box, self.heuristic_order):
            box.currentIndexChanged.connect(lambda _i: self.heuristic_filters_changed.emit())
        for spin in (self.min_q, self.max_q):
            spin.valueChanged.connect(lambda _v: self.heuristic_filters_changed.emit())
        for box in (self.outcome_box, self.experience_order):
            box.currentIndexChanged.connect(lambda _i: self.experience_filters_changed.emit())
        self.experience_min_q.valueChanged.connect(
            lambda _v: self.experience_filters_changed.emit()
        )
        for view in (self.heuristic_view, self.experience_view):
            view.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed())
            delete = QtGui.QShortcut(
                QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Delete),
                view,
                self.delete_requested.emit,
            )
            delete.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        self.heuristic_view.activated.connect(lambda _index: self.edit_requested.emit())
        self.inject_button.clicked.connect(self.inject_requested)
        self.edit_button.clicked.connect(self.edit_requested)
        self.pin_button.clicked.connect(self.pin_requested)
        self.delete_heuristics_button.clicked.connect(self.delete_requested)
        self.delete_experiences_button.clicked.connect(self.delete_requested)
        find = QtGui.QShortcut(
            QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Find), self, self.focus_search
        )
        find.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.tabs.currentChanged.connect(lambda _i: self._tab_changed())

    # --- what is asked for -------------------------------------------------------------

    @property
    def team(self) -> str | None:
        """The team whose memory is shown."""
        data = self.team_box.currentData()
        return data if isinstance(data, str) else None

    def heuristic_query(self) -> HeuristicQuery | None:
        """The heuristics the search and filters choose; ``None`` without a team."""
        team = self.team
        if team is None:
            return None
        low, high = sorted((self.min_q.value(), self.max_q.value()))
        tier = self.tier_box.currentData()
        return HeuristicQuery(
            team,
            self.search_box.text(),
            tiers=() if tier is None else (tier,),
            min_q=low if low > 0 else None,
            max_q=high if high < 1 else None,
            source=self.source_box.currentData(),
        )

    def heuristic_order_chosen(self) -> HeuristicOrder:
        order: HeuristicOrder = self.heuristic_order.currentData()
        return order

    def experience_query(self) -> ExperienceQuery | None:
        """The experiences the search and filters choose; ``None`` without a team."""
        team = self.team
        if team is None:
            return None
        low = self.experience_min_q.value()
        return ExperienceQuery(
            team,
            self.search_box.text(),
            outcome=self.outcome_box.currentData(),
            min_q=low if low > 0 else None,
        )

    def experience_order_chosen(self) -> ExperienceOrder:
        order: ExperienceOrder = self.experience_order.currentData()
        return order

    def on_heuristics(self) -> bool:
        """Whether the heuristics are the tab shown."""
        return self.tabs.currentWidget() is self.heuristics_page

    def on_retrieved(self) -> bool:
        """Whether "Retrieved for a step" is the tab shown."""
        return self.tabs.currentWidget() is self.retrieved

    def focus_search(self) -> None:
        self.search_box.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _search(self) -> None:
        self.search_timer.stop()
        self.search_requested.emit()

    def _tab_changed(self) -> None:
        if self.on_retrieved():
            self.retrieved_shown.emit()
        self.update_buttons()

    # --- showing -----------------------------------------------------------------------

    def teams_listed(self) -> list[str]:
        return [str(self.team_box.itemData(i)) for i in range(self.team_box.count())]

    def list_teams(self, names: Sequence[str], chosen: str | None) -> bool:
        """List the teams ``names``, choosing ``chosen`` (else the first); whether the team
        shown changed. Choosing here asks for no search."""
        shown = self.team
        self.team_box.blockSignals(True)
        self.team_box.clear()
        for name in names:
            self.team_box.addItem(name, name)
        index = self.team_box.findData(chosen) if chosen is not None else -1
        self.team_box.setCurrentIndex(index if index >= 0 else 0 if names else -1)
        self.team_box.blockSignals(False)
        return self.team != shown

    def set_writable(self, writable: bool) -> None:
        """Whether the memory can be changed (the database is open)."""
        self.writable = writable
        self.update_buttons()

    def say(self, text: str, meaning: str) -> None:
        """A line under the tabs; ``meaning`` colours it (see ``theme.MEANING_COLOURS``)."""
        self.status_line.setText(text)
        colours = self.status_line.palette()
        colours.setColor(QtGui.QPalette.ColorRole.WindowText, meaning_colour(meaning))
        self.status_line.setPalette(colours)

    def selected_heuristics(self) -> list[Heuristic]:
        return selected_rows(self.heuristic_view, self.heuristic_model)

    def selected_experiences(self) -> list[Experience]:
        return selected_rows(self.experience_view, self.experience_model)

    def current_heuristic(self) -> Heuristic | None:
        """The selected heuristic under the cursor, else the first selected."""
        chosen = self.selected_heuristics()
        if not chosen:
            return None
        current = self.heuristic_view.currentIndex()
        under_cursor = self.heuristic_model.row(current.row()) if current.isValid() else None
        return under_cursor if under_cursor in chosen else chosen[0]

    def selection_changed(self) -> None:
        """Show the first selected heuristic and experience below their tables."""
        self.update_buttons()
        heuristics = self.selected_heuristics()
        self.heuristic_detail.setHtml(heuristic_detail(heuristics[0]) if heuristics else "")
        experiences = self.selected_experiences()
        if not experiences:
            self._trajectory_of = None
            self.experience_detail.setHtml("")
        elif self._trajectory_of != experiences[0].id:
            self._trajectory_of = experiences[0].id
            self.experience_detail.setHtml(experience_detail(experiences[0], None))
            self.experience_chosen.emit(experiences[0])

    def show_trajectory(self, experience: Experience, run: RunDetail | None) -> None:
        """The run ``experience`` came from (``None``: not recorded here), if that experience
        is still the one shown."""
        if self._trajectory_of != experience.id:
            return
        shown = (
            experience_detail(experience, (), NOT_RECORDED_HERE)
            if run is None
            else experience_detail(experience, run.steps)
        )
        self.experience_detail.setHtml(shown)

    def update_buttons(self) -> None:
        heuristics = self.selected_heuristics()
        writable = self.writable
        self.inject_button.setEnabled(writable and self.team is not None)
        self.edit_button.setEnabled(writable and len(heuristics) >= 1)
        self.delete_heuristics_button.setEnabled(writable and bool(heuristics))
        self.pin_button.setEnabled(writable and bool(heuristics))
        self.pin_button.setText(
            "Unpin" if heuristics and all(h.pinned for h in heuristics) else "Pin"
        )
        self.delete_experiences_button.setEnabled(writable and bool(self.selected_experiences()))


def _button(text: str, tip: str) -> QtWidgets.QPushButton:
    button = QtWidgets.QPushButton(text)
    button.setToolTip(tip)
    return button


def _choices(items: Sequence[tuple[str, object]]) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    for text, data in items:
        box.addItem(text, data)
    return box


def _q_box(prefix: str, value: float) -> QtWidgets.QDoubleSpinBox:
    box = QtWidgets.QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    box.setPrefix(prefix)
    box.setKeyboardTracking(False)  # filter once the number is typed, not at each digit
    return box


def _labelled(text: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    holder = QtWidgets.QWidget()
    label = QtWidgets.QLabel(text)
    label.setBuddy(widget)
    layout = QtWidgets.QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(label)
    layout.addWidget(widget)
    return holder


def _row(*items: QtWidgets.QWidget | int) -> QtWidgets.QHBoxLayout:
    """Widgets side by side; a number is a stretch of that factor."""
    row = QtWidgets.QHBoxLayout()
    for item in items:
        if isinstance(item, int):
            row.addStretch(item)
        else:
            row.addWidget(item)
    return row


def _page(
    filters: QtWidgets.QLayout,
    table: QtWidgets.QTableView,
    detail: QtWidgets.QTextBrowser,
    actions: QtWidgets.QLayout,
    detail_share: int,
) -> QtWidgets.QWidget:
    """Filters above the table, the selected memory's detail below it (``detail_share``
    thirds of the height), actions at the foot."""
    page = QtWidgets.QWidget()
    split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
    split.addWidget(table)
    split.addWidget(detail)
    split.setStretchFactor(0, 3 - detail_share)
    split.setStretchFactor(1, detail_share)
    layout = QtWidgets.QVBoxLayout(page)
    layout.addLayout(filters)
    layout.addWidget(split, 1)
    layout.addLayout(actions)
    return page


def _detail_view() -> QtWidgets.QTextBrowser:
    view = QtWidgets.QTextBrowser()
    view.setOpenLinks(False)
    view.setPlaceholderText("Select a row to see all of it here.")
    return view
